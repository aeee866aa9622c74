"""API: one funds-in-place row (到位资金) — read, correct, withdraw (撤回); each change with a reason, audited.
Recording a new arrival is POST /projects/{id}/funds (crm.api.projects)."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from crm.api.auth import actor
from crm.api.projects import FundsSchema, Money
from crm.services import funds

bp = Blueprint("api_funds", __name__, url_prefix="/api/v1", description="Funds in place: corrections")


class FundsPatch(Schema):
    amount = Money(metadata={"description": "万元"})
    arrived_on = fields.Raw(metadata={"description": "YYYY-MM-DD"})
    out_of_province = fields.Boolean()
    foreign_amount = Money(allow_none=True, metadata={"description": "万美元, within amount"})
    note = fields.String(allow_none=True)
    # Required, but judged by the service after the permission, so another county meets 403 whatever it sends.
    reason = fields.String(load_default=None, allow_none=True, metadata={
        "description": "required: why the row is corrected (kept in the audit)"})
    confirm = fields.Boolean(load_default=False, metadata={
        "description": f"accept an amount over the project's remaining investment (otherwise 422, code "
                       f"{funds.OVER_REMAINING})"})


class FundsWithdrawIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, metadata={"description": "required: why"})


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/funds/<int:funds_id>")
@bp.response(200, FundsSchema)
def funds_get(funds_id: int):
    return funds.get_funds(actor(), funds_id)


@bp.route("/funds/<int:funds_id>", methods=["PATCH"])
@bp.arguments(FundsPatch)
@bp.response(200, FundsSchema)
def funds_update(data, funds_id: int):
    reason, confirm = data.pop("reason"), data.pop("confirm")
    return funds.update_funds(actor(), funds_id, data, reason=reason, confirm_over=confirm, now=_now())


@bp.route("/funds/<int:funds_id>/withdraw", methods=["POST"])
@bp.arguments(FundsWithdrawIn)
@bp.response(200, FundsSchema)
def funds_withdraw(data, funds_id: int):
    return funds.withdraw_funds(actor(), funds_id, reason=data["reason"], now=_now())
