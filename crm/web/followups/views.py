"""Follow-up pages: my follow-ups, the county board, the city overview, create/edit, complete, hand-off, bulk."""
from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.extensions import db
from crm.models import Followup, Lead
from crm.services import auth, calendars, followups, notifications, versions
from crm.services import leads as lead_service
from crm.services.errors import Conflict, EditConflict, InvalidInput, PermissionDenied
from crm.services.permissions import can
from crm.web.followups import labels
from crm.web.followups.forms import CompleteForm, FollowupForm, HandoffForm, ReasonForm
from crm.web.forms import choices, create_once, edit_conflict, flash_errors, populate_errors
from crm.web.redirects import safe_path

bp = Blueprint("followups", __name__, url_prefix="/followups")


# The iCal feed is fetched by a phone's calendar app, which cannot sign in: its token is the key.
PUBLIC = {"followups.calendar_feed"}


@bp.before_request
def _signed_in():
    if request.endpoint not in PUBLIC:
        return login_required(lambda: None)()
    return None


@bp.app_context_processor
def _labels():
    return {"followup_labels": labels, "flabel": labels.label, "followup_bucket": followups.bucket_of}


def _now() -> datetime:
    return datetime.now(UTC)


def _back(default: str):
    target = request.form.get("next") or request.args.get("next") or ""
    return redirect(safe_path(target, default))


@bp.route("/mine")
def mine():
    buckets = followups.my_followups(current_user, _now())
    items = [f for v in buckets.values() for f in v]
    return render_template("followups/mine.html", buckets=buckets, now=_now(), total=len(items),
                           names=followups.names_for(items),
                           users=followups.assignable_users(current_user))


@bp.route("/board")
@bp.route("/board/<int:county_id>")
def board(county_id: int | None = None):
    county_id = county_id or request.args.get("county_id", type=int) or current_user.county_id
    if county_id is None:
        return redirect(url_for("followups.overview"))
    data = followups.county_board(current_user, county_id, _now())
    items = data["handoffs"] + data["inbox"] + [f for _u, fus, _n in data["people"] for f in fus]
    return render_template("followups/board.html", board=data, now=_now(), names=followups.names_for(items),
                           users=followups.assignable_users(current_user))


@bp.route("/overview")
def overview():
    return render_template("followups/overview.html", rows=followups.city_overview(current_user, _now()))


def _fill_choices(form: FollowupForm) -> None:
    staff = followups.assignable_users(current_user)
    form.assignee_id.choices = choices([(0, _("— nobody (county inbox) —"))] + [
        (u.id, f"{u.display_name} · {u.county.name}" if u.county else u.display_name) for u in staff])
    form.county_id.choices = choices([(0, "—")] + [(c.id, c.name) for c in followups.assignable_counties(current_user)])


def _form_data(form: FollowupForm) -> dict:
    """Both the person and the county inbox as chosen: the service refuses the pair when they disagree."""
    return {"title": form.title.data, "detail": form.detail.data, "due_at": form.due_at.data,
            "priority": form.priority.data, "lead_id": form.lead_id.data, "assignee_id": form.assignee_id.data,
            "county_id": form.county_id.data}


def _form_page(form: FollowupForm, fu, conflict=None):
    chosen = lead_service.pickable_lead(current_user, form.lead_id.data)
    return render_template("followups/form.html", form=form, fu=fu, conflict=conflict, chosen=chosen)


@bp.route("/new", methods=["GET", "POST"])
def create():
    if not can(current_user, "followup.create"):
        abort(403)
    form = FollowupForm()
    if request.method == "GET":
        form.lead_id.data = request.args.get("lead_id", type=int) or 0
        form.assignee_id.data = current_user.id
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            fu, replayed = create_once(form, Followup, lambda: followups.create_followup(
                current_user, _form_data(form), now=_now()))
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            if not replayed:
                flash(_("Follow-up saved."), "success")
            return redirect(url_for("followups.detail", followup_id=fu.id))
    return _form_page(form, None)


@bp.route("/<int:followup_id>/edit", methods=["GET", "POST"])
def edit(followup_id: int):
    fu = followups.get_followup(current_user, followup_id)
    if not can(current_user, "followup.edit", fu) or fu.status != "open":
        abort(403)
    form = FollowupForm(obj=fu)
    if request.method == "GET":
        _prefill(form, fu)
    _fill_choices(form)
    conflict = None
    if form.validate_on_submit():
        data = _form_data(form)
        data.pop("lead_id")
        if data["assignee_id"]:
            unchanged = data["assignee_id"] == fu.assignee_id and not data["county_id"]
        else:
            unchanged = fu.assignee_id is None and data["county_id"] == fu.county_id
        if unchanged:
            data.pop("assignee_id"), data.pop("county_id")
        try:
            followups.update_followup(current_user, fu.id, data, now=_now(),
                                      expected_version=versions.parse(form.version.data))
        except InvalidInput as error:
            populate_errors(form, error)
        except EditConflict as error:
            conflict = edit_conflict(form, error, _saved_form(fu))
        else:
            flash(_("Follow-up saved."), "success")
            return redirect(url_for("followups.detail", followup_id=fu.id))
    return _form_page(form, fu, conflict), 409 if conflict else 200


def _prefill(form: FollowupForm, fu) -> None:
    form.due_at.data = fu.due_at.astimezone(followups.TZ).replace(tzinfo=None)
    # The county select means "its inbox": shown only for a follow-up that waits in one.
    form.assignee_id.data, form.county_id.data = fu.assignee_id or 0, 0 if fu.assignee_id else fu.county_id or 0
    form.lead_id.data = fu.lead_id or 0


def _saved_form(fu) -> FollowupForm:
    """The edit form as it would open now, to show what the follow-up holds beside the user's input."""
    form = FollowupForm(formdata=None, obj=fu)
    _prefill(form, fu)
    _fill_choices(form)
    return form


@bp.route("/<int:followup_id>")
def detail(followup_id: int, complete_form: CompleteForm | None = None):
    fu = followups.get_followup(current_user, followup_id)
    handoff_form = HandoffForm()
    handoff_form.county_id.choices = choices([(c.id, c.name) for c in followups.assignable_counties(current_user)])
    lead = db.session.get(Lead, fu.lead_id) if fu.lead_id else None
    return render_template("followups/detail.html", fu=fu, lead=lead, now=_now(),
                           complete_form=complete_form or CompleteForm(), reason_form=ReasonForm(),
                           handoff_form=handoff_form,
                           previous=db.session.get(type(fu), fu.previous_id) if fu.previous_id else None,
                           following=followups.next_followup(fu))


def _named_errors(form) -> None:
    """One banner naming the fields to fix (each also shows its message under itself)."""
    names = [str(form[name].label.text) for name in form.errors
             if name in form._fields and form[name].type not in ("HiddenField", "CSRFTokenField")]
    if names:
        flash(_("Please check: %(fields)s", fields="、".join(names)), "danger")


@bp.route("/<int:followup_id>/complete", methods=["POST"])
def complete(followup_id: int):
    fu = followups.get_followup(current_user, followup_id)
    if not can(current_user, "followup.complete", fu):
        abort(403)
    form = CompleteForm()
    if form.validate_on_submit():
        nxt = None
        if form.schedule_next.data:
            nxt = {"title": form.next_title.data, "due_at": form.next_due_at.data}
        try:
            followups.complete_followup(current_user, followup_id, form.outcome.data, kind=form.kind.data,
                                        next=nxt, now=_now())
        except InvalidInput as error:
            populate_errors(form, error)
        except Conflict as error:
            flash(error.message, "warning")
            return redirect(url_for("followups.detail", followup_id=followup_id))
        else:
            flash(_("Done — logged on the lead."), "success")
            return _back(url_for("followups.mine"))
    _named_errors(form)  # shown again with what was typed, not wiped by a redirect
    return detail(followup_id, complete_form=form), 400


def _action(followup_id: int, call, message: str):
    try:
        call()
    except InvalidInput as error:
        flash_errors(error)
    except Conflict as error:
        flash(error.message, "warning")
    else:
        flash(message, "success")
    return _back(url_for("followups.detail", followup_id=followup_id))


@bp.route("/<int:followup_id>/cancel", methods=["POST"])
def cancel(followup_id: int):
    form = ReasonForm()
    return _action(followup_id, lambda: followups.cancel_followup(current_user, followup_id, reason=form.reason.data,
                                                                  now=_now()), _("Follow-up cancelled."))


@bp.route("/<int:followup_id>/handoff", methods=["POST"])
def handoff(followup_id: int):
    county_id = request.form.get("county_id", type=int)
    return _action(followup_id, lambda: followups.handoff_followup(current_user, followup_id, county_id, now=_now()),
                   _("Handed to the county."))


@bp.route("/<int:followup_id>/accept", methods=["POST"])
def accept(followup_id: int):
    take = request.form.get("take") == "1"
    return _action(followup_id, lambda: followups.accept_followup(current_user, followup_id, take=take, now=_now()),
                   _("Accepted."))


@bp.route("/<int:followup_id>/return", methods=["POST"])
def give_back(followup_id: int):
    """Once returned the follow-up is the city's again and out of the county's sight: back to the county's board."""
    form = ReasonForm()
    try:
        followups.return_followup(current_user, followup_id, form.reason.data, now=_now())
    except InvalidInput as error:
        flash_errors(error)
    except Conflict as error:
        flash(error.message, "warning")
    else:
        flash(_("Returned to the city."), "success")
        return redirect(url_for("followups.board"))
    return redirect(url_for("followups.detail", followup_id=followup_id))


@bp.route("/<int:followup_id>/claim", methods=["POST"])
def claim(followup_id: int):
    return _action(followup_id, lambda: followups.claim_followup(current_user, followup_id, now=_now()),
                   _("It is yours now."))


@bp.route("/bulk", methods=["POST"])
def bulk():
    ids = request.form.getlist("ids", type=int)
    action = request.form.get("action")
    try:
        if action == "assign":
            n = followups.bulk_assign(current_user, ids, {"assignee_id": request.form.get("assignee_id", type=int)},
                                      now=_now())
        elif action == "reschedule":
            n = followups.bulk_reschedule(current_user, ids, request.form.get("due_at") or None, now=_now())
        else:
            abort(400)
    except InvalidInput as error:
        flash_errors(error)
    except Conflict as error:
        flash(error.message, "warning")
    except PermissionDenied:
        flash(_("You may not change some of these follow-ups; nothing was changed."), "warning")
    else:
        flash(_("%(n)d follow-ups changed.", n=n), "success")
    return _back(url_for("followups.mine"))


# --- the calendar and its iCal feed ------------------------------------------------------------------------

def _day_arg() -> date:
    try:
        return date.fromisoformat(request.args.get("day", "")[:10])
    except ValueError:
        return _now().astimezone(followups.TZ).date()


@bp.route("/calendar")
def calendar():
    view = "month" if request.args.get("view") == "month" else "week"
    day = _day_arg()
    data = calendars.agenda(current_user, view, day)
    token = current_user.calendar_token
    feed_url = None
    if token:
        base = (current_app.config.get("BASE_URL") or "").rstrip("/")
        path = url_for("followups.calendar_feed", token=token)
        feed_url = base + path if base else url_for("followups.calendar_feed", token=token, _external=True)
    prev_day, next_day = calendars.neighbours(view, day)
    return render_template("followups/calendar.html", view=view, day=day, cal=data, now=_now(),
                           prev_day=prev_day, next_day=next_day,
                           today=_now().astimezone(followups.TZ).date(), feed_url=feed_url,
                           names=followups.names_for(f for fus in data["by_day"].values() for f in fus))


@bp.route("/calendar/token", methods=["POST"])
def calendar_token():
    had = current_user.calendar_token is not None
    calendars.new_calendar_token(current_user, now=_now())
    flash(_("A new calendar link was made: the old one no longer works.") if had
          else _("Your calendar link is ready: add it to your phone's calendar."), "success")
    return redirect(url_for("followups.calendar", view=request.form.get("view"), day=request.form.get("day")))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """No sign-in; a wrong or replaced token is a 404, counted like a bad API token, and throttled the same way."""
    now, ip = _now(), request.remote_addr or ""
    if auth.token_throttled(ip, now=now, kind=auth.CALENDAR_TOKEN_ATTEMPT):
        return Response(_("Too many wrong calendar links from your network. Please wait a few minutes."), 429,
                        {"Retry-After": str(int(auth.WINDOW.total_seconds()))}, mimetype="text/plain")
    user = calendars.user_for_calendar_token(token)
    if user is None:
        auth.record_token_failure(ip, now=now, kind=auth.CALENDAR_TOKEN_ATTEMPT)
        abort(404)
    with notifications.in_language(user):
        labels = {"lead": _("Lead"), "contact": _("Contact"), "name": _("My follow-ups")}
    base = current_app.config.get("BASE_URL") or request.host_url
    body = calendars.feed(user, now=now, base_url=base, labels=labels)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'inline; filename="followups.ics"', "Cache-Control": "private, max-age=300"})
