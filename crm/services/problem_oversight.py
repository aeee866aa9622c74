"""督办: what keeps problems moving once raised — the daily escalation of overdue ones (the county head first, then
the city), their lines in the morning digest, the 督办单 per department and the 联席会议 agenda whose decisions
become a follow-up or a problem update in one step."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import County, Department, EntryKind, Problem, ProblemEntry, Role, User
from crm.services import audit, versions
from crm.services.errors import InvalidInput
from crm.services.permissions import is_city_level, require
from crm.services.problems import (
    OPEN,
    TZ,
    UNCLOSED,
    _entry,
    _parse_deadline,
    _tell,
    apply_route,
    days_overdue,
    get_problem,
    target_name,
    today,
    visible_problems,
)
from crm.services.validation import Errors, clean_choice, clean_text

DEFAULT_CITY_ESCALATE_DAYS = 7
DECISIONS = ("followup", "update")


def city_escalate_days() -> int:
    try:
        return max(0, int(current_app.config.get("PROBLEM_CITY_ESCALATE_DAYS", DEFAULT_CITY_ESCALATE_DAYS)))
    except (TypeError, ValueError):
        return DEFAULT_CITY_ESCALATE_DAYS


# --- escalation ---------------------------------------------------------------------------------------

def county_heads(county_id: int) -> list[User]:
    """Who answers for a county: its leaders (viewers of that county) and its staff."""
    return list(db.session.scalars(select(User).where(
        User.county_id == county_id, User.role.in_((Role.VIEWER.value, Role.COUNTY_STAFF.value)),
        User.is_active_user.is_(True)).order_by(User.role.desc(), User.id)))


def city_people() -> list[User]:
    """The city: its staff and its leaders (viewers without a county)."""
    return list(db.session.scalars(select(User).where(
        User.is_active_user.is_(True), User.county_id.is_(None),
        User.role.in_((Role.CITY_STAFF.value, Role.VIEWER.value))).order_by(User.id)))


def escalate_overdue(now: datetime, *, city_days: int | None = None) -> int:
    """The daily job: an open problem past its deadline goes to the county head (level 1), and `city_days` later to
    the city (level 2). Each level once per deadline: an entry in the timeline, in-app notices (and mail/webhook)."""
    city_days = city_escalate_days() if city_days is None else city_days
    day = today(now)
    planned = 0
    stmt = select(Problem).where(Problem.status.in_(OPEN), Problem.deadline_on < day,
                                 Problem.escalation_level < 2).order_by(Problem.deadline_on, Problem.id)
    for problem in db.session.scalars(stmt):
        late = (day - problem.deadline_on).days
        level = 2 if late >= city_days else 1
        if level <= problem.escalation_level:
            continue
        for step in range(problem.escalation_level + 1, level + 1):
            planned += _escalate(problem, step, late, now)
        problem.escalation_level = level
    db.session.commit()
    return planned


def _escalate(problem: Problem, level: int, late: int, now: datetime) -> int:
    department = problem.department.name if problem.department else _("not routed yet")
    who = county_heads(problem.county_id) if level == 1 else city_people()
    text = (_("Overdue by %(n)d days (deadline %(day)s), with %(department)s: escalated to the county head.",
              n=late, day=problem.deadline_on.isoformat(), department=department) if level == 1 else
            _("Overdue by %(n)d days (deadline %(day)s), with %(department)s: escalated to the city.",
              n=late, day=problem.deadline_on.isoformat(), department=department))
    _entry(problem, None, EntryKind.ESCALATED, now, text)
    audit.record(None, "problem.escalate", "problem", problem.id, summary=problem.title,
                 after={"level": level, "days_overdue": late})
    key = f"problem_escalated:{problem.id}:{problem.deadline_on.isoformat()}:{level}"
    _tell(who, problem, key, lambda: _("Overdue problem: %(title)s", title=problem.title), text, now=now)
    if problem.department_id:
        from crm.services.departments import contacts_of

        _tell(contacts_of(problem.department_id), problem, key,
              lambda: _("Overdue problem: %(title)s", title=problem.title), text, now=now)
    return len(who)


def digest_problems(user: User, now: datetime) -> list[Problem]:
    """The problems a user's morning digest names: overdue ones of their county or department; for the city those
    escalated to it."""
    stmt = visible_problems(user).where(Problem.status.in_(OPEN), Problem.deadline_on < today(now))
    if is_city_level(user):
        stmt = stmt.where(Problem.escalation_level >= 2)
    return list(db.session.scalars(stmt.order_by(Problem.deadline_on, Problem.id).limit(20)))


def digest_lines(problems: list[Problem], now: datetime) -> list[str]:
    if not problems:
        return []
    lines = [_("Overdue problems (%(n)d):", n=len(problems))]
    lines += [f"- {p.title} ({_('%(n)d days overdue', n=days_overdue(p, now))})" for p in problems[:10]]
    return lines


# --- 督办单 -------------------------------------------------------------------------------------------

def sheet(actor: User, department_id: int, now: datetime) -> tuple[Department, list[dict]]:
    """A department's 督办单: its problems not yet confirmed, the overdue first, with days left or late."""
    from crm.services.departments import get_department

    require(actor, "problem.oversee")
    department = get_department(department_id)
    stmt = (visible_problems(actor).where(Problem.department_id == department.id, Problem.status.in_(UNCLOSED))
            .options(selectinload(Problem.county)).order_by(Problem.deadline_on, Problem.id))
    day = today(now)
    rows = []
    for problem in db.session.scalars(stmt):
        last = db.session.scalar(select(ProblemEntry).where(ProblemEntry.problem_id == problem.id, ProblemEntry.kind
                                                            .in_(("progress", "resolved", "instruction", "meeting")))
                                 .order_by(ProblemEntry.at.desc(), ProblemEntry.id.desc()).limit(1))
        rows.append({"problem": problem, "target": target_name(problem), "county": problem.county.name,
                     "days_left": (problem.deadline_on - day).days, "overdue": days_overdue(problem, now),
                     "last": last})
    return department, rows


def sheet_counts(actor: User, now: datetime) -> list[dict]:
    """Departments with problems not yet confirmed: how many, and how many overdue (the 督办单 index)."""
    require(actor, "problem.oversee")
    base = visible_problems(actor).where(Problem.status.in_(UNCLOSED), Problem.department_id.is_not(None)).subquery()
    day = today(now)
    rows = db.session.execute(select(base.c.department_id, func.count(),
                                     func.sum(case((and_(base.c.status.in_(OPEN), base.c.deadline_on < day), 1),
                                                   else_=0)))
                              .group_by(base.c.department_id))
    found = {dept_id: (n, int(late or 0)) for dept_id, n, late in rows}
    from crm.services.departments import all_departments

    return [{"department": d, "open": found[d.id][0], "overdue": found[d.id][1]}
            for d in all_departments() if d.id in found]


def sheet_table(rows: list[dict], labels) -> tuple[list[str], list[list]]:
    """The 督办单 as spreadsheet rows; `labels` maps (kind, code) → display text."""
    headers = [_("No."), _("Problem"), _("Project / lead"), _("County"), _("Category"), _("Severity"), _("Status"),
               _("Raised on"), _("Deadline"), _("Days overdue"), _("Latest progress")]
    out = []
    for n, row in enumerate(rows, 1):
        p = row["problem"]
        out.append([n, p.title, row["target"], row["county"], labels("category", p.category),
                    labels("severity", p.severity), labels("status", p.status), p.raised_at.astimezone(
                        TZ).date(), p.deadline_on, row["overdue"] or None,
                    row["last"].text if row["last"] is not None else ""])
    return headers, out


# --- 联席会议 ------------------------------------------------------------------------------------------

def agenda(actor: User, on: date, *, county_id: int | None = None) -> list[dict]:
    """The 联席会议 agenda for a meeting on `on`: open problems grouped by county, then department, overdue (as of
    that day) first in each group."""
    require(actor, "problem.oversee")
    stmt = (visible_problems(actor).where(Problem.status.in_(OPEN))
            .options(selectinload(Problem.county), selectinload(Problem.department)))
    if county_id:
        stmt = stmt.where(Problem.county_id == county_id)
    groups: dict[int, dict] = {}
    for problem in db.session.scalars(stmt):
        county = groups.setdefault(problem.county_id, {"county": problem.county, "departments": {}, "overdue": 0,
                                                       "open": 0})
        key = problem.department_id or 0
        dept = county["departments"].setdefault(key, {"department": problem.department, "items": []})
        late = max(0, (on - problem.deadline_on).days)
        dept["items"].append({"problem": problem, "target": target_name(problem), "overdue": late,
                              "is_overdue": problem.deadline_on < on})
        county["open"] += 1
        county["overdue"] += problem.deadline_on < on
    out = []
    for group in sorted(groups.values(), key=lambda g: (g["county"].sort_order, g["county"].id)):
        departments = sorted(group["departments"].values(),
                             key=lambda d: (d["department"] is None, d["department"].sort_order if d["department"]
                                            else 0, d["department"].id if d["department"] else 0))
        for dept in departments:
            dept["items"].sort(key=lambda i: (not i["is_overdue"], i["problem"].deadline_on, i["problem"].id))
        out.append({"county": group["county"], "departments": departments, "open": group["open"],
                    "overdue": group["overdue"]})
    return out


def decide(actor: User, problem_id: int, data: dict, *, now: datetime) -> Problem:
    """One 联席会议 decision on one problem, in one step: the decision's text in the timeline, and either a
    follow-up for the problem's county (`decision` followup: title = the decision, due `due_at`) or an update of
    the problem (`decision` update: another department and/or a new deadline)."""
    require(actor, "problem.decide")
    problem = get_problem(actor, problem_id)
    errors = Errors()
    decision = clean_choice(data.get("decision"), DECISIONS, field="decision", errors=errors)
    text = clean_text(data.get("text"), field="text", errors=errors, max_length=2000, required=True, multiline=True)
    if problem.status not in OPEN:
        errors.add("decision", _l("The department has finished this problem already."))
    if errors:
        raise InvalidInput(errors)
    followup = None
    if decision == "followup":
        from crm.services.followups import add_followup

        due = data.get("due_at") or (today(now) + timedelta(days=7)).isoformat() + "T18:00"
        followup = add_followup(actor, {"title": text[:200], "detail": _("Joint meeting decision on: %(title)s",
                                                                         title=problem.title),
                                        "project_id": problem.project_id, "lead_id": problem.lead_id,
                                        "county_id": problem.county_id, "due_at": due}, now=now)
        audit.record(actor, "followup.create", "followup", followup.id, summary=followup.title)
        versions.bump(problem, "problem")
    else:
        department_id = data.get("department_id")
        new_deadline = _parse_deadline(data.get("deadline_on"), errors, now)
        if errors:
            raise InvalidInput(errors)
        if department_id in (None, "", 0, "0") and new_deadline is None:
            raise InvalidInput({"department_id": [_l("Choose another department or a new deadline.")]})
        if department_id not in (None, "", 0, "0") and str(department_id) != str(problem.department_id):
            apply_route(actor, problem, department_id, text, now=now)
        else:
            versions.bump(problem, "problem")
        if new_deadline is not None and new_deadline != problem.deadline_on:
            audit.record(actor, "problem.update", "problem", problem.id, summary=problem.title,
                         before={"deadline_on": problem.deadline_on}, after={"deadline_on": new_deadline})
            problem.deadline_on, problem.escalation_level = new_deadline, 0
    _entry(problem, actor, EntryKind.MEETING, now, text, followup_id=followup.id if followup else None)
    audit.record(actor, "problem.decide", "problem", problem.id, summary=problem.title,
                 after={"decision": decision, "text": text, "followup_id": followup.id if followup else None})
    db.session.commit()
    return problem


def agenda_counties(actor: User) -> list[County]:
    from crm.services.counties import all_counties

    return all_counties(active_only=True)

