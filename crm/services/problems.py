"""Problems (诉求/问题) raised on a project or lead and their way through the departments: raise, route, 办理,
办结, the enterprise's confirmation with its satisfaction rating, a leader's 批示; every step one timeline entry and
one audit entry. The oversight around them (overdue escalation, 督办单, 联席会议) is crm.services.problem_oversight."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import (
    Department,
    EntryKind,
    Followup,
    Interaction,
    Lead,
    Problem,
    ProblemCategory,
    ProblemEntry,
    ProblemStatus,
    Project,
    Role,
    Severity,
    User,
)
from crm.services import audit, notifications, versions
from crm.services.errors import InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can, is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_choice, clean_text

TZ = ZoneInfo("Asia/Shanghai")
CATEGORIES = [c.value for c in ProblemCategory]
SEVERITIES = [s.value for s in Severity]
OPEN = (ProblemStatus.PENDING.value, ProblemStatus.IN_PROGRESS.value)  # the department still has to act
UNCLOSED = (*OPEN, ProblemStatus.RESOLVED.value)  # not yet confirmed by the enterprise
DEFAULT_DEADLINE_DAYS = {"normal": 30, "pressing": 15, "urgent": 7}
MAX_DEADLINE_DAYS = 366
AUDITED = ("title", "detail", "category", "severity", "deadline_on", "department_id", "status", "satisfaction")


def today(now: datetime) -> date:
    return now.astimezone(TZ).date()


# --- permissions: the problem's county raises and confirms, departments act on their own, the city routes ---

def _department_user(actor: User) -> bool:
    return actor.role == Role.DEPARTMENT and actor.department_id is not None


@rule("problem.list")
def _list(actor: User, _obj) -> bool:
    return actor.role in (Role.ADMIN, Role.CITY_STAFF, Role.COUNTY_STAFF, Role.VIEWER) or _department_user(actor)


@rule("problem.view")
def _view(actor: User, problem) -> bool:
    if problem is None or is_city_level(actor):
        return True
    if actor.role == Role.VIEWER:
        return actor.county_id is None or same_county(actor, problem.county_id)
    if actor.role == Role.COUNTY_STAFF:
        return same_county(actor, problem.county_id)
    return _department_user(actor) and problem.department_id == actor.department_id


@rule("problem.raise")
def _raise(actor: User, county_id) -> bool:
    """obj: the problem's county id (None = for some county)."""
    if is_city_level(actor):
        return True
    return actor.role == Role.COUNTY_STAFF and (county_id is None or same_county(actor, county_id))


@rule("problem.edit")
def _edit(actor: User, problem) -> bool:
    return _raise(actor, problem.county_id if problem is not None else None)


@rule("problem.route")
def _route(actor: User, problem) -> bool:
    """The city routes to any department; a county to its own county's departments (checked on the target)."""
    return _raise(actor, problem.county_id if problem is not None else None)


@rule("problem.handle")
def _handle(actor: User, problem) -> bool:
    """办理 and 办结: the responsible department's contacts, or the city on a department's behalf."""
    if is_city_level(actor):
        return True
    if problem is None:
        return _department_user(actor)
    return _department_user(actor) and problem.department_id == actor.department_id


@rule("problem.confirm")
def _confirm(actor: User, problem) -> bool:
    """The enterprise's confirmation on the 回访: the problem's county (which visits it), or the city."""
    return _raise(actor, problem.county_id if problem is not None else None)


@rule("problem.instruct")
def _instruct(actor: User, problem) -> bool:
    """领导批示: leaders (viewers) of the city or of the problem's county, and city staff."""
    if is_city_level(actor):
        return True
    return actor.role == Role.VIEWER and (problem is None or actor.county_id is None
                                          or same_county(actor, problem.county_id))


@rule("problem.oversee")
def _oversee(actor: User, _obj) -> bool:
    """督办单 and the 联席会议 agenda: the city and its leaders."""
    return is_city_level(actor) or (actor.role == Role.VIEWER and actor.county_id is None)


@rule("problem.decide")
def _decide(actor: User, _obj) -> bool:
    """Recording the 联席会议's decisions: city staff (who keep the minutes)."""
    return is_city_level(actor)


# --- reading -----------------------------------------------------------------------------------------

def visible_problems(actor: User):
    stmt = select(Problem)
    if is_city_level(actor) or (actor.role == Role.VIEWER and actor.county_id is None):
        return stmt
    if actor.role in (Role.VIEWER, Role.COUNTY_STAFF) and actor.county_id is not None:
        return stmt.where(Problem.county_id == actor.county_id)
    if _department_user(actor):
        return stmt.where(Problem.department_id == actor.department_id)
    return stmt.where(Problem.id.is_(None))


class OtherDepartment(PermissionDenied):
    """A department contact reaching for another department's problem: refused with a message meant for them
    (its content stays unseen)."""

    shown = True

    def __init__(self):
        super().__init__(_("This problem belongs to another department: only its own contacts act on it."))


def get_problem(actor: User, problem_id: int) -> Problem:
    problem = db.session.get(Problem, problem_id)
    if problem is not None and _department_user(actor) and problem.department_id != actor.department_id:
        raise OtherDepartment()
    if problem is None or not can(actor, "problem.view", problem):
        raise NotFound("problem")
    return problem


def _acting(actor: User, action: str, problem: Problem) -> None:
    if not can(actor, action, problem):
        if _department_user(actor):
            raise OtherDepartment()
        raise PermissionDenied(action)


def is_overdue(problem: Problem, now: datetime) -> bool:
    return problem.status in OPEN and problem.deadline_on < today(now)


def days_overdue(problem: Problem, now: datetime) -> int:
    return max(0, (today(now) - problem.deadline_on).days) if problem.status in OPEN else 0


def problems_query(actor: User, *, status=None, county_id=None, department_id=None, category=None, overdue=None,
                   project_id=None, lead_id=None, now: datetime, q: str | None = None):
    stmt = visible_problems(actor).options(selectinload(Problem.department), selectinload(Problem.county))
    if status == "open":
        stmt = stmt.where(Problem.status.in_(OPEN))
    elif status:
        stmt = stmt.where(Problem.status == status)
    if county_id:
        stmt = stmt.where(Problem.county_id == county_id)
    if department_id:
        stmt = stmt.where(Problem.department_id == department_id)
    if category:
        stmt = stmt.where(Problem.category == category)
    if project_id:
        stmt = stmt.where(Problem.project_id == project_id)
    if lead_id:
        stmt = stmt.where(Problem.lead_id == lead_id)
    if overdue:
        stmt = stmt.where(Problem.status.in_(OPEN), Problem.deadline_on < today(now))
    if q:
        stmt = stmt.where(Problem.title.contains(q.strip()[:100], autoescape=True))
    return stmt.order_by(Problem.status.in_(OPEN).desc(), Problem.deadline_on, Problem.id.desc())


def counts(actor: User, now: datetime) -> dict:
    """The dashboard tile: open (the department still has to act), overdue among them, awaiting confirmation."""
    base = visible_problems(actor).subquery()
    day = today(now)

    def count(*conditions) -> int:
        return db.session.scalar(select(func.count()).select_from(base).where(*conditions)) or 0

    return {"open": count(base.c.status.in_(OPEN)),
            "overdue": count(base.c.status.in_(OPEN), base.c.deadline_on < day),
            "resolved": count(base.c.status == ProblemStatus.RESOLVED.value)}


def target_name(problem: Problem) -> str:
    """The project's or the lead's name: all a department contact is shown of it."""
    if problem.project_id:
        project = db.session.get(Project, problem.project_id)
        return project.name if project else ""
    lead = db.session.get(Lead, problem.lead_id) if problem.lead_id else None
    return lead.name if lead else ""


def overdue_problems_by_project(project_ids, *, now: datetime | None = None) -> dict[int, int]:
    """Open problems past their deadline per project (projects without any are left out): the count project
    health (crm.services.project_health) uses."""
    now = now or datetime.now(TZ)
    ids = [int(i) for i in project_ids]
    if not ids:
        return {}
    rows = db.session.execute(select(Problem.project_id, func.count()).where(
        Problem.project_id.in_(ids), Problem.status.in_(OPEN), Problem.deadline_on < today(now))
        .group_by(Problem.project_id))
    return {pid: n for pid, n in rows}


# --- input -------------------------------------------------------------------------------------------

def deadline_days(severity: str) -> int:
    """Days from raising to the deadline for a severity: config PROBLEM_DAYS_NORMAL / _PRESSING / _URGENT."""
    default = DEFAULT_DEADLINE_DAYS.get(severity, 30)
    try:
        days = int(current_app.config.get(f"PROBLEM_DAYS_{severity.upper()}", default))
    except (TypeError, ValueError):
        return default
    return days if 1 <= days <= MAX_DEADLINE_DAYS else default


def _parse_deadline(value, errors: Errors, now: datetime) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            errors.add("deadline_on", _l("Not a valid date (YYYY-MM-DD)."))
            return None
    if value < today(now):
        errors.add("deadline_on", _l("The deadline is in the past: choose today or a later day."))
        return None
    if value > today(now) + timedelta(days=MAX_DEADLINE_DAYS):
        errors.add("deadline_on", _l("At most a year from today."))
        return None
    return value


def _int(value, field: str, errors: Errors, message) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.add(field, message)
        return None


def _clean_fields(data: dict, errors: Errors, *, partial: bool) -> dict:
    out: dict = {}
    if not partial or "title" in data:
        out["title"] = clean_text(data.get("title"), field="title", errors=errors, max_length=200, required=True)
    if not partial or "detail" in data:
        out["detail"] = clean_text(data.get("detail"), field="detail", errors=errors, max_length=5000,
                                   multiline=True)
    if not partial or "category" in data:
        out["category"] = clean_choice(data.get("category"), CATEGORIES, field="category", errors=errors)
    if not partial or "severity" in data:
        out["severity"] = clean_choice(data.get("severity") or Severity.NORMAL.value, SEVERITIES, field="severity",
                                       errors=errors)
    return out


def _target(actor: User, data: dict, errors: Errors) -> dict:
    """project_id / lead_id, or where they come from (a visit, a follow-up); and the problem's county."""
    project_id = _int(data.get("project_id"), "project_id", errors, _l("Unknown project."))
    lead_id = _int(data.get("lead_id"), "lead_id", errors, _l("Unknown lead."))
    interaction_id = _int(data.get("source_interaction_id"), "source_interaction_id", errors, _l("Unknown visit."))
    followup_id = _int(data.get("source_followup_id"), "source_followup_id", errors, _l("Unknown follow-up."))
    if interaction_id is not None:
        visit = db.session.get(Interaction, interaction_id)
        if visit is None or visit.withdrawn_at is not None:
            errors.add("source_interaction_id", _l("Unknown visit."))
        else:
            lead_id, project_id = lead_id or visit.lead_id, project_id or visit.project_id
    if followup_id is not None:
        fu = db.session.get(Followup, followup_id)
        if fu is None or not can(actor, "followup.view", fu):
            errors.add("source_followup_id", _l("Unknown follow-up."))
        else:
            lead_id, project_id = lead_id or fu.lead_id, project_id or fu.project_id
    county_id = None
    if project_id is not None:
        project = db.session.get(Project, project_id)
        if project is None or project.deleted_at is not None:
            errors.add("project_id", _l("Unknown project."))
        else:
            county_id = project.county_id
    if lead_id is not None:
        lead = db.session.get(Lead, lead_id)
        if lead is None or lead.deleted_at is not None:
            errors.add("lead_id", _l("Unknown lead."))
        elif county_id is None:
            county_id = lead.owner_county_id
    if project_id is None and lead_id is None and not {"project_id", "lead_id"} & set(errors):
        errors.add("project_id", _l("Choose the project or lead the problem is about."))
    return {"project_id": project_id, "lead_id": lead_id, "county_id": county_id,
            "source_interaction_id": interaction_id, "source_followup_id": followup_id}


def prefill(actor: User, data: dict) -> dict:
    """The project and lead a new problem's form starts with, from the visit or follow-up it is raised from."""
    target = _target(actor, data, Errors())
    return {"project_id": target["project_id"], "lead_id": target["lead_id"]}


def _department_for(actor: User, problem_county_id: int, value, errors: Errors) -> Department | None:
    """An active department the actor may route to: the city any; a county only its own county's."""
    ident = _int(value, "department_id", errors, _l("Unknown department."))
    if ident is None:
        if "department_id" not in errors:
            errors.add("department_id", _l("Choose the responsible department."))
        return None
    department = db.session.get(Department, ident)
    if department is None or not department.is_active:
        errors.add("department_id", _l("Unknown department."))
        return None
    if not is_city_level(actor) and department.county_id != actor.county_id:
        errors.add("department_id", _l("A county routes only to its own county's departments; the city routes "
                                       "to city departments."))
        return None
    if department.county_id is not None and department.county_id != problem_county_id:
        errors.add("department_id", _l("This department belongs to another county."))
        return None
    return department


def routable_departments(actor: User, problem: Problem | None = None) -> list[Department]:
    from crm.services.departments import all_departments

    county_id = problem.county_id if problem is not None else actor.county_id
    items = all_departments(active_only=True)
    if is_city_level(actor):
        return [d for d in items if d.county_id is None or d.county_id == county_id]
    return [d for d in items if d.county_id is not None and d.county_id == actor.county_id]


# --- commands ----------------------------------------------------------------------------------------

def snapshot(problem: Problem) -> dict:
    return {k: getattr(problem, k) for k in AUDITED}


def _entry(problem: Problem, actor: User | None, kind: EntryKind, now: datetime, text: str | None = None,
           **extra) -> ProblemEntry:
    entry = ProblemEntry(kind=kind.value, actor_id=actor.id if actor is not None else None, at=now, text=text,
                         **extra)
    problem.entries.append(entry)
    return entry


def link(problem: Problem) -> str:
    return f"/problems/{problem.id}"


def _tell(users, problem: Problem, key: str, title_fn, body: str, *, now: datetime, skip: User | None = None) -> None:
    for user in users:
        if skip is not None and user.id == skip.id:
            continue
        with notifications.in_language(user):
            notifications.notify(user, "problem", title_fn(), body, link(problem), key, now=now)


def county_staff(county_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(User.county_id == county_id, User.role == Role.COUNTY_STAFF,
                                                      User.is_active_user.is_(True)).order_by(User.id)))


def _tell_department(problem: Problem, key: str, title_fn, body: str, *, now: datetime, skip=None) -> None:
    from crm.services.departments import contacts_of

    if problem.department_id:
        _tell(contacts_of(problem.department_id), problem, f"{key}:{problem.id}", title_fn, body, now=now, skip=skip)


def raise_problem(actor: User, data: dict, *, now: datetime) -> Problem:
    """A problem on a project or lead, its deadline from the severity (or a later/earlier day given, not past);
    with `department_id`, routed at once."""
    require(actor, "problem.raise")
    errors = Errors()
    fields = _clean_fields(data, errors, partial=False)
    target = _target(actor, data, errors)
    deadline = _parse_deadline(data.get("deadline_on"), errors, now)
    department = None
    if data.get("department_id") not in (None, "", 0, "0") and target["county_id"] is not None:
        department = _department_for(actor, target["county_id"], data.get("department_id"), errors)
    if errors:
        raise InvalidInput(errors)
    if not can(actor, "problem.raise", target["county_id"]):
        raise PermissionDenied(_("Only the county of the project or lead (or the city) raises its problems."))
    problem = Problem(**fields, **target, status=ProblemStatus.PENDING.value, raised_by_id=actor.id, raised_at=now,
                      deadline_on=deadline or today(now) + timedelta(days=deadline_days(fields["severity"])),
                      department_id=department.id if department else None, escalation_level=0,
                      created_at=now, updated_at=now)
    db.session.add(problem)
    _entry(problem, actor, EntryKind.RAISED, now, fields.get("detail"), to_status=problem.status)
    if department is not None:
        _entry(problem, actor, EntryKind.ROUTED, now, None, department_id=department.id)
    db.session.flush()
    audit.record(actor, "problem.raise", "problem", problem.id, summary=problem.title, after=snapshot(problem))
    if department is not None:
        _tell_department(problem, "problem_routed", lambda: _("New problem for your department: %(title)s",
                                                              title=problem.title),
                         _("Deadline %(day)s.", day=problem.deadline_on.isoformat()), now=now)
    db.session.commit()
    return problem


def update_problem(actor: User, problem_id: int, data: dict, *, now: datetime,
                   expected_version: int | None = None) -> Problem:
    """Title, detail, category, severity (a new severity recomputes the deadline from the day it was raised unless
    one is given) and deadline, while the enterprise has not confirmed it."""
    problem = get_problem(actor, problem_id)
    _acting(actor, "problem.edit", problem)
    if problem.status == ProblemStatus.CONFIRMED:
        raise InvalidInput({"status": [_l("The enterprise has confirmed this problem: it is closed.")]})
    errors = Errors()
    fields = _clean_fields(data, errors, partial=True)
    if data.get("deadline_on") not in (None, ""):
        fields["deadline_on"] = _parse_deadline(data.get("deadline_on"), errors, now)
    elif fields.get("severity") and fields["severity"] != problem.severity:
        day = problem.raised_at.astimezone(TZ).date() + timedelta(days=deadline_days(fields["severity"]))
        if day < today(now):
            errors.add("deadline_on", _l("The deadline for this severity has passed already: give a new deadline."))
        fields["deadline_on"] = day
    if errors:
        raise InvalidInput(errors)
    versions.bump(problem, "problem", expected_version)
    before = snapshot(problem)
    for key, value in fields.items():
        setattr(problem, key, value)
    if "deadline_on" in fields and fields["deadline_on"] != before["deadline_on"]:
        problem.escalation_level = 0  # a new deadline: late again only after it
    old, new = audit.changes(before, snapshot(problem))
    if new:
        _entry(problem, actor, EntryKind.EDITED, now, ", ".join(sorted(new)))
        audit.record(actor, "problem.update", "problem", problem.id, summary=problem.title, before=old, after=new)
    db.session.commit()
    return problem


def apply_route(actor: User, problem: Problem, department_id, note: str | None, *, now: datetime) -> None:
    """Route inside the caller's unit of work (the 联席会议 decision uses it too); not committed."""
    _acting(actor, "problem.route", problem)
    if problem.status not in OPEN:
        raise InvalidInput({"department_id": [_l("Only a problem still being handled can be routed.")]})
    errors = Errors()
    department = _department_for(actor, problem.county_id, department_id, errors)
    note = clean_text(note, field="note", errors=errors, max_length=2000, multiline=True)
    if errors:
        raise InvalidInput(errors)
    if department.id == problem.department_id:
        raise InvalidInput({"department_id": [_l("The problem is with this department already.")]})
    versions.bump(problem, "problem")
    before = problem.department_id
    problem.department_id = department.id
    problem.department = department
    _entry(problem, actor, EntryKind.ROUTED, now, note, department_id=department.id)
    audit.record(actor, "problem.route", "problem", problem.id, summary=f"{problem.title} → {department.name}",
                 before={"department_id": before}, after={"department_id": department.id})
    _tell_department(problem, f"problem_routed:{department.id}",
                     lambda: _("New problem for your department: %(title)s", title=problem.title),
                     _("Deadline %(day)s.", day=problem.deadline_on.isoformat()), now=now)


def route_problem(actor: User, problem_id: int, department_id, note: str | None = None, *, now: datetime) -> Problem:
    problem = get_problem(actor, problem_id)
    apply_route(actor, problem, department_id, note, now=now)
    db.session.commit()
    return problem


def advance_problem(actor: User, problem_id: int, status, text, *, now: datetime) -> Problem:
    """The department's 办理 (to or within 办理中, a note of what was done) or 办结 (to 已办结, how it was solved)."""
    problem = get_problem(actor, problem_id)
    _acting(actor, "problem.handle", problem)
    errors = Errors()
    status = clean_choice(status, [ProblemStatus.IN_PROGRESS.value, ProblemStatus.RESOLVED.value], field="status",
                          errors=errors)
    text = clean_text(text, field="text", errors=errors, max_length=5000, required=True, multiline=True)
    if errors:
        raise InvalidInput(errors)
    if problem.department_id is None:
        raise InvalidInput({"status": [_l("The problem has not been routed to a department yet.")]})
    if problem.status not in OPEN:
        raise InvalidInput({"status": [_l("The department has finished this problem already.")]})
    versions.bump(problem, "problem")
    before = problem.status
    problem.status = status
    kind = EntryKind.RESOLVED if status == ProblemStatus.RESOLVED else EntryKind.PROGRESS
    if status == ProblemStatus.RESOLVED:
        problem.resolved_at = now
    _entry(problem, actor, kind, now, text, from_status=before, to_status=status)
    audit.record(actor, f"problem.{kind.value}", "problem", problem.id, summary=problem.title,
                 before={"status": before}, after={"status": status, "text": text})
    if status == ProblemStatus.RESOLVED:
        _tell(county_staff(problem.county_id), problem, f"problem_resolved:{problem.id}:{now.isoformat()}",
              lambda: _("Resolved, please confirm with the enterprise: %(title)s", title=problem.title), text,
              now=now, skip=actor)
    db.session.commit()
    return problem


def _rating(value, errors: Errors) -> int | None:
    if value in (None, ""):
        errors.add("satisfaction", _l("Give the enterprise's satisfaction from 1 to 5."))
        return None
    try:
        rating = int(value)
    except (TypeError, ValueError):
        rating = 0
    if isinstance(value, bool) or rating < 1 or rating > 5 or str(value).strip() not in {str(rating), f"{rating}.0"}:
        errors.add("satisfaction", _l("The satisfaction rating is a whole number from 1 to 5."))
        return None
    return rating


def confirm_problem(actor: User, problem_id: int, satisfaction, text=None, *, now: datetime) -> Problem:
    """企业确认: the enterprise confirms on the 回访 that the problem is solved, with a 1–5 rating; this closes it."""
    problem = get_problem(actor, problem_id)
    _acting(actor, "problem.confirm", problem)
    errors = Errors()
    rating = _rating(satisfaction, errors)
    text = clean_text(text, field="text", errors=errors, max_length=5000, multiline=True)
    if problem.status != ProblemStatus.RESOLVED:
        errors.add("status", _l("Only a problem the department has resolved (已办结) can be confirmed by the "
                                "enterprise."))
    if errors:
        raise InvalidInput(errors)
    versions.bump(problem, "problem")
    problem.status, problem.satisfaction, problem.confirmed_at = ProblemStatus.CONFIRMED.value, rating, now
    _entry(problem, actor, EntryKind.CONFIRMED, now, text, from_status=ProblemStatus.RESOLVED.value,
           to_status=problem.status, satisfaction=rating)
    audit.record(actor, "problem.confirm", "problem", problem.id, summary=problem.title,
                 before={"status": ProblemStatus.RESOLVED.value}, after={"status": problem.status,
                                                                         "satisfaction": rating})
    db.session.commit()
    return problem


def reopen_problem(actor: User, problem_id: int, text, *, now: datetime) -> Problem:
    """The enterprise is not satisfied on the 回访: back to the department (办理中), with the reason."""
    problem = get_problem(actor, problem_id)
    _acting(actor, "problem.confirm", problem)
    errors = Errors()
    text = clean_text(text, field="text", errors=errors, max_length=5000, required=True, multiline=True)
    if problem.status != ProblemStatus.RESOLVED:
        errors.add("status", _l("Only a resolved problem can be sent back to the department."))
    if errors:
        raise InvalidInput(errors)
    versions.bump(problem, "problem")
    problem.status, problem.resolved_at = ProblemStatus.IN_PROGRESS.value, None
    _entry(problem, actor, EntryKind.RETURNED, now, text, from_status=ProblemStatus.RESOLVED.value,
           to_status=problem.status)
    audit.record(actor, "problem.reopen", "problem", problem.id, summary=problem.title,
                 before={"status": ProblemStatus.RESOLVED.value}, after={"status": problem.status, "text": text})
    _tell_department(problem, f"problem_returned:{now.isoformat()}",
                     lambda: _("Sent back by the enterprise: %(title)s", title=problem.title), text, now=now)
    db.session.commit()
    return problem


def instruct_problem(actor: User, problem_id: int, text, *, now: datetime) -> Problem:
    """领导批示: a leader's instruction, its own entry in the timeline; the department and the county are told."""
    problem = get_problem(actor, problem_id)
    _acting(actor, "problem.instruct", problem)
    errors = Errors()
    text = clean_text(text, field="text", errors=errors, max_length=2000, required=True, multiline=True)
    if errors:
        raise InvalidInput(errors)
    _entry(problem, actor, EntryKind.INSTRUCTION, now, text)
    audit.record(actor, "problem.instruct", "problem", problem.id, summary=problem.title, after={"text": text})
    key = f"problem_instruction:{problem.id}:{now.isoformat()}"
    title = lambda: _("Leader's instruction on: %(title)s", title=problem.title)  # noqa: E731
    _tell(county_staff(problem.county_id), problem, key, title, text, now=now, skip=actor)
    _tell_department(problem, f"problem_instruction:{now.isoformat()}", title, text, now=now, skip=actor)
    db.session.commit()
    return problem


def timeline(problem: Problem) -> list[ProblemEntry]:
    return list(db.session.scalars(select(ProblemEntry).where(ProblemEntry.problem_id == problem.id)
                                   .options(selectinload(ProblemEntry.actor), selectinload(ProblemEntry.department))
                                   .order_by(ProblemEntry.at, ProblemEntry.id)))


def for_target(actor: User, *, project_id: int | None = None, lead_id: int | None = None) -> list[Problem]:
    stmt = visible_problems(actor)
    stmt = stmt.where(Problem.project_id == project_id) if project_id else stmt.where(Problem.lead_id == lead_id)
    return list(db.session.scalars(stmt.order_by(Problem.id.desc()).limit(50)))


def raisable_targets(actor: User) -> tuple[list[Project], list[Lead]]:
    """Projects and leads the actor may raise problems on (their county's; the city any)."""
    projects = select(Project).where(Project.deleted_at.is_(None))
    leads = select(Lead).where(Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None))
    if not is_city_level(actor):
        projects = projects.where(Project.county_id == actor.county_id)
        leads = leads.where(Lead.owner_county_id == actor.county_id)
    return (list(db.session.scalars(projects.order_by(Project.name).limit(500))),
            list(db.session.scalars(leads.order_by(Lead.name).limit(500))))


def may(actor: User, problem: Problem) -> dict[str, bool]:
    """What the detail page offers this actor."""
    return {"edit": can(actor, "problem.edit", problem) and problem.status != ProblemStatus.CONFIRMED,
            "route": can(actor, "problem.route", problem) and problem.status in OPEN,
            "handle": can(actor, "problem.handle", problem) and problem.status in OPEN
            and problem.department_id is not None,
            "confirm": can(actor, "problem.confirm", problem) and problem.status == ProblemStatus.RESOLVED,
            "instruct": can(actor, "problem.instruct", problem),
            "links": actor.role != Role.DEPARTMENT}


def department_scope(actor: User):
    """A department contact's own department id, or None."""
    return actor.department_id if _department_user(actor) else None

