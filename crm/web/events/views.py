"""Event pages: list by year, detail with attendance and what was signed, create/edit."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.models import Event
from crm.services import events, projects, versions
from crm.services.errors import EditConflict, InvalidInput
from crm.services.permissions import can, is_city_level
from crm.web import pickers
from crm.web.events.forms import EventForm
from crm.web.forms import choices, create_once, edit_conflict, populate_errors
from crm.web.pagination import paginate

bp = Blueprint("events", __name__, url_prefix="/events")
FIELDS = ("name", "held_on", "city", "county_id", "leaders", "lead_ids", "attended_ids", "notes")


@bp.before_request
@login_required
def _signed_in():
    pass


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/")
def index():
    year = request.args.get("year", type=int)
    year = year if year and 1900 <= year <= 2100 else None
    page = paginate(events.events_query(year=year))
    return render_template("events/index.html", page=page, year=year,
                           results=events.results(e.id for e in page.items))


@bp.route("/<int:event_id>")
def detail(event_id: int):
    event = events.get_event(current_user, event_id)
    return render_template("events/detail.html", event=event, result=events.results([event.id])[event.id],
                           signed=events.signed_projects(event), attendance=events.attendance(event),
                           may_edit=can(current_user, "event.edit", event))


def _fill(form: EventForm) -> None:
    counties = projects.editable_counties(current_user)
    city = [(0, _("The city bureau"))] if is_city_level(current_user) else []
    form.county_id.choices = choices(city + [(c.id, c.name) for c in counties if not c.is_city])
    pickers.lead_choices(form.lead_ids, form.attended_ids)  # searched on the server, not listed in full


def _save(form: EventForm, event=None):
    """Save and redirect; None when the form must be shown again (EditConflict passes to the caller)."""
    data = {name: getattr(form, name).data for name in FIELDS}
    replayed = False
    try:
        if event is None:
            event, replayed = create_once(form, Event, lambda: events.create_event(current_user, data, now=_now()))
        else:
            events.update_event(current_user, event.id, data, now=_now(),
                                expected_version=versions.parse(form.version.data))
    except InvalidInput as error:
        populate_errors(form, error)
        return None
    if not replayed:
        flash(_("Event saved."), "success")
    return redirect(url_for("events.detail", event_id=event.id))


@bp.route("/new", methods=["GET", "POST"])
def create():
    if not can(current_user, "event.edit"):
        abort(403)
    form = EventForm()
    _fill(form)
    if form.validate_on_submit() and (done := _save(form)):
        return done
    return render_template("events/form.html", form=form, event=None)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
def edit(event_id: int):
    event = events.get_event(current_user, event_id)
    if not can(current_user, "event.edit", event):
        abort(403)
    form = EventForm(obj=event)
    if request.method == "GET":
        _prefill(form, event)
    _fill(form)
    conflict = None
    if form.validate_on_submit():
        try:
            if done := _save(form, event):
                return done
        except EditConflict as error:
            conflict = edit_conflict(form, error, _saved_form(event))
    return render_template("events/form.html", form=form, event=event, conflict=conflict), 409 if conflict else 200


def _prefill(form: EventForm, event) -> None:
    values = events.event_values(event)
    form.county_id.data = event.county_id or 0
    form.lead_ids.data, form.attended_ids.data = values["lead_ids"], values["attended_ids"]


def _saved_form(event) -> EventForm:
    """The edit form as it would open now, to show what the event holds beside the user's input."""
    form = EventForm(formdata=None, obj=event)
    _prefill(form, event)
    _fill(form)
    return form
