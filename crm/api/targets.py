"""API: yearly targets per county (county_id null = the city) and metric."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api.auth import actor
from crm.services import targets
from crm.services.permissions import require

bp = Blueprint("api_targets", __name__, url_prefix="/api/v1", description="Yearly targets (考核目标)")


class TargetSchema(Schema):
    year = fields.Integer(dump_only=True)
    county_id = fields.Integer(allow_none=True, load_default=None)
    metric = fields.String(required=True, validate=validate.OneOf(targets.METRICS))
    value = fields.Raw(required=True, allow_none=True,
                       metadata={"description": "count, 万元, or 万美元 (foreign_capital); null removes it"})
    was = fields.Raw(load_only=True, allow_none=True, metadata={
        "description": "optional: the value read before (null: none). Equal to `value`: left alone; differing "
                       "from what is stored now: refused (422, `<i>.value`, the stored value under `<i>.was`)"})


class TargetOut(TargetSchema):
    value = fields.Float()


class YearArgs(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=targets.MIN_YEAR, max=targets.MAX_YEAR))


@bp.route("/targets")
@bp.arguments(YearArgs, location="query")
@bp.response(200, TargetOut(many=True))
def target_list(args):
    require(actor(), "report.view")
    return targets.targets_for(args["year"], all_counties=True)


@bp.route("/targets", methods=["PUT"])
@bp.arguments(YearArgs, location="query")
@bp.arguments(TargetSchema(many=True))
@bp.response(200, TargetOut(many=True))
def target_put(args, items):
    return targets.set_targets(actor(), args["year"], items, now=datetime.now(UTC))
