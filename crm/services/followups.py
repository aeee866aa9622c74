"""Follow-ups (跟进任务): assign, edit, complete (writing an interaction), cancel, hand off to a county,
bulk changes, and the lists each role works from. Rules live here; reminders are planned by crm.scheduler."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from crm.extensions import db
from crm.models import (
    County,
    Followup,
    FollowupStatus,
    Handoff,
    InteractionKind,
    Lead,
    Priority,
    Project,
    Role,
    User,
)
from crm.services import audit, notifications
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import can, is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_choice, clean_text

TZ = ZoneInfo("Asia/Shanghai")
PRIORITIES = [p.value for p in Priority]
KINDS = [k.value for k in InteractionKind]
AUDITED = ("title", "detail", "due_at", "priority", "assignee_id", "county_id", "status", "handoff",
           "return_reason", "outcome")


# --- permissions (DESIGN.md §4) ----------------------------------------------------------------------

def _involved(actor: User, fu: Followup) -> bool:
    return actor.id in (fu.assignee_id, fu.assigned_by_id)


def _county_inbox(actor: User, fu: Followup) -> bool:
    """An unassigned follow-up in the actor's county inbox: its staff pick it up."""
    return actor.role == Role.COUNTY_STAFF and fu.assignee_id is None and same_county(actor, fu.county_id)


@rule("followup.view")
def _view(actor: User, fu) -> bool:
    if fu is None or is_city_level(actor):
        return True
    if actor.role == Role.VIEWER:
        return actor.county_id is None or same_county(actor, fu.county_id)
    return _involved(actor, fu) or same_county(actor, fu.county_id)


@rule("followup.create")
def _create(actor: User, _obj) -> bool:
    return actor.role in (Role.ADMIN, Role.CITY_STAFF, Role.COUNTY_STAFF)


@rule("followup.edit")
def _edit(actor: User, fu) -> bool:
    if actor.role == Role.VIEWER:
        return False
    return fu is None or is_city_level(actor) or _involved(actor, fu) or _county_inbox(actor, fu)


@rule("followup.complete")
def _complete(actor: User, fu) -> bool:
    return _edit(actor, fu)


@rule("followup.cancel")
def _cancel(actor: User, fu) -> bool:
    if actor.role == Role.VIEWER:
        return False
    return fu is None or is_city_level(actor) or fu.assigned_by_id == actor.id


@rule("followup.handoff")
def _handoff(actor: User, _fu) -> bool:
    return is_city_level(actor)


@rule("followup.accept")
def _accept(actor: User, fu) -> bool:
    """The receiving county's staff accept or return what the city handed them."""
    if fu is None:
        return actor.role in (Role.ADMIN, Role.COUNTY_STAFF)
    return actor.role == Role.ADMIN or (actor.role == Role.COUNTY_STAFF and same_county(actor, fu.county_id))


@rule("followup.board")
def _board(actor: User, county_id) -> bool:
    return is_city_level(actor) or actor.county_id is None or same_county(actor, county_id)


@rule("followup.overview")
def _overview(actor: User, _obj) -> bool:
    return is_city_level(actor) or (actor.role == Role.VIEWER and actor.county_id is None)


# --- reading -------------------------------------------------------------------------------------------

def get_followup(actor: User, followup_id: int) -> Followup:
    fu = db.session.get(Followup, followup_id)
    if fu is None or not can(actor, "followup.view", fu):
        raise NotFound("followup")
    return fu


def snapshot(fu: Followup) -> dict:
    return {k: getattr(fu, k) for k in AUDITED}


def visible_followups(actor: User):
    """The follow-ups an actor may see, as a statement to filter further."""
    stmt = select(Followup)
    if is_city_level(actor):
        return stmt
    if actor.role == Role.VIEWER and actor.county_id is None:
        return stmt
    mine = or_(Followup.assignee_id == actor.id, Followup.assigned_by_id == actor.id)
    if actor.county_id is not None:
        mine = or_(mine, Followup.county_id == actor.county_id)
    return stmt.where(mine)


# --- validation --------------------------------------------------------------------------------------

def parse_due(value, errors: Errors, field: str = "due_at") -> datetime | None:
    """An aware datetime, or an ISO string; a time without an offset is Asia/Shanghai time."""
    if value in (None, ""):
        errors.add(field, _l("This field is required."))
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            errors.add(field, _l("Not a valid date and time."))
            return None
    if not isinstance(value, datetime):
        errors.add(field, _l("Not a valid date and time."))
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=TZ)
    if not (2000 <= value.year <= 2200):
        errors.add(field, _l("Not a valid date and time."))
        return None
    return value.astimezone(UTC)


def _int_or_none(value, field: str, errors: Errors) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.add(field, _l("Not a valid choice."))
        return None


def _clean_target(data: dict, errors: Errors) -> tuple[int | None, int | None]:
    lead_id = _int_or_none(data.get("lead_id"), "lead_id", errors)
    project_id = _int_or_none(data.get("project_id"), "project_id", errors)
    if lead_id is not None:
        lead = db.session.get(Lead, lead_id)
        if lead is None or lead.deleted_at is not None:
            errors.add("lead_id", _l("Unknown lead."))
    if project_id is not None and db.session.get(Project, project_id) is None:
        errors.add("project_id", _l("Unknown project."))
    if lead_id is None and project_id is None and "lead_id" not in errors and "project_id" not in errors:
        errors.add("lead_id", _l("Choose the lead or project this follow-up is about."))
    return lead_id, project_id


def _clean_assignment(actor: User, data: dict, errors: Errors) -> tuple[User | None, int | None]:
    """(assignee, county_id): a person (the county is theirs) or a county's inbox. County staff assign
    within their own county; city staff anyone."""
    assignee_id = _int_or_none(data.get("assignee_id"), "assignee_id", errors)
    county_id = _int_or_none(data.get("county_id"), "county_id", errors)
    assignee = None
    if assignee_id is not None:
        assignee = db.session.get(User, assignee_id)
        if assignee is None or not assignee.is_active_user or assignee.role == Role.VIEWER:
            errors.add("assignee_id", _l("Choose an active staff member."))
            return None, None
        if not is_city_level(actor) and assignee.county_id != actor.county_id:
            errors.add("assignee_id", _l("You can only assign to staff of your own county."))
            return None, None
        return assignee, assignee.county_id
    if county_id is not None:
        county = db.session.get(County, county_id)
        if county is None or not county.is_active:
            errors.add("county_id", _l("Unknown county."))
            return None, None
        if not is_city_level(actor) and county_id != actor.county_id:
            errors.add("county_id", _l("You can only assign to staff of your own county."))
            return None, None
        return None, county_id
    if "assignee_id" not in errors and "county_id" not in errors:
        errors.add("assignee_id", _l("Choose a staff member or a county."))
    return None, None


def _clean_fields(data: dict, errors: Errors, *, partial: bool) -> dict:
    out = {}
    if not partial or "title" in data:
        out["title"] = clean_text(data.get("title"), field="title", errors=errors, max_length=200, required=True)
    if not partial or "detail" in data:
        out["detail"] = clean_text(data.get("detail"), field="detail", errors=errors, max_length=5000,
                                   multiline=True)
    if not partial or "due_at" in data:
        out["due_at"] = parse_due(data.get("due_at"), errors)
    if not partial or "priority" in data:
        out["priority"] = clean_choice(data.get("priority") or Priority.NORMAL.value, PRIORITIES,
                                       field="priority", errors=errors)
    return out


# --- creating ------------------------------------------------------------------------------------------

def add_followup(actor: User, data: dict, *, now: datetime, source_interaction_id: int | None = None) -> Followup:
    """Validate and add a follow-up to the current unit of work (flushed, not committed) and plan the
    "new assignment" notification; log_interaction calls this so a visit and its next step commit together."""
    require(actor, "followup.create")
    errors = Errors()
    fields = _clean_fields(data, errors, partial=False)
    lead_id, project_id = _clean_target(data, errors)
    assignee, county_id = _clean_assignment(actor, data, errors)
    previous_id = _int_or_none(data.get("previous_id"), "previous_id", errors)
    if errors:
        raise InvalidInput(errors)
    fu = Followup(lead_id=lead_id, project_id=project_id, assignee_id=assignee.id if assignee else None,
                  county_id=county_id, assigned_by_id=actor.id, status=FollowupStatus.OPEN.value,
                  handoff=Handoff.NONE.value, source_interaction_id=source_interaction_id,
                  previous_id=previous_id, **fields)
    if assignee is None and is_city_level(actor) and county_id != actor.county_id:
        fu.handoff = Handoff.PENDING.value  # the city hands it to a county, which accepts or returns it
    db.session.add(fu)
    db.session.flush()
    notify_assignment(fu, actor, now=now)
    return fu


def create_followup(actor: User, data: dict, *, now: datetime) -> Followup:
    fu = add_followup(actor, data, now=now)
    audit.record(actor, "followup.create", "followup", fu.id, summary=fu.title, after=snapshot(fu))
    db.session.commit()
    return fu


def _link(fu: Followup) -> str:
    return f"/followups/{fu.id}"


def notify_assignment(fu: Followup, actor: User | None, *, now: datetime) -> None:
    """Tell the assignee (or the county inbox's staff) about a follow-up that became theirs."""
    if fu.assignee_id is not None:
        recipients = [db.session.get(User, fu.assignee_id)]
        key = f"assigned:{fu.id}:{fu.assignee_id}"
    elif fu.county_id is not None:
        recipients = list(db.session.scalars(select(User).where(
            User.county_id == fu.county_id, User.role == Role.COUNTY_STAFF, User.is_active_user.is_(True))))
        key = f"inbox:{fu.id}:{fu.county_id}"
    else:
        return
    for user in recipients:
        if user is None or (actor is not None and user.id == actor.id):
            continue
        with notifications.in_language(user):
            title = _("New follow-up: %(title)s", title=fu.title)
            body = _("Due %(due)s.", due=fu.due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"))
        notifications.notify(user, "assigned", title, body, _link(fu), key, now=now)
