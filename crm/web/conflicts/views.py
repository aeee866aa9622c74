"""The claim-conflict queue (撞单) for city staff, and merging two leads."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.services import conflicts
from crm.services.errors import Conflict, InvalidInput
from crm.services.permissions import can
from crm.web.pagination import paginate

bp = Blueprint("conflicts", __name__, url_prefix="/conflicts")


@bp.before_request
@login_required
def _signed_in():
    pass


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("")
def index():
    if not can(current_user, "conflict.decide"):
        abort(403)
    return render_template("conflicts/index.html", page=paginate(conflicts.open_conflicts()))


@bp.route("/<int:conflict_id>/decide", methods=["POST"])
def decide(conflict_id: int):
    try:
        conflicts.decide_conflict(current_user, conflict_id, request.form.get("decision", ""), now=_now(),
                                  note=request.form.get("note"))
    except (InvalidInput, Conflict) as error:
        messages = [m for ms in error.errors.values() for m in ms] if isinstance(error, InvalidInput) else [error.message]
        for message in messages:
            flash(str(message), "danger")
    else:
        flash(_("Decision recorded."), "success")
    return redirect(url_for("conflicts.index"))


@bp.route("/merge/<int:keep_id>", methods=["POST"])
def merge(keep_id: int):
    drop_id = request.form.get("drop_id", type=int)
    try:
        conflicts.merge_leads(current_user, keep_id, drop_id or 0, now=_now())
    except (InvalidInput, Conflict) as error:
        flash(str(error.message) if isinstance(error, Conflict) else _("Choose two different leads."), "danger")
    else:
        flash(_("Leads merged; both histories are kept here."), "success")
    return redirect(url_for("leads.detail", lead_id=keep_id))
