"""Follow-ups (跟进任务): assign, edit, complete (writing an interaction), cancel, hand off to a county,
bulk changes, and the lists each role works from. Rules live here; reminders about them live in crm.services.reminders."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select, update

from crm.extensions import db
from crm.models import (
    County,
    Followup,
    FollowupStatus,
    Handoff,
    Interaction,
    InteractionKind,
    Lead,
    Priority,
    Project,
    Role,
    User,
)
from crm.services import audit, notifications, versions
from crm.services.errors import Conflict, InvalidInput, NotFound
from crm.services.lead_lifecycle import live_lead
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


@rule("followup.claim")
def _claim(actor: User, fu) -> bool:
    """A county's staff take unassigned follow-ups from their county's inbox (claim_followup tells a colleague
    who was quicker that it has been taken)."""
    if fu is None:
        return actor.role == Role.COUNTY_STAFF
    return actor.role == Role.COUNTY_STAFF and same_county(actor, fu.county_id)


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
        if county_id is not None and county_id != assignee.county_id:
            # A county inbox chosen while a person stays chosen: say so rather than silently keep the person.
            errors.add("county_id", _l("Choose either a person or a county's inbox, not both: to leave it in the "
                                       "county's inbox, set the assignee to nobody."))
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


def followup_errors(actor: User, data: dict) -> Errors:
    """What is wrong with a new follow-up's own fields and assignee, before its target exists (a visit's next
    step is checked together with the visit); nothing is written."""
    errors = Errors()
    _clean_fields(data, errors, partial=False)
    _clean_assignment(actor, data, errors)
    return errors


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
                  previous_id=previous_id, created_at=now, updated_at=now, **fields)
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


def _open(fu: Followup) -> None:
    if fu.status != FollowupStatus.OPEN:
        raise Conflict(_("This follow-up is already closed."))


def _notify(user_id: int | None, actor: User | None, kind: str, fu: Followup, key: str, title, body="", *,
            now: datetime) -> None:
    """One message about a follow-up to one user, written in their language (title/body are callables)."""
    if user_id is None or (actor is not None and actor.id == user_id):
        return
    user = db.session.get(User, user_id)
    if user is None:
        return
    with notifications.in_language(user):
        notifications.notify(user, kind, title(), body() if callable(body) else body, _link(fu), key, now=now)


# --- changing ------------------------------------------------------------------------------------------

def update_followup(actor: User, followup_id: int, data: dict, *, now: datetime,
                    expected_version: int | None = None) -> Followup:
    """Edit title, detail, due time, priority, assignee or county; only the assignee, the assigner or the city.
    With `expected_version`, a follow-up changed since the editor loaded it is refused (EditConflict)."""
    fu = get_followup(actor, followup_id)
    require(actor, "followup.edit", fu)
    _open(fu)
    errors = Errors()
    fields = _clean_fields(data, errors, partial=True)
    reassign = "assignee_id" in data or "county_id" in data
    assignee, county_id = _clean_assignment(actor, data, errors) if reassign else (None, None)
    if errors:
        raise InvalidInput(errors)
    versions.bump(fu, "followup", expected_version)
    before = snapshot(fu)
    for key, value in fields.items():
        setattr(fu, key, value)
    if reassign:
        _assign(actor, fu, assignee, county_id, now=now)
    before, after = audit.changes(before, snapshot(fu))
    if after:
        audit.record(actor, "followup.update", "followup", fu.id, summary=fu.title, before=before, after=after)
    db.session.commit()
    return fu


def _assign(actor: User, fu: Followup, assignee: User | None, county_id: int | None, *, now: datetime) -> None:
    new_assignee = assignee.id if assignee else None
    if (new_assignee, county_id) == (fu.assignee_id, fu.county_id):
        return
    fu.assignee_id, fu.county_id = new_assignee, county_id
    if assignee is None and is_city_level(actor) and county_id != actor.county_id:
        fu.handoff, fu.return_reason = Handoff.PENDING.value, None
    db.session.flush()
    notify_assignment(fu, actor, now=now)


def complete_followup(actor: User, followup_id: int, outcome: str, *, now: datetime, kind: str | None = None,
                      next: dict | None = None) -> Followup:  # noqa: A002 (the API's word)
    """Close a follow-up with its outcome, log the contact as an interaction on the lead or project and,
    for "done and schedule next", add the next follow-up (same target; same assignee unless given)."""
    fu = get_followup(actor, followup_id)
    require(actor, "followup.complete", fu)
    _open(fu)
    errors = Errors()
    outcome = clean_text(outcome, field="outcome", errors=errors, max_length=5000, required=True, multiline=True)
    kind = clean_choice(kind or InteractionKind.CALL.value, KINDS, field="kind", errors=errors)
    if errors:
        raise InvalidInput(errors)
    versions.bump(fu, "followup")
    interaction = Interaction(lead_id=fu.lead_id, project_id=fu.project_id, kind=kind, occurred_at=now,
                              summary=fu.title, outcome=outcome, county_id=actor.county_id or fu.county_id,
                              created_by_id=actor.id, participants=[actor] if actor.id else [])
    db.session.add(interaction)
    if fu.lead_id is not None:
        lead = db.session.get(Lead, fu.lead_id)
        if lead.last_contacted_at is None or lead.last_contacted_at < now:
            lead.last_contacted_at = now
    db.session.flush()
    before = snapshot(fu)
    fu.status, fu.outcome, fu.completed_at = FollowupStatus.DONE.value, outcome, now
    fu.completed_by_id, fu.result_interaction_id = actor.id, interaction.id
    if next:
        _schedule_next(actor, fu, next, now=now)
    _notify(fu.assigned_by_id, actor, "completed", fu, f"completed:{fu.id}",
            lambda: _("Follow-up done: %(title)s", title=fu.title), outcome, now=now)
    notifications.settle_reminders(_link(fu), now=now)
    before, after = audit.changes(before, snapshot(fu))
    audit.record(actor, "followup.complete", "followup", fu.id, summary=fu.title, before=before, after=after)
    lead_id, project_id = fu.lead_id, fu.project_id
    db.session.commit()
    _index_contact(lead_id, project_id)
    return fu


def _index_contact(lead_id: int | None, project_id: int | None) -> None:
    """The logged interaction changes the lead's (or project's) search document: recent summaries, last contact."""
    from crm.services import indexing

    if lead_id is not None:
        indexing.leads_changed([lead_id])
    if project_id is not None:
        indexing.projects_changed([project_id])


def _schedule_next(actor: User, fu: Followup, data: dict, *, now: datetime) -> Followup:
    data = dict(data, lead_id=fu.lead_id, project_id=fu.project_id, previous_id=fu.id)
    if not data.get("assignee_id") and not data.get("county_id"):
        data["assignee_id"] = fu.assignee_id or actor.id
    data.setdefault("priority", fu.priority)
    try:
        nxt = add_followup(actor, data, now=now)
    except InvalidInput as exc:
        db.session.rollback()
        raise InvalidInput({f"next_{k}": v for k, v in exc.errors.items()}) from None
    audit.record(actor, "followup.create", "followup", nxt.id, summary=nxt.title, after=snapshot(nxt))
    return nxt


def next_followup(fu: Followup) -> Followup | None:
    return db.session.scalar(select(Followup).where(Followup.previous_id == fu.id).order_by(Followup.id))


def cancel_followup(actor: User, followup_id: int, *, now: datetime, reason: str | None = None) -> Followup:
    fu = get_followup(actor, followup_id)
    require(actor, "followup.cancel", fu)
    _open(fu)
    errors = Errors()
    reason = clean_text(reason, field="reason", errors=errors, max_length=2000, multiline=True)
    if errors:
        raise InvalidInput(errors)
    versions.bump(fu, "followup")
    fu.status, fu.outcome, fu.completed_at, fu.completed_by_id = FollowupStatus.CANCELLED.value, reason, now, actor.id
    notifications.settle_reminders(_link(fu), now=now)
    audit.record(actor, "followup.cancel", "followup", fu.id, summary=fu.title, after={"reason": reason})
    db.session.commit()
    return fu


# --- hand-off between the city and a county -----------------------------------------------------------

def handoff_followup(actor: User, followup_id: int, county_id, *, now: datetime) -> Followup:
    """The city hands a follow-up to a county's inbox; the county accepts or returns it."""
    fu = get_followup(actor, followup_id)
    require(actor, "followup.handoff", fu)
    _open(fu)
    errors = Errors()
    county_id = _clean_assignment(actor, {"county_id": county_id}, errors)[1]
    if errors:
        raise InvalidInput(errors)
    versions.bump(fu, "followup")
    before = snapshot(fu)
    fu.assignee_id, fu.county_id = None, county_id
    fu.handoff, fu.return_reason = Handoff.PENDING.value, None
    db.session.flush()
    for user in _county_staff(county_id):
        _notify(user.id, actor, "handoff", fu, f"handoff:{fu.id}:{county_id}:{now.isoformat()}",
                lambda: _("Handed to your county: %(title)s", title=fu.title), now=now)
    before, after = audit.changes(before, snapshot(fu))
    audit.record(actor, "followup.handoff", "followup", fu.id, summary=fu.title, before=before, after=after)
    db.session.commit()
    return fu


def _county_staff(county_id: int | None) -> list[User]:
    if county_id is None:
        return []
    return list(db.session.scalars(select(User).where(User.county_id == county_id, User.role == Role.COUNTY_STAFF,
                                                      User.is_active_user.is_(True)).order_by(User.id)))


def _pending(fu: Followup) -> None:
    _open(fu)
    if fu.handoff != Handoff.PENDING:
        raise Conflict(_("This follow-up is not waiting for your county."))


def accept_followup(actor: User, followup_id: int, *, now: datetime, take: bool = False) -> Followup:
    """The county accepts what the city handed it; `take` makes the accepting staff member the assignee."""
    fu = get_followup(actor, followup_id)
    require(actor, "followup.accept", fu)
    _pending(fu)
    versions.bump(fu, "followup")
    before = snapshot(fu)
    fu.handoff = Handoff.ACCEPTED.value
    if take:
        fu.assignee_id = actor.id
    _notify(fu.assigned_by_id, actor, "accepted", fu, f"accepted:{fu.id}:{now.isoformat()}",
            lambda: _("Accepted by the county: %(title)s", title=fu.title), now=now)
    before, after = audit.changes(before, snapshot(fu))
    audit.record(actor, "followup.accept", "followup", fu.id, summary=fu.title, before=before, after=after)
    db.session.commit()
    return fu


def claim_followup(actor: User, followup_id: int, *, now: datetime, expected_version: int | None = None) -> Followup:
    """A county staff member takes an unassigned follow-up from their county's inbox (领取); a pending hand-off
    is accepted by the same act. Two colleagues pressing at once: one conditional UPDATE decides, the other is
    told who has it."""
    fu = get_followup(actor, followup_id)
    require(actor, "followup.claim", fu)
    _open(fu)
    if fu.assignee_id is not None:
        raise Conflict(_("%(who)s has already claimed this follow-up.", who=fu.assignee.display_name))
    before = snapshot(fu)
    claimed = db.session.execute(
        update(Followup).where(Followup.id == fu.id, Followup.assignee_id.is_(None),
                               Followup.county_id == actor.county_id,
                               Followup.status == FollowupStatus.OPEN.value)
        .values(assignee_id=actor.id, handoff=case((Followup.handoff == Handoff.PENDING.value,
                                                    Handoff.ACCEPTED.value), else_=Followup.handoff))
        .returning(Followup.id)).scalar_one_or_none()
    if claimed is None:  # someone else was quicker, between our read and our write
        db.session.rollback()
        db.session.refresh(fu)
        who = fu.assignee.display_name if fu.assignee else None
        raise Conflict(_("%(who)s has already claimed this follow-up.", who=who) if who
                       else _("This follow-up is no longer in your county's inbox."))
    versions.bump(fu, "followup", expected_version)
    db.session.refresh(fu)
    if before["handoff"] == Handoff.PENDING.value:
        _notify(fu.assigned_by_id, actor, "accepted", fu, f"accepted:{fu.id}:{now.isoformat()}",
                lambda: _("Accepted by the county: %(title)s", title=fu.title), now=now)
    before, after = audit.changes(before, snapshot(fu))
    audit.record(actor, "followup.claim", "followup", fu.id, summary=fu.title, before=before, after=after)
    db.session.commit()
    return fu


def return_followup(actor: User, followup_id: int, reason: str, *, now: datetime) -> Followup:
    """The county gives a handed-over follow-up back to the city, saying why; it goes back to the assigner."""
    fu = get_followup(actor, followup_id)
    require(actor, "followup.accept", fu)
    _pending(fu)
    errors = Errors()
    reason = clean_text(reason, field="reason", errors=errors, max_length=2000, required=True, multiline=True)
    if errors:
        raise InvalidInput(errors)
    versions.bump(fu, "followup")
    before = snapshot(fu)
    assigner = db.session.get(User, fu.assigned_by_id) if fu.assigned_by_id else None
    fu.handoff, fu.return_reason = Handoff.RETURNED.value, reason
    fu.assignee_id, fu.county_id = None, assigner.county_id if assigner else None
    _notify(fu.assigned_by_id, actor, "returned", fu, f"returned:{fu.id}:{now.isoformat()}",
            lambda: _("Returned by the county: %(title)s", title=fu.title), reason, now=now)
    before, after = audit.changes(before, snapshot(fu))
    audit.record(actor, "followup.return", "followup", fu.id, summary=fu.title, before=before, after=after)
    db.session.commit()
    return fu


# --- bulk changes (all or nothing) ---------------------------------------------------------------------

def _editable(actor: User, ids) -> list[Followup]:
    found = []
    for followup_id in dict.fromkeys(int(i) for i in ids):
        fu = get_followup(actor, followup_id)
        require(actor, "followup.edit", fu)
        _open(fu)
        found.append(fu)
    if not found:
        raise InvalidInput({"ids": [_l("Choose at least one follow-up.")]})
    return found


def bulk_assign(actor: User, ids, data: dict, *, now: datetime) -> int:
    errors = Errors()
    assignee, county_id = _clean_assignment(actor, data, errors)
    if errors:
        raise InvalidInput(errors)
    items = _editable(actor, ids)
    for fu in items:
        before = snapshot(fu)
        _assign(actor, fu, assignee, county_id, now=now)
        before, after = audit.changes(before, snapshot(fu))
        if after:
            versions.bump(fu, "followup")
            audit.record(actor, "followup.update", "followup", fu.id, summary=fu.title, before=before, after=after)
    db.session.commit()
    return len(items)


def bulk_reschedule(actor: User, ids, due_at, *, now: datetime) -> int:
    errors = Errors()
    due = parse_due(due_at, errors)
    if errors:
        raise InvalidInput(errors)
    items = _editable(actor, ids)
    for fu in items:
        if fu.due_at != due:
            versions.bump(fu, "followup")
            audit.record(actor, "followup.update", "followup", fu.id, summary=fu.title,
                         before={"due_at": fu.due_at}, after={"due_at": due})
            fu.due_at = due
    db.session.commit()
    return len(items)


# --- lists ---------------------------------------------------------------------------------------------

BUCKETS = ("overdue", "today", "week", "later")


def day_bounds(now: datetime) -> tuple[datetime, datetime, datetime]:
    """(start of today, start of tomorrow, start of next Monday) in Asia/Shanghai, as UTC."""
    local = now.astimezone(TZ)
    today = datetime.combine(local.date(), time(0), tzinfo=TZ)
    tomorrow = today + timedelta(days=1)
    next_week = today + timedelta(days=7 - local.weekday())
    return today.astimezone(UTC), tomorrow.astimezone(UTC), next_week.astimezone(UTC)


def bucket_of(fu: Followup, now: datetime) -> str:
    _, tomorrow, next_week = day_bounds(now)
    if fu.due_at < now:
        return "overdue"
    if fu.due_at < tomorrow:
        return "today"
    if fu.due_at < next_week:
        return "week"
    return "later"


def bucketed(items, now: datetime) -> dict[str, list[Followup]]:
    out: dict[str, list[Followup]] = {name: [] for name in BUCKETS}
    for fu in items:
        out[bucket_of(fu, now)].append(fu)
    return out


def my_followups(actor: User, now: datetime) -> dict[str, list[Followup]]:
    """Open follow-ups for the actor: assigned to them, their county's unassigned inbox, and hand-offs the
    county returned to them; bucketed overdue / today / this week / later (Asia/Shanghai days)."""
    mine = [Followup.assignee_id == actor.id,
            and_(Followup.assigned_by_id == actor.id, Followup.handoff == Handoff.RETURNED.value,
                 Followup.assignee_id.is_(None))]
    if actor.role == Role.COUNTY_STAFF and actor.county_id is not None:
        mine.append(and_(Followup.assignee_id.is_(None), Followup.county_id == actor.county_id))
    stmt = (select(Followup).where(Followup.status == FollowupStatus.OPEN.value, live_lead(Followup.lead_id),
                                   or_(*mine))
            .order_by(Followup.due_at, Followup.id))
    return bucketed(db.session.scalars(stmt), now)


def followups_query(actor: User, *, assignee_id=None, county_id=None, status=None, due_before=None,
                    overdue: bool | None = None, lead_id=None, now: datetime):
    stmt = visible_followups(actor).order_by(Followup.due_at, Followup.id)
    if assignee_id:
        stmt = stmt.where(Followup.assignee_id == assignee_id)
    if county_id:
        stmt = stmt.where(Followup.county_id == county_id)
    if status:
        stmt = stmt.where(Followup.status == status)
    if lead_id:
        stmt = stmt.where(Followup.lead_id == lead_id)
    if due_before is not None:
        stmt = stmt.where(Followup.due_at < due_before)
    if overdue is True:
        stmt = stmt.where(Followup.status == FollowupStatus.OPEN.value, Followup.due_at < now,
                          live_lead(Followup.lead_id))
    elif overdue is False:
        stmt = stmt.where(or_(Followup.status != FollowupStatus.OPEN.value, Followup.due_at >= now,
                              ~live_lead(Followup.lead_id)))
    return stmt


def county_board(actor: User, county_id: int, now: datetime) -> dict:
    """A county's open follow-ups: hand-offs waiting, the unassigned inbox, and each person's list."""
    require(actor, "followup.board", county_id)
    items = list(db.session.scalars(select(Followup).where(
        Followup.county_id == county_id, Followup.status == FollowupStatus.OPEN.value, live_lead(Followup.lead_id))
        .order_by(Followup.due_at, Followup.id)))
    people: dict[int, list[Followup]] = {}
    for fu in items:
        if fu.assignee_id is not None:
            people.setdefault(fu.assignee_id, []).append(fu)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people)))} if people else {}
    return {
        "county": db.session.get(County, county_id),
        "handoffs": [f for f in items if f.assignee_id is None and f.handoff == Handoff.PENDING],
        "inbox": [f for f in items if f.assignee_id is None and f.handoff != Handoff.PENDING],
        "people": [(users[uid], fus, sum(1 for f in fus if f.due_at < now)) for uid, fus in people.items()],
        "overdue": sum(1 for f in items if f.due_at < now),
    }


def city_overview(actor: User, now: datetime) -> list[dict]:
    """Per county: open, overdue, done, and the share completed on time (None before anything is done)."""
    require(actor, "followup.overview")
    # A follow-up left open on a deleted lead (none should be: deleting cancels them) counts nowhere.
    is_open = and_(Followup.status == FollowupStatus.OPEN.value, live_lead(Followup.lead_id))
    is_done = Followup.status == FollowupStatus.DONE.value
    rows = db.session.execute(select(
        Followup.county_id,
        func.sum(case((is_open, 1), else_=0)),
        func.sum(case((and_(is_open, Followup.due_at < now), 1), else_=0)),
        func.sum(case((is_done, 1), else_=0)),
        func.sum(case((and_(is_done, Followup.completed_at <= Followup.due_at), 1), else_=0)),
    ).group_by(Followup.county_id)).all()
    stats = {r[0]: [int(v or 0) for v in r[1:]] for r in rows}
    counties = list(db.session.scalars(select(County).where(County.is_active.is_(True))
                                       .order_by(County.sort_order, County.code)))
    out = []
    for county in counties:
        open_, overdue, done, on_time = stats.get(county.id, [0, 0, 0, 0])
        out.append({"county": county, "open": open_, "overdue": overdue, "done": done,
                    "on_time_pct": round(100 * on_time / done) if done else None})
    return out


# --- choices for forms ---------------------------------------------------------------------------------

def assignable_users(actor: User) -> list[User]:
    """Who the actor may assign to: their county's staff, or (city level) every active staff member."""
    stmt = select(User).where(User.is_active_user.is_(True), User.role != Role.VIEWER)
    if not is_city_level(actor):
        stmt = stmt.where(User.county_id == actor.county_id)
    return list(db.session.scalars(stmt.order_by(User.county_id.is_(None).desc(), User.county_id,
                                                 User.display_name)))


def assignable_counties(actor: User) -> list[County]:
    stmt = select(County).where(County.is_active.is_(True)).order_by(County.sort_order, County.code)
    if not is_city_level(actor):
        stmt = stmt.where(County.id == actor.county_id)
    return list(db.session.scalars(stmt))


def names_for(items) -> dict:
    """Lead and person names for a list of follow-ups, fetched in two queries (the model has no relations
    to leads, and a list page must not query per row)."""
    items = list(items)
    lead_ids = {f.lead_id for f in items if f.lead_id}
    user_ids = {f.assignee_id for f in items if f.assignee_id} | {f.assigned_by_id for f in items if f.assigned_by_id}
    leads = {i: n for i, n in db.session.execute(select(Lead.id, Lead.name).where(Lead.id.in_(lead_ids)))}
    users = {i: n for i, n in db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))}
    return {"leads": leads, "users": users}
