"""Projects (招商项目): create, edit, stage changes with history, funds in place, soft delete; the kanban,
filtered lists and 超时限未开工 warnings. Figures across projects live in crm.services.reports."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import (
    County,
    Event,
    Industry,
    Lead,
    Project,
    Role,
    SourceChannel,
    Stage,
    StageChange,
    User,
)
from crm.services import audit, indexing, versions
from crm.services.errors import InvalidInput, NotFound
from crm.services.industries import descendant_ids
from crm.services.permissions import can, is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_choice, clean_text

TZ = ZoneInfo("Asia/Shanghai")
STAGES = [s.value for s in Stage]
# The pipeline order; `dropped` sits outside it (reachable from anywhere).
ORDER = {Stage.PLANNED: 0, Stage.NEGOTIATING: 1, Stage.SIGNED: 2, Stage.STARTED: 3, Stage.OPERATING: 4}
CREATE_STAGES = [s.value for s in ORDER]
CHANNELS = [c.value for c in SourceChannel]
MAX_MONEY = Decimal("999999999999.99")  # Numeric(14, 2)
# 1,000 亿元 (10,000,000 万元): the largest project a prefecture signs is a fraction of it; beyond is a typo.
MAX_INVESTMENT_TOTAL = Decimal("10000000")
MAX_MONEY_TEXT, MAX_INVESTMENT_TOTAL_TEXT = f"{MAX_MONEY:,}", f"{MAX_INVESTMENT_TOTAL:,}"
DEFAULT_START_DEADLINE_DAYS = 180
AUDITED = ("name", "industry_id", "county_id", "lead_ids", "investment_total", "is_foreign", "is_continuing",
           "source_channel", "referrer_id", "event_id", "signed_on", "started_on", "planned_start_on", "manager_id", "notes")


# --- permissions (DESIGN.md §4: shared for reading, edited by the landing county or the city) ----------

@rule("project.view")
def _view(_actor: User, _project) -> bool:
    return True


@rule("project.create")
def _create(actor: User, county_id) -> bool:
    """obj: the landing county's id (None = may create for some county)."""
    if is_city_level(actor):
        return True
    return actor.role == Role.COUNTY_STAFF and (county_id is None or same_county(actor, county_id))


@rule("project.edit")
def _edit(actor: User, project) -> bool:
    if is_city_level(actor):
        return True
    return actor.role == Role.COUNTY_STAFF and (project is None or same_county(actor, project.county_id))


@rule("project.delete")
def _delete(actor: User, project) -> bool:
    return _edit(actor, project)


# --- input -------------------------------------------------------------------------------------------

def today(now: datetime) -> date:
    return now.astimezone(TZ).date()


def parse_money(value, *, field: str, errors: Errors, required: bool = False, positive: bool = False
                ) -> Decimal | None:
    """万元 (or 万美元) as an exact Decimal with at most two decimals; floats go through their shortest text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, _l("This field is required."))
        return None
    if isinstance(value, bool):
        errors.add(field, _l("Not a valid amount."))
        return None
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        errors.add(field, _l("Not a valid amount."))
        return None
    if not amount.is_finite():
        errors.add(field, _l("Not a valid amount."))
    elif amount < 0 or (positive and amount == 0):
        errors.add(field, _l("Must be greater than zero.") if positive else _l("Must not be negative."))
    elif amount > MAX_MONEY:
        errors.add(field, _l("At most %(max)s.", max=MAX_MONEY_TEXT))
    elif amount != amount.quantize(Decimal("0.01")):
        errors.add(field, _l("At most two decimal places."))
    else:
        return amount.quantize(Decimal("0.01"))
    return None


def parse_date(value, *, field: str, errors: Errors, required: bool = False) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, _l("This field is required."))
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(field, _l("Not a valid date (YYYY-MM-DD)."))
        return None


def _ref(model, value, *, field: str, errors: Errors, message):
    if value in (None, "", 0, "0"):
        return None
    try:
        ident = int(value)
    except (TypeError, ValueError):
        errors.add(field, message)
        return None
    obj = db.session.get(model, ident)
    if obj is None or getattr(obj, "deleted_at", None) is not None:
        errors.add(field, message)
        return None
    return ident


def _lead_ids(raw, errors: Errors) -> list[int]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, (list, tuple, set)):
        raw = [raw]
    try:
        ids = sorted({int(v) for v in raw if v not in (None, "", 0, "0")})
    except (TypeError, ValueError):
        errors.add("lead_ids", _l("Unknown lead."))
        return []
    if len(ids) > 50:
        errors.add("lead_ids", _l("At most %(n)d leads.", n=50))
        return []
    found = set(db.session.scalars(select(Lead.id).where(Lead.id.in_(ids), Lead.deleted_at.is_(None)))) if ids else set()
    if found != set(ids):
        errors.add("lead_ids", _l("Unknown lead."))
    return ids


def _clean(actor: User, data: dict, current: Project | None, now: datetime) -> dict:
    """The editable fields present in `data` (all of them when creating), validated."""
    errors = Errors()
    out: dict = {}

    def given(key):
        return current is None or key in data

    if given("name"):
        out["name"] = clean_text(data.get("name"), field="name", errors=errors, max_length=200, required=True)
    if given("county_id"):
        county_id = data.get("county_id")
        if county_id in (None, "", 0) and current is None and actor.role == Role.COUNTY_STAFF:
            county_id = actor.county_id
        out["county_id"] = _ref(County, county_id, field="county_id", errors=errors, message=_l("Unknown county."))
        if out["county_id"] is None and "county_id" not in errors:
            errors.add("county_id", _l("This field is required."))
    if given("industry_id"):
        out["industry_id"] = _ref(Industry, data.get("industry_id"), field="industry_id", errors=errors,
                                  message=_l("Unknown industry."))
    if given("investment_total"):
        amount = parse_money(data.get("investment_total"), field="investment_total", errors=errors)
        if amount is not None and amount > MAX_INVESTMENT_TOTAL:
            errors.add("investment_total", _l(
                "A project's total investment is at most %(max)s (10k yuan), i.e. 1,000 hundred-million yuan: "
                "check the unit, amounts are in 10k yuan.", max=MAX_INVESTMENT_TOTAL_TEXT))
        out["investment_total"] = amount if amount is not None else Decimal("0.00")
    for key in ("is_foreign", "is_continuing"):
        if given(key):
            out[key] = bool(data.get(key))
    if given("source_channel"):
        out["source_channel"] = clean_choice(data.get("source_channel"), CHANNELS, field="source_channel",
                                             errors=errors, required=False)
    if given("referrer_id"):
        out["referrer_id"] = _ref(Lead, data.get("referrer_id"), field="referrer_id", errors=errors,
                                  message=_l("Unknown lead."))
    if given("event_id"):
        out["event_id"] = _ref(Event, data.get("event_id"), field="event_id", errors=errors,
                               message=_l("Unknown event."))
    if given("manager_id"):
        out["manager_id"] = _ref(User, data.get("manager_id"), field="manager_id", errors=errors,
                                 message=_l("Unknown user."))
    if given("lead_ids"):
        out["lead_ids"] = _lead_ids(data.get("lead_ids"), errors)
    for key in ("signed_on", "started_on", "planned_start_on"):
        if given(key):
            out[key] = parse_date(data.get(key), field=key, errors=errors)
    for key in ("signed_on", "started_on"):
        if out.get(key) and out[key] > today(now):
            errors.add(key, _l("Must not be in the future."))
    if given("notes"):
        out["notes"] = clean_text(data.get("notes"), field="notes", errors=errors, max_length=5000, multiline=True)
    signed = out.get("signed_on", current.signed_on if current else None)
    started = out.get("started_on", current.started_on if current else None)
    if signed and started and started < signed:
        errors.add("started_on", _l("Cannot start before signing."))
    if errors:
        raise InvalidInput(errors)
    return out


def snapshot(project: Project) -> dict:
    values = {key: getattr(project, key) for key in AUDITED if key != "lead_ids"}
    values["lead_ids"] = sorted(lead.id for lead in project.leads)
    return values


def _apply(project: Project, fields: dict) -> None:
    for key, value in fields.items():
        if key == "lead_ids":
            project.leads = list(db.session.scalars(select(Lead).where(Lead.id.in_(value)))) if value else []
        else:
            setattr(project, key, value)


# --- commands ----------------------------------------------------------------------------------------

def create_project(actor: User, data: dict, *, now: datetime) -> Project:
    """A project, optionally already past planning: `stage` with `signed_on`/`started_on` records the history
    it had before the system existed (one stage change per milestone, dated)."""
    require(actor, "project.create")
    errors = Errors()
    stage = clean_choice(data.get("stage") or Stage.PLANNED.value, CREATE_STAGES, field="stage", errors=errors)
    if errors:
        raise InvalidInput(errors)
    fields = _clean(actor, data, None, now)
    require(actor, "project.create", fields["county_id"])
    day = today(now)
    if ORDER[Stage(stage)] >= ORDER[Stage.SIGNED] and not fields.get("signed_on"):
        fields["signed_on"] = min(fields.get("started_on") or day, day)
    if ORDER[Stage(stage)] >= ORDER[Stage.STARTED] and not fields.get("started_on"):
        fields["started_on"] = day
    if ORDER[Stage(stage)] < ORDER[Stage.SIGNED] and (fields.get("signed_on") or fields.get("started_on")):
        raise InvalidInput({"stage": [_l("A project with a signing date is at least signed.")]})
    if ORDER[Stage(stage)] < ORDER[Stage.STARTED] and fields.get("started_on"):
        raise InvalidInput({"stage": [_l("A project with a start date is at least started.")]})
    project = Project(stage=stage, created_by_id=actor.id)
    _apply(project, fields)
    if stage == Stage.OPERATING:
        project.producing_on = day
    db.session.add(project)
    db.session.flush()
    previous = None
    for to_stage, on in _creation_history(stage, fields, day):
        db.session.add(StageChange(project_id=project.id, from_stage=previous, to_stage=to_stage, changed_on=on,
                                   actor_id=actor.id, at=now))
        previous = to_stage
    audit.record(actor, "create", "project", project.id, summary=project.name, after={**snapshot(project),
                                                                                       "stage": stage})
    db.session.commit()
    indexing.projects_changed([project.id])
    return project


def _creation_history(stage: str, fields: dict, day: date) -> list[tuple[str, date]]:
    if ORDER[Stage(stage)] < ORDER[Stage.SIGNED]:
        return [(stage, day)]
    chain = [(Stage.SIGNED.value, fields["signed_on"])]
    if ORDER[Stage(stage)] >= ORDER[Stage.STARTED]:
        chain.append((Stage.STARTED.value, fields["started_on"]))
    if stage == Stage.OPERATING:
        chain.append((Stage.OPERATING.value, day))
    return chain


def get_project(actor: User, project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFound("project")
    require(actor, "project.view", project)
    return project


def update_project(actor: User, project_id: int, data: dict, *, now: datetime,
                   expected_version: int | None = None) -> Project:
    """Edit fields (not the stage: change_stage keeps its history). Amount edits land in the audit log. With
    `expected_version`, a project changed since the editor loaded it is refused (EditConflict)."""
    project = get_project(actor, project_id)
    require(actor, "project.edit", project)
    if "stage" in data and data["stage"] not in (None, project.stage):
        raise InvalidInput({"stage": [_l("Change the stage with a stage change, which keeps its date.")]})
    fields = _clean(actor, data, project, now)
    if "county_id" in fields and fields["county_id"] != project.county_id:
        require(actor, "project.create", fields["county_id"])
    for key, stage in (("signed_on", Stage.SIGNED), ("started_on", Stage.STARTED)):
        if project.stage == Stage.DROPPED or ORDER[Stage(project.stage)] >= ORDER[stage]:
            if key in fields and fields[key] is None:
                raise InvalidInput({key: [_l("This field is required.")]})
        elif fields.get(key):
            raise InvalidInput({key: [_l("Set by the stage change.")]})
    versions.bump(project, "project", expected_version)
    before = snapshot(project)
    _apply(project, fields)
    old, new = audit.changes(before, snapshot(project))
    if new:
        action = "update_amount" if "investment_total" in new else "update"
        audit.record(actor, action, "project", project.id, summary=project.name, before=old, after=new)
        _signing_changed(actor, project, new, now)
    db.session.commit()
    indexing.projects_changed([project.id])
    return project


def change_stage(actor: User, project_id: int, stage, *, on=None, now: datetime, allow_back: bool = False
                 ) -> StageChange:
    """Move a project to `stage` as of the date `on` (default today). Forward moves may skip stages; moving
    back (or out of `dropped`) only with allow_back, so nothing slides back silently. Entering signed/started
    fills signed_on/started_on when empty; moving back below them clears them (the audit keeps the old)."""
    project = get_project(actor, project_id)
    require(actor, "project.edit", project)
    errors = Errors()
    stage = clean_choice(stage, STAGES, field="stage", errors=errors)
    day = parse_date(on, field="on", errors=errors) or (None if "on" in errors else today(now))
    if errors:
        raise InvalidInput(errors)
    _check_move(project, stage, day, now, allow_back)
    versions.bump(project, "project")  # an edit form opened before the move must not undo its dates
    before = {"stage": project.stage, "signed_on": project.signed_on, "started_on": project.started_on}
    if stage != Stage.DROPPED:
        rank = ORDER[Stage(stage)]
        if rank >= ORDER[Stage.SIGNED] and project.signed_on is None:
            project.signed_on = day
        if rank >= ORDER[Stage.STARTED] and project.started_on is None:
            project.started_on = day
        if rank >= ORDER[Stage.OPERATING] and project.producing_on is None:
            project.producing_on = day
        if rank < ORDER[Stage.SIGNED]:
            project.signed_on = None
        if rank < ORDER[Stage.STARTED]:
            project.started_on = None
        if rank < ORDER[Stage.OPERATING]:
            project.producing_on = None
    change = StageChange(project_id=project.id, from_stage=project.stage, to_stage=stage, changed_on=day,
                         actor_id=actor.id, at=now)
    project.stage = stage
    db.session.add(change)
    old, new = audit.changes(before, {"stage": stage, "signed_on": project.signed_on,
                                      "started_on": project.started_on})
    audit.record(actor, "stage_change", "project", project.id, summary=f"{project.name}: {old['stage']} → {stage}"
                 f" ({day.isoformat()})", before=old, after={**new, "changed_on": day})
    _signing_changed(actor, project, new, now)
    db.session.commit()
    indexing.projects_changed([project_id])
    return change


def _check_move(project: Project, stage: str, day: date, now: datetime, allow_back: bool) -> None:
    if stage == project.stage:
        raise InvalidInput({"stage": [_l("The project is already at this stage.")]})
    if day > today(now):
        raise InvalidInput({"on": [_l("Must not be in the future.")]})
    # A planned/negotiating entry made at creation is dated the day it was typed in; history may predate it.
    last = max((c.changed_on for c in project.stage_changes
                if c.from_stage is not None or ORDER.get(Stage(c.to_stage), 0) >= ORDER[Stage.SIGNED]), default=None)
    if last is not None and day < last:
        raise InvalidInput({"on": [_l("Before the previous stage change (%(day)s).", day=last.isoformat())]})
    backwards = project.stage == Stage.DROPPED or (
        stage != Stage.DROPPED and ORDER[Stage(stage)] < ORDER[Stage(project.stage)])
    if backwards and not allow_back:
        raise InvalidInput({"stage": [_l("Moving a project back needs an explicit confirmation.")]})
    if stage != Stage.DROPPED and ORDER[Stage(stage)] >= ORDER[Stage.STARTED]:
        signed = project.signed_on or day
        if day < signed and project.started_on is None:
            raise InvalidInput({"on": [_l("Cannot start before signing.")]})


def _signing_changed(actor: User, project: Project, changed: dict, now: datetime) -> None:
    """A verified signing whose checked data changed goes back to 待认定 (crm.services.verification imports
    this module, hence the late import)."""
    from crm.services import verification

    verification.signing_changed(actor, project, changed, now=now)


def add_funds(*args, **kwargs):
    """Kept for the callers of the first version; the funds rules live in crm.services.funds (which imports
    this module, hence the late import)."""
    from crm.services import funds

    return funds.add_funds(*args, **kwargs)


def delete_project(actor: User, project_id: int, *, now: datetime) -> Project:
    project = get_project(actor, project_id)
    require(actor, "project.delete", project)
    versions.bump(project, "project")
    project.deleted_at = now
    audit.record(actor, "delete", "project", project.id, summary=project.name)
    db.session.commit()
    indexing.projects_changed([project.id])
    return project


# --- queries -----------------------------------------------------------------------------------------

def projects_query(*, stage=None, county_id=None, industry_id=None, year=None, is_foreign=None, q=None,
                   event_id=None):
    """Live projects, newest first; industry includes its sub-industries; year = the year signed."""
    stmt = select(Project).where(Project.deleted_at.is_(None)).options(
        selectinload(Project.county), selectinload(Project.industry))
    if stage:
        stmt = stmt.where(Project.stage == stage)
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    if industry_id:
        stmt = stmt.where(Project.industry_id.in_(descendant_ids(int(industry_id))))
    if year:
        stmt = stmt.where(extract("year", Project.signed_on) == int(year))
    if is_foreign is not None:
        stmt = stmt.where(Project.is_foreign.is_(bool(is_foreign)))
    if event_id:
        stmt = stmt.where(Project.event_id == event_id)
    if q:
        stmt = stmt.where(Project.name.contains(q.strip()[:100], autoescape=True))
    return stmt.order_by(Project.updated_at.desc(), Project.id.desc())


def kanban(*, county_id=None, industry_id=None, per_stage: int = 100) -> list[tuple[str, list[Project], int]]:
    """(stage, its projects — at most per_stage, biggest first —, how many in all) for every stage in order."""
    columns = []
    for stage in STAGES:
        stmt = projects_query(stage=stage, county_id=county_id, industry_id=industry_id).order_by(None).order_by(
            Project.investment_total.desc(), Project.id)
        total = db.session.scalar(select(db.func.count()).select_from(stmt.order_by(None).subquery()))
        columns.append((stage, list(db.session.scalars(stmt.limit(per_stage))), total))
    return columns


def start_deadline_days() -> int:
    return int(current_app.config.get("PROJECT_START_DEADLINE_DAYS", DEFAULT_START_DEADLINE_DAYS))


def overdue_starts(now: datetime, *, county_id=None) -> list[tuple[Project, int]]:
    """超时限未开工: signed, not started, signed longer ago than the deadline; with days past signing."""
    day = today(now)
    cutoff = day - timedelta(days=start_deadline_days())
    stmt = select(Project).where(Project.deleted_at.is_(None), Project.stage == Stage.SIGNED,
                                 Project.started_on.is_(None), Project.signed_on < cutoff)
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    rows = db.session.scalars(stmt.order_by(Project.signed_on, Project.id))
    return [(p, (day - p.signed_on).days) for p in rows]


def may_edit(actor: User, project: Project) -> bool:
    return can(actor, "project.edit", project)


def editable_counties(actor: User) -> list[County]:
    stmt = select(County).where(County.is_active.is_(True)).order_by(County.sort_order, County.id)
    if not is_city_level(actor):
        stmt = stmt.where(County.id == actor.county_id)
    return list(db.session.scalars(stmt))


def event_choices() -> list[Event]:
    return list(db.session.scalars(select(Event).order_by(Event.held_on.desc()).limit(200)))


def stage_history(project: Project) -> list[tuple[StageChange, User | None]]:
    ids = {c.actor_id for c in project.stage_changes if c.actor_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return [(c, users.get(c.actor_id)) for c in project.stage_changes]
