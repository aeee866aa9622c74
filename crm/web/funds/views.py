"""Correcting (更正) or withdrawing (撤回) one funds-in-place row of a project, each with a reason."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.services import funds
from crm.services.errors import ConfirmationNeeded, InvalidInput
from crm.services.permissions import can
from crm.web.forms import populate_errors
from crm.web.funds.forms import FundsEditForm, WithdrawForm

bp = Blueprint("funds", __name__, url_prefix="/funds")
FIELDS = ("amount", "arrived_on", "out_of_province", "foreign_amount", "note")


@bp.before_request
@login_required
def _signed_in():
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _editable(funds_id: int):
    row = funds.get_funds(current_user, funds_id)
    if not can(current_user, "funds.edit", row):
        abort(403)
    return row


def _initial(row) -> dict:
    """The row as the form shows it (text for the amounts: the form's fields are text)."""
    return {"amount": str(row.amount), "arrived_on": row.arrived_on, "out_of_province": row.out_of_province,
            "foreign_amount": str(row.foreign_amount) if row.foreign_amount is not None else "",
            "note": row.note or ""}


def _page(row, form, withdraw_form, *, confirm_over=False, status=200):
    return render_template("funds/form.html", row=row, project=row.project, form=form, withdraw_form=withdraw_form,
                           confirm_over=confirm_over, usd_cny_rate=funds.usd_cny_rate(),
                           funds_total=funds.live_total(row.project)), status


@bp.route("/<int:funds_id>/edit", methods=["GET", "POST"])
def edit(funds_id: int):
    row = _editable(funds_id)
    form = FundsEditForm(data=_initial(row))
    ask_confirmation = bool(form.confirm_over.data)
    if form.validate_on_submit():
        try:
            funds.update_funds(current_user, row.id, {name: getattr(form, name).data for name in FIELDS},
                               reason=form.reason.data, confirm_over=form.confirm_over.data, now=_now())
        except InvalidInput as error:
            populate_errors(form, error)
            ask_confirmation = ask_confirmation or isinstance(error, ConfirmationNeeded)
        else:
            flash(_("Funds corrected."), "success")
            return redirect(url_for("projects.detail", project_id=row.project_id, _anchor="funds"))
    return _page(row, form, WithdrawForm(formdata=None, prefix="withdraw"), confirm_over=ask_confirmation,
                 status=422 if form.is_submitted() else 200)


@bp.route("/<int:funds_id>/withdraw", methods=["POST"])
def withdraw(funds_id: int):
    row = funds.get_funds(current_user, funds_id)
    if not can(current_user, "funds.withdraw", row):
        abort(403)
    form = WithdrawForm(prefix="withdraw")  # its reason field must not share the edit form's id
    if form.validate_on_submit():
        try:
            funds.withdraw_funds(current_user, row.id, reason=form.reason.data, now=_now())
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            flash(_("Funds withdrawn: no figure counts them any more."), "success")
            return redirect(url_for("projects.detail", project_id=row.project_id, _anchor="funds"))
    return _page(row, FundsEditForm(formdata=None, data=_initial(row)), form, status=422)
