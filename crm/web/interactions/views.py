"""Logging a visit (one phone screen: lead, contact, next step) and trips."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.extensions import db
from crm.models import Interaction, Lead, Trip
from crm.services import followups, interactions, leads, trips
from crm.services.duplicates import DuplicateLead, ProbeLimited
from crm.services.errors import Conflict, InvalidInput
from crm.services.industries import industry_tree
from crm.services.permissions import can
from crm.web.forms import choices, create_once, populate_errors, wants_json
from crm.web.interactions.forms import ContactForm, TripForm, VisitForm, WithdrawForm
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


def _trip_label(trip: Trip) -> str:
    """A trip with its dates, the year always shown (the end's only when it differs)."""
    end = "%m-%d" if trip.ends_on.year == trip.starts_on.year else "%Y-%m-%d"
    return f"{trip.title} ({trip.starts_on:%Y-%m-%d}–{trip.ends_on.strftime(end)})"


def _fill_choices(form: ContactForm, current: Interaction | None = None) -> None:
    staff = _staff_choices()
    if current is not None:  # people who went may have left the county since: keep them choosable
        staff += [(u.id, u.display_name) for u in current.participants if u.id not in {i for i, _n in staff}]
    form.participant_ids.choices = choices(staff)
    today = _now().astimezone(TZ).date()
    picked = trips.trip_choices(current_user, today=today)
    if current is not None and current.trip is not None and current.trip not in picked:
        picked.append(current.trip)
    form.trip_id.choices = choices([(0, _("— no trip —"))] + [
        (t.id, _trip_label(t)) for t in picked])
    if isinstance(form, VisitForm):
        form.next_assignee_id.choices = choices(staff)
        rows = [(0, "—")]
        for top, children in industry_tree():
            rows += [(top.id, top.name)] + [(c.id, f"— {c.name}") for c in children]
        form.new_industry_id.choices = choices(rows)


def _target(key: str, new_lead: bool) -> str:
    return FIELD_MAP.get(key, key) if new_lead or key.startswith("followup_") else key


def _map_errors(form: VisitForm, error: InvalidInput, new_lead: bool) -> None:
    mapped: dict[str, list] = {}
    for key, messages in error.errors.items():
        mapped.setdefault(_target(key, new_lead), []).extend(messages)
    populate_errors(form, InvalidInput(mapped))


def _contact(form: ContactForm) -> dict:
    return {"kind": form.kind.data, "occurred_at": form.occurred_at.data, "location": form.location.data,
            "leader_level": form.leader_level.data, "leader_name": form.leader_name.data,
            "participant_ids": form.participant_ids.data, "visitor_count": form.visitor_count.data,
            "summary": form.summary.data, "outcome": form.outcome.data, "trip_id": form.trip_id.data}


def _visit(form: VisitForm) -> tuple[dict, dict | None, dict | None]:
    data = _contact(form)
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
    using = request.method == "POST" and not fixed and bool(request.form.get("use_lead"))
    if using:
        _use_existing(form, request.form["use_lead"])
    elif form.validate_on_submit():
        data, new_lead, followup = _visit(form)
        target = fixed.id if fixed else form.lead_id.data
        try:
            interaction, replayed = create_once(form, Interaction, lambda: interactions.log_interaction(
                current_user, data, now=_now(), lead_id=None if new_lead else target, new_lead=new_lead,
                followup=followup, force=form.force.data))
        except DuplicateLead as dup:
            flash(dup.message, "warning")
            duplicate = dup
        except ProbeLimited as limited:
            flash(limited.message, "danger")
        except InvalidInput as error:
            _map_errors(form, error, bool(new_lead))
        else:
            if not replayed:
                flash(_("Visit logged."), "success")
            return _saved(form, interaction, replayed)
    elif request.method == "POST":
        _all_errors(form, fixed)
    if wants_json() and request.method == "POST":
        return _unsaved(form, duplicate)
    chosen = fixed or leads.pickable_lead(current_user, form.lead_id.data)
    return render_template("interactions/form.html", form=form, fixed=fixed, chosen=chosen, duplicate=duplicate,
                           max_visitors=interactions.MAX_VISITORS)


def _all_errors(form: VisitForm, fixed: Lead | None) -> None:
    """The form refused its shape (say, no summary): add what the service would also refuse (no lead, a next
    step without a due time …), so one submit shows every problem. A field keeps its own message first."""
    data, new_lead, followup = _visit(form)
    found = interactions.visit_errors(current_user, data, now=_now(), new_lead=new_lead, followup=followup,
                                      lead_id=None if new_lead else (fixed.id if fixed else form.lead_id.data))
    fresh = {}
    for key, messages in found.items():
        field = getattr(form, _target(key, bool(new_lead)), None)
        if field is None or not field.errors:
            fresh[key] = messages
    mapped = InvalidInput(fresh)
    _map_errors(form, mapped, bool(new_lead))


def _use_existing(form: VisitForm, raw: str) -> None:
    """"Use this lead" on a duplicate warning: the form comes back with the existing lead chosen instead of a
    new one, to check and save (nothing is saved on this submit). Only a lead the reader may pick (the picker's
    own rule); a match on masked contact data is shown without an id, so there is nothing to press."""
    lead = leads.pickable_lead(current_user, int(raw) if raw.isdigit() and len(raw) < 10 else None)
    if lead is None:
        flash(_("This lead cannot be chosen: pick it with the lead search."), "warning")
        return
    form.lead_id.data, form.new_lead.data, form.force.data = lead.id, False, False
    flash(_("The visit will be logged on %(name)s (the existing lead): check it and save.", name=lead.name), "info")


SAVED_COOKIE, SAVED_KEPT = "crm_visit_saved", 8  # the tokens of the last saves (drafts of other forms)


def _saved(form: VisitForm, interaction: Interaction, replayed: bool):
    """After a save: the page's draft (static/js/visit-form.js) learns its token was used, through a short
    cookie for a plain submit, or the JSON answer of a queued send."""
    target = url_for("leads.detail", lead_id=interaction.lead_id)
    if wants_json():
        get_flashed_messages()  # a queued send answers the page script, which tells the user itself
        response = jsonify(saved=True, replayed=replayed, location=target, interaction_id=interaction.id)
    else:
        response = redirect(target)
    recent = [k for k in request.cookies.get(SAVED_COOKIE, "").split(".") if k][-(SAVED_KEPT - 1):]
    response.set_cookie(SAVED_COOKIE, ".".join(recent + [form.idempotency_key.data or ""]), max_age=86400,
                        samesite="Lax", secure=request.is_secure, httponly=False)  # the page script reads it
    return response


def _unsaved(form: VisitForm, duplicate: DuplicateLead | None):
    """A queued send that could not be saved: the messages, not a page (the flashes are the page's, not kept)."""
    messages = [str(m) for m in get_flashed_messages()]
    errors = {name: [str(e) for e in field.errors] for name, field in form._fields.items() if field.errors}
    return jsonify(saved=False, errors=errors, messages=messages, duplicate=duplicate is not None), 422


def _back(interaction: Interaction):
    if interaction.lead_id is None and interaction.project_id is not None:
        return redirect(url_for("projects.detail", project_id=interaction.project_id))
    return redirect(url_for("leads.detail", lead_id=interaction.lead_id))


@bp.route("/interactions/<int:interaction_id>/edit", methods=["GET", "POST"])
def edit(interaction_id: int):
    interaction = interactions.get_interaction(interaction_id)
    if not can(current_user, "interaction.edit", interaction):
        abort(403)
    if interaction.withdrawn_at is not None:
        flash(_("This contact was withdrawn: it can no longer be changed."), "warning")
        return _back(interaction)
    form = ContactForm(obj=interaction)
    if request.method == "GET":
        form.occurred_at.data = interaction.occurred_at.astimezone(TZ).replace(tzinfo=None)
        form.participant_ids.data = [u.id for u in interaction.participants]
        form.trip_id.data = interaction.trip_id or 0
    _fill_choices(form, interaction)
    if form.validate_on_submit():
        try:
            interactions.update_interaction(current_user, interaction.id, _contact(form), now=_now())
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            flash(_("Visit corrected."), "success")
            return _back(interaction)
    fixed = db.session.get(Lead, interaction.lead_id) if interaction.lead_id else None
    return render_template("interactions/form.html", form=form, interaction=interaction, fixed=fixed,
                           withdraw_form=WithdrawForm(), max_visitors=interactions.MAX_VISITORS)


@bp.route("/interactions/<int:interaction_id>/withdraw", methods=["POST"])
def withdraw(interaction_id: int):
    interaction = interactions.get_interaction(interaction_id)
    if not can(current_user, "interaction.withdraw", interaction):
        abort(403)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("Say why the visit is withdrawn."), "danger")
        return redirect(url_for("interactions.edit", interaction_id=interaction.id))
    try:
        interactions.withdraw_interaction(current_user, interaction.id, form.reason.data, now=_now())
    except (InvalidInput, Conflict) as error:
        flash(error.message or _("Say why the visit is withdrawn."), "danger")
    else:
        flash(_("Visit withdrawn: it no longer counts in the figures."), "success")
    return _back(interaction)


@bp.route("/trips")
def trips_index():
    return render_template("interactions/trips.html", page=paginate(trips.trips_query()))


def _trip_data(form: TripForm) -> dict:
    return {k: getattr(form, k).data for k in ("title", "leader_level", "leader_name", "starts_on", "ends_on",
                                               "cities", "participant_ids", "notes")}


@bp.route("/trips/new", methods=["GET", "POST"])
def trip_create():
    if not can(current_user, "trip.create"):
        abort(403)
    form = TripForm()
    form.participant_ids.choices = choices(_staff_choices())
    if request.method == "GET":
        form.participant_ids.data = [current_user.id]
    if form.validate_on_submit():
        try:
            trip, replayed = create_once(form, Trip, lambda: trips.create_trip(current_user, _trip_data(form),
                                                                               now=_now()))
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            if not replayed:
                flash(_("Trip saved."), "success")
            return redirect(url_for("interactions.trip_detail", trip_id=trip.id))
    return render_template("interactions/trip_form.html", form=form)


@bp.route("/trips/<int:trip_id>/edit", methods=["GET", "POST"])
def trip_edit(trip_id: int):
    trip = trips.get_trip(trip_id)
    if not can(current_user, "trip.edit", trip):
        abort(403)
    form = TripForm(obj=trip)
    staff = _staff_choices()
    form.participant_ids.choices = choices(staff + [(u.id, u.display_name) for u in trip.participants
                                                    if u.id not in {i for i, _n in staff}])
    if request.method == "GET":
        form.participant_ids.data = [u.id for u in trip.participants]
    if form.validate_on_submit():
        try:
            trips.update_trip(current_user, trip.id, _trip_data(form), now=_now())
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            flash(_("Trip saved."), "success")
            return redirect(url_for("interactions.trip_detail", trip_id=trip.id))
    return render_template("interactions/trip_form.html", form=form, trip=trip)


@bp.route("/trips/<int:trip_id>")
def trip_detail(trip_id: int):
    trip = trips.get_trip(trip_id)
    visits = trips.trip_visits(trip.id)
    return render_template("interactions/trip.html", trip=trip, visits=visits, lead_names=trips.lead_names(visits))
