"""Logging a visit (one phone screen: lead, contact, next step) and trips."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm.extensions import db
from crm.models import Lead
from crm.services import followups, interactions, leads, trips
from crm.services.duplicates import DuplicateLead, ProbeLimited
from crm.services.errors import InvalidInput
from crm.services.industries import industry_tree
from crm.services.permissions import can
from crm.web.forms import choices, populate_errors
from crm.web.interactions.forms import TripForm, VisitForm
from crm.web.pagination import paginate

bp = Blueprint("interactions", __name__)
TZ = ZoneInfo("Asia/Shanghai")
# Service field names → the visit form's fields.
FIELD_MAP = {"followup_title": "next_title", "followup_due_at": "next_due_at", "followup_assignee_id": "next_assignee_id",
             "name": "new_name", "industry_id": "new_industry_id",
             "contacts.0.name": "new_contact", "contacts.0.mobile": "new_mobile"}


@bp.before_request
@login_required
def _signed_in():
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _staff_choices() -> list:
    return [(u.id, f"{u.display_name}") for u in followups.assignable_users(current_user)]


def _fill_choices(form: VisitForm) -> None:
    staff = _staff_choices()
    form.participant_ids.choices = choices(staff)
    form.next_assignee_id.choices = choices(staff)
    rows = [(0, "—")]
    for top, children in industry_tree():
        rows += [(top.id, top.name)] + [(c.id, f"— {c.name}") for c in children]
    form.new_industry_id.choices = choices(rows)
    today = _now().astimezone(TZ).date()
    form.trip_id.choices = choices([(0, _("— no trip —"))] + [
        (t.id, f"{t.title} ({t.starts_on:%m-%d}–{t.ends_on:%m-%d})")
        for t in trips.trip_choices(current_user, today=today)])


def _map_errors(form: VisitForm, error: InvalidInput, new_lead: bool) -> None:
    mapped: dict[str, list] = {}
    for key, messages in error.errors.items():
        target = FIELD_MAP.get(key, key) if new_lead or key.startswith("followup_") else key
        mapped.setdefault(target, []).extend(messages)
    populate_errors(form, InvalidInput(mapped))


def _visit(form: VisitForm) -> tuple[dict, dict | None, dict | None]:
    data = {"kind": form.kind.data, "occurred_at": form.occurred_at.data, "location": form.location.data,
            "leader_level": form.leader_level.data, "leader_name": form.leader_name.data,
            "participant_ids": form.participant_ids.data, "visitor_count": form.visitor_count.data,
            "summary": form.summary.data, "outcome": form.outcome.data, "trip_id": form.trip_id.data}
    new_lead = None
    if form.new_lead.data:
        new_lead = {"name": form.new_name.data, "kind": form.new_kind.data, "industry_id": form.new_industry_id.data,
                    "contacts": [{"name": form.new_contact.data or form.new_name.data, "mobile": form.new_mobile.data}]
                    if (form.new_contact.data or form.new_mobile.data) else []}
    followup = None
    if form.next_title.data or form.next_due_at.data:
        followup = {"title": form.next_title.data, "due_at": form.next_due_at.data,
                    "assignee_id": form.next_assignee_id.data}
    return data, new_lead, followup


@bp.route("/interactions/new", methods=["GET", "POST"])
@bp.route("/leads/<int:lead_id>/interactions/new", methods=["GET", "POST"], endpoint="create_for_lead")
def create(lead_id: int | None = None):
    if not can(current_user, "interaction.log"):
        abort(403)
    fixed = leads.get_lead(current_user, lead_id) if lead_id else None
    form = VisitForm()
    if request.method == "GET":
        form.occurred_at.data = _now().astimezone(TZ).replace(second=0, microsecond=0, tzinfo=None)
        form.participant_ids.data = [current_user.id]
        form.next_assignee_id.data = current_user.id
    _fill_choices(form)
    duplicate = None
    if form.validate_on_submit():
        data, new_lead, followup = _visit(form)
        target = fixed.id if fixed else form.lead_id.data
        try:
            interaction = interactions.log_interaction(
                current_user, data, now=_now(), lead_id=None if new_lead else target, new_lead=new_lead,
                followup=followup, force=form.force.data)
        except DuplicateLead as dup:
            flash(dup.message, "warning")
            duplicate = dup
        except ProbeLimited as limited:
            flash(limited.message, "danger")
        except InvalidInput as error:
            _map_errors(form, error, bool(new_lead))
        else:
            flash(_("Visit logged."), "success")
            return redirect(url_for("leads.detail", lead_id=interaction.lead_id))
    chosen = fixed or leads.pickable_lead(current_user, form.lead_id.data)
    return render_template("interactions/form.html", form=form, fixed=fixed, chosen=chosen, duplicate=duplicate)


@bp.route("/trips")
def trips_index():
    return render_template("interactions/trips.html", page=paginate(trips.trips_query()))


@bp.route("/trips/new", methods=["GET", "POST"])
def trip_create():
    if not can(current_user, "trip.create"):
        abort(403)
    form = TripForm()
    form.participant_ids.choices = choices(_staff_choices())
    if request.method == "GET":
        form.participant_ids.data = [current_user.id]
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("title", "leader_level", "leader_name", "starts_on", "ends_on",
                                                    "cities", "participant_ids", "notes")}
        try:
            trip = trips.create_trip(current_user, data, now=_now())
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            flash(_("Trip saved."), "success")
            return redirect(url_for("interactions.trip_detail", trip_id=trip.id))
    return render_template("interactions/trip_form.html", form=form)


@bp.route("/trips/<int:trip_id>")
def trip_detail(trip_id: int):
    trip = trips.get_trip(trip_id)
    visits = trips.trip_visits(trip.id)
    ids = {v.lead_id for v in visits if v.lead_id}
    names = dict(db.session.execute(select(Lead.id, Lead.name).where(Lead.id.in_(ids)))) if ids else {}
    return render_template("interactions/trip.html", trip=trip, visits=visits, lead_names=names)
