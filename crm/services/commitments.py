"""Commitments (履约承诺) on a signed project, both sides: record, edit (optimistic concurrency), mark met / missed /
waived with a reason, actuals against each; variance and 履约率 per commitment and per project; reminders before
a commitment falls due. Funds in place (crm.services.funds) are the investment commitment's actuals: read, never
copied. The 三未 warnings live in crm.services.landing_warnings, the health colour in crm.services.project_health."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import (
    Commitment,
    CommitmentActual,
    CommitmentKind,
    CommitmentSide,
    CommitmentStatus,
    FundsArrival,
    Project,
    Stage,
    User,
)
from crm.services import audit, notifications, versions
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import can, require, rule
from crm.services.projects import get_project, parse_date, today
from crm.services.validation import Errors, clean_choice, clean_text

K = CommitmentKind
SIGNED_STAGES = {Stage.SIGNED.value, Stage.STARTED.value, Stage.OPERATING.value}
YUAN, PEOPLE = "10k yuan", "people"
# How each kind is measured: funds (the project's funds in place), sum / latest (of the dated entries: an
# incentive is paid in parts, output, tax and jobs are each year's figure), project_date (the project's own
# start / production date), entry_date (the day recorded, e.g. land handed over), text (a service: met when marked).
MEASURE = {K.INVESTMENT: "funds", K.START: "project_date", K.PRODUCTION: "project_date", K.OUTPUT: "latest",
           K.TAX: "latest", K.JOBS: "latest", K.INCENTIVE: "sum", K.LAND: "entry_date", K.SERVICE: "text"}
SIDE = {K.INVESTMENT: CommitmentSide.INVESTOR, K.START: CommitmentSide.INVESTOR, K.PRODUCTION: CommitmentSide.INVESTOR,
        K.OUTPUT: CommitmentSide.INVESTOR, K.TAX: CommitmentSide.INVESTOR, K.JOBS: CommitmentSide.INVESTOR,
        K.INCENTIVE: CommitmentSide.GOVERNMENT, K.LAND: CommitmentSide.GOVERNMENT, K.SERVICE: CommitmentSide.GOVERNMENT}
UNIT = {K.INVESTMENT: YUAN, K.OUTPUT: YUAN, K.TAX: YUAN, K.INCENTIVE: YUAN, K.JOBS: PEOPLE}
NUMERIC = {k for k, m in MEASURE.items() if m in ("funds", "sum", "latest")}
# Bounds beyond which a figure is a typo: 1,000 亿元 (as a project's total investment), a million jobs.
MAX_QUANTITY = {YUAN: Decimal("10000000"), PEOPLE: Decimal("1000000")}
MAX_YEARS_AFTER_SIGNING = 30
KINDS = [k.value for k in K]
KIND_LABELS = {K.INVESTMENT: _l("Total investment in place"), K.START: _l("Construction started"),
               K.PRODUCTION: _l("In production"), K.OUTPUT: _l("Annual output"), K.TAX: _l("Annual tax"),
               K.JOBS: _l("Jobs"), K.INCENTIVE: _l("Policy incentives paid"), K.LAND: _l("Land delivered"),
               K.SERVICE: _l("Agency service (代办)")}
UNIT_LABELS = {YUAN: _l("10k yuan"), PEOPLE: _l("people")}
SIDE_LABELS = {CommitmentSide.INVESTOR: _l("Investor"), CommitmentSide.GOVERNMENT: _l("Government")}
STATUS_LABELS = {CommitmentStatus.OPEN: _l("Open commitment"), CommitmentStatus.MET: _l("Met"),
                 CommitmentStatus.MISSED: _l("Missed"), CommitmentStatus.WAIVED: _l("Waived")}
STATUSES = [s.value for s in CommitmentStatus]
EDITABLE = ("title", "due_on", "target_quantity", "notes")
DEFAULT_REMIND_DAYS = (30, 7)


# --- permissions: as the project (shared for reading; its landing county or the city edits) -------------------

@rule("commitment.view")
def _view(actor: User, _commitment) -> bool:
    return can(actor, "project.view")


@rule("commitment.edit")
def _edit(actor: User, commitment) -> bool:
    """obj: a Commitment, or the Project to add one to (None = may edit some)."""
    project = commitment.project if isinstance(commitment, Commitment) else commitment
    return can(actor, "project.edit", project)


# --- input -------------------------------------------------------------------------------------------------

def parse_quantity(value, *, kind: K, field: str, errors: Errors, required: bool, zero_ok: bool) -> Decimal | None:
    """A target or an actual figure in its kind's unit: a number, at most two decimals (whole people), bounded."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, _l("This field is required."))
        return None
    if kind not in NUMERIC:
        errors.add(field, _l("This kind of commitment has no quantity; describe it in the title."))
        return None
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        number = Decimal(text) if not isinstance(value, bool) else Decimal("NaN")
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    unit = UNIT[kind]
    if not number.is_finite():
        errors.add(field, _l("Not a number."))
    elif number < 0 or (number == 0 and not zero_ok):
        errors.add(field, _l("Must be greater than zero.") if not zero_ok else _l("Must not be negative."))
    elif number > MAX_QUANTITY[unit]:
        biggest = f"{MAX_QUANTITY[unit]:,}"
        errors.add(field, _l("At most %(max)s %(unit)s: check the unit.", max=biggest, unit=UNIT_LABELS[unit]))
    elif unit == PEOPLE and number != number.to_integral_value():
        errors.add(field, _l("A whole number of people."))
    elif number != number.quantize(Decimal("0.01")):
        errors.add(field, _l("At most two decimal places."))
    else:
        return number.quantize(Decimal("0.01"))
    return None


def _check_project(project: Project) -> None:
    if project.stage not in SIGNED_STAGES or project.signed_on is None:
        raise InvalidInput({"project": [_l("Commitments are recorded on signed projects (签约 or later); this "
                                           "project is not signed yet.")]})


def _clean(project: Project, data: dict, kind: K, errors: Errors, *, partial: bool) -> dict:
    out: dict = {}

    def given(key):
        return not partial or key in data

    if given("title"):
        out["title"] = clean_text(data.get("title"), field="title", errors=errors, max_length=200,
                                  required=kind in (K.SERVICE, K.INCENTIVE))
    if given("due_on"):
        day = parse_date(data.get("due_on"), field="due_on", errors=errors, required=True)
        if day and day < project.signed_on:
            errors.add("due_on", _l("Before the project was signed (%(day)s): a commitment falls due after its "
                                    "signing.", day=project.signed_on.isoformat()))
        elif day and day > project.signed_on.replace(year=project.signed_on.year + MAX_YEARS_AFTER_SIGNING):
            errors.add("due_on", _l("More than %(n)d years after the signing: check the date.",
                                    n=MAX_YEARS_AFTER_SIGNING))
        out["due_on"] = day
    if given("target_quantity"):
        out["target_quantity"] = parse_quantity(data.get("target_quantity"), kind=kind, field="target_quantity",
                                                errors=errors, required=kind in NUMERIC, zero_ok=False)
    if given("notes"):
        out["notes"] = clean_text(data.get("notes"), field="notes", errors=errors, max_length=2000, multiline=True)
    return out


def _snapshot(c: Commitment) -> dict:
    return {"side": c.side, "kind": c.kind, "status": c.status, **{key: getattr(c, key) for key in EDITABLE}}


# --- commands ----------------------------------------------------------------------------------------------

def create_commitment(actor: User, project_id: int, data: dict, *, now: datetime) -> Commitment:
    project = get_project(actor, project_id)
    require(actor, "commitment.edit", project)
    _check_project(project)
    errors = Errors()
    kind = clean_choice(data.get("kind"), KINDS, field="kind", errors=errors)
    side = data.get("side")
    if kind and side not in (None, "", SIDE[K(kind)].value):
        errors.add("side", _l("This kind of commitment is made by: %(side)s.", side=SIDE_LABELS[SIDE[K(kind)]]))
    if errors:
        raise InvalidInput(errors)
    fields = _clean(project, data, K(kind), errors, partial=False)
    if errors:
        raise InvalidInput(errors)
    commitment = Commitment(project_id=project.id, side=SIDE[K(kind)].value, kind=kind, created_by_id=actor.id,
                            status=CommitmentStatus.OPEN.value, created_at=now, updated_at=now, **fields)
    db.session.add(commitment)
    db.session.flush()
    audit.record(actor, "create", "commitment", commitment.id, summary=f"{project.name}: {label(commitment)}",
                 after={"project_id": project.id, **_snapshot(commitment)})
    db.session.commit()
    return commitment


def get_commitment(actor: User, commitment_id: int) -> Commitment:
    commitment = db.session.get(Commitment, commitment_id)
    if commitment is None:
        raise NotFound("commitment")
    get_project(actor, commitment.project_id)  # a deleted project's commitments are gone with it
    require(actor, "commitment.view", commitment)
    return commitment


def update_commitment(actor: User, commitment_id: int, data: dict, *, now: datetime,
                      expected_version: int | None = None) -> Commitment:
    """Edit the title, due date, target and notes (not the kind: a different promise is a new commitment)."""
    commitment = get_commitment(actor, commitment_id)
    require(actor, "commitment.edit", commitment)
    errors = Errors()
    if "kind" in data and data["kind"] not in (None, "", commitment.kind):
        errors.add("kind", _l("The kind of a commitment cannot change; record a new commitment instead."))
    fields = _clean(commitment.project, {k: v for k, v in data.items() if k in EDITABLE}, K(commitment.kind),
                    errors, partial=True)
    if errors:
        raise InvalidInput(errors)
    if not fields:
        return commitment  # nothing to change: no new version, no audit entry
    versions.bump(commitment, "commitment", expected_version)
    before = _snapshot(commitment)
    for key, value in fields.items():
        setattr(commitment, key, value)
    old, new = audit.changes(before, _snapshot(commitment))
    if new:
        commitment.updated_at = now
        audit.record(actor, "update", "commitment", commitment.id, summary=label(commitment), before=old, after=new)
    db.session.commit()
    return commitment


def mark_commitment(actor: User, commitment_id: int, status, *, reason, now: datetime,
                    expected_version: int | None = None) -> Commitment:
    """met / missed / waived (or back to open), always with a reason; audited."""
    commitment = get_commitment(actor, commitment_id)
    require(actor, "commitment.edit", commitment)
    errors = Errors()
    status = clean_choice(status, STATUSES, field="status", errors=errors)
    reason = clean_text(reason, field="reason", errors=errors, max_length=300, required=True)
    if status and status == commitment.status:
        errors.add("status", _l("The commitment is already so."))
    if errors:
        raise InvalidInput(errors)
    versions.bump(commitment, "commitment", expected_version)
    before = {"status": commitment.status, "status_reason": commitment.status_reason}
    commitment.status, commitment.status_reason = status, reason
    commitment.status_at, commitment.status_by_id, commitment.updated_at = now, actor.id, now
    audit.record(actor, "mark", "commitment", commitment.id, summary=f"{label(commitment)}: {status} ({reason})",
                 before=before, after={"status": status, "status_reason": reason})
    db.session.commit()
    return commitment


def add_actual(actor: User, commitment_id: int, data: dict, *, now: datetime) -> CommitmentActual:
    """A dated entry against the commitment; investment, start and production read the project instead."""
    commitment = get_commitment(actor, commitment_id)
    require(actor, "commitment.edit", commitment)
    kind, project = K(commitment.kind), commitment.project
    measure = MEASURE[kind]
    if measure == "funds":
        raise InvalidInput({"quantity": [_l("The actuals of an investment commitment are the project's funds in "
                                            "place: record the arrival under the project's funds.")]})
    if measure == "project_date":
        raise InvalidInput({"recorded_on": [_l("This commitment is kept by the project's own date: record the "
                                               "start or production with the project's stage change.")]})
    errors = Errors()
    day = parse_date(data.get("recorded_on"), field="recorded_on", errors=errors, required=True)
    if day and day > today(now):
        errors.add("recorded_on", _l("Must not be in the future."))
    elif day and project.signed_on and day < project.signed_on:
        errors.add("recorded_on", _l("Before the project was signed (%(day)s).", day=project.signed_on.isoformat()))
    quantity = parse_quantity(data.get("quantity"), kind=kind, field="quantity", errors=errors,
                              required=measure in ("sum", "latest"), zero_ok=True)
    note = clean_text(data.get("note"), field="note", errors=errors, max_length=300, required=measure == "text")
    if errors:
        raise InvalidInput(errors)
    entry = CommitmentActual(commitment_id=commitment.id, recorded_on=day, quantity=quantity, note=note,
                             created_by_id=actor.id, created_at=now)
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, "add_actual", "commitment", commitment.id,
                 summary=f"{label(commitment)}: {quantity if quantity is not None else ''} ({day.isoformat()})",
                 after={"actual_id": entry.id, "recorded_on": day, "quantity": quantity, "note": note})
    db.session.commit()
    return entry


# --- variance and 履约率 -------------------------------------------------------------------------------------

@dataclass
class Progress:
    commitment: Commitment
    unit: str | None
    actual: Decimal | None  # numeric kinds: what is in place / the latest year's figure
    actual_on: date | None  # date kinds: when it happened
    variance: Decimal | int | None  # numeric: actual − target; date kinds: days late (negative: early)
    rate: Decimal | None  # 履约率 of this commitment (1 = kept); None while it is not due and not kept
    kept: bool
    slipped: bool  # open, past its due date and neither kept nor (a date) done late
    days_left: int  # due_on − today


def label(c: Commitment) -> str:
    return c.title or str(KIND_LABELS[K(c.kind)])



def _funds_totals(project_ids) -> dict[int, Decimal]:
    if not project_ids:
        return {}
    rows = db.session.execute(select(FundsArrival.project_id, func.sum(FundsArrival.amount)).where(
        FundsArrival.project_id.in_(project_ids), FundsArrival.withdrawn_at.is_(None))
        .group_by(FundsArrival.project_id))
    return {pid: Decimal(total).quantize(Decimal("0.01")) for pid, total in rows}


def progress(c: Commitment, day: date, *, funds_total: Decimal | None = None) -> Progress:
    """Where one commitment stands on `day`."""
    kind = K(c.kind)
    measure = MEASURE[kind]
    project = c.project
    actual = actual_on = variance = rate = None
    due = c.due_on < day
    if measure in ("funds", "sum", "latest"):
        if measure == "funds":
            actual = funds_total if funds_total is not None else _funds_totals([project.id]).get(project.id)
            actual = actual or Decimal("0.00")
        elif c.actuals:
            actual = (sum((a.quantity or Decimal(0) for a in c.actuals), Decimal("0.00")) if measure == "sum"
                      else max(c.actuals, key=lambda a: (a.recorded_on, a.id)).quantity)
        target = c.target_quantity or Decimal(0)
        kept = actual is not None and target > 0 and actual >= target
        if actual is not None and target > 0:
            variance = actual - target
            rate = (actual / target).quantize(Decimal("0.0001"))
        elif due:
            rate = Decimal(0)
    elif measure in ("project_date", "entry_date"):
        if measure == "project_date":
            actual_on = project.started_on if kind == K.START else project.producing_on
        elif c.actuals:
            actual_on = min(a.recorded_on for a in c.actuals)
        kept = actual_on is not None and actual_on <= c.due_on
        if actual_on is not None or due:
            variance = ((actual_on or day) - c.due_on).days
            rate = Decimal(1) if kept else Decimal(0)
    else:
        kept = c.status == CommitmentStatus.MET
        if kept or due or c.status == CommitmentStatus.MISSED:
            rate = Decimal(1) if kept else Decimal(0)
    if c.status == CommitmentStatus.MET and rate is None:
        rate = Decimal(1)
    # Done late (started after the promised day) is not kept, but there is nothing left to chase: not slipped.
    slipped = c.status == CommitmentStatus.OPEN and due and not kept and actual_on is None
    return Progress(commitment=c, unit=UNIT.get(kind), actual=actual, actual_on=actual_on, variance=variance,
                    rate=rate, kept=kept, slipped=slipped, days_left=(c.due_on - day).days)


def overall_rate(rows: list[Progress]) -> Decimal | None:
    """履约率 of a set: the mean of each counted commitment's rate (capped at 1), leaving out the waived and
    those neither due nor kept yet; None when nothing counts."""
    closed = (CommitmentStatus.MET, CommitmentStatus.MISSED)
    counted = [min(p.rate, Decimal(1)) for p in rows
               if p.rate is not None and p.commitment.status != CommitmentStatus.WAIVED
               and (p.days_left < 0 or p.kept or p.commitment.status in closed)]
    if not counted:
        return None
    return (sum(counted, Decimal(0)) / len(counted)).quantize(Decimal("0.0001"))


def project_progress(project: Project, day: date) -> dict:
    rows = list(db.session.scalars(select(Commitment).where(Commitment.project_id == project.id)
                                   .options(selectinload(Commitment.actuals))
                                   .order_by(Commitment.side.desc(), Commitment.due_on, Commitment.id)))
    funds_total = _funds_totals([project.id]).get(project.id, Decimal("0.00"))
    items = [progress(c, day, funds_total=funds_total) for c in rows]
    return {"items": items, "rate": overall_rate(items),
            "investor_rate": overall_rate([p for p in items if p.commitment.side == CommitmentSide.INVESTOR]),
            "government_rate": overall_rate([p for p in items if p.commitment.side == CommitmentSide.GOVERNMENT]),
            "slipped": sum(p.slipped for p in items), "count": len(items)}


def slipped_by_project(project_ids, day: date) -> dict[int, int]:
    """How many open commitments of each project are past due and not kept (for the health colour)."""
    ids = list(project_ids)
    if not ids:
        return {}
    rows = list(db.session.scalars(select(Commitment).where(
        Commitment.project_id.in_(ids), Commitment.status == CommitmentStatus.OPEN.value, Commitment.due_on < day)
        .options(selectinload(Commitment.actuals), selectinload(Commitment.project))))
    totals = _funds_totals({c.project_id for c in rows if c.kind == K.INVESTMENT})
    out: dict[int, int] = defaultdict(int)
    for c in rows:
        if progress(c, day, funds_total=totals.get(c.project_id, Decimal("0.00"))).slipped:
            out[c.project_id] += 1
    return dict(out)


# --- reminders ---------------------------------------------------------------------------------------------

def remind_days(cfg=None) -> list[int]:
    """COMMITMENT_REMIND_DAYS: days before a due date to remind, e.g. [30, 7] or "30,7"; unusable → 30, 7."""
    raw = (cfg or current_app.config).get("COMMITMENT_REMIND_DAYS", DEFAULT_REMIND_DAYS)
    try:
        values = raw.split(",") if isinstance(raw, str) else list(raw)
        days = sorted({int(v) for v in values}, reverse=True)
    except (TypeError, ValueError):
        days = []
    if not days or any(not 0 <= d <= 366 for d in days):
        return list(DEFAULT_REMIND_DAYS)
    return days


def plan_commitment_reminders(now: datetime, *, days: list[int]) -> int:
    """Tell each open commitment's project manager (or, without one, the landing county's staff) once per
    threshold: the smallest threshold the days left have reached. A run missed for a day still sends it; a
    commitment whose date passed gets no "due in" reminder (its slip shows on the project's health instead)."""
    from crm.services.followups import _county_staff  # the same "county inbox" the follow-up reminders use

    day = today(now)
    horizon = day + timedelta(days=max(days))
    stmt = (select(Commitment).join(Project, Project.id == Commitment.project_id)
            .where(Commitment.status == CommitmentStatus.OPEN.value, Commitment.due_on >= day,
                   Commitment.due_on <= horizon, Project.deleted_at.is_(None), Project.stage != Stage.DROPPED.value)
            .options(selectinload(Commitment.actuals), selectinload(Commitment.project)))
    planned = 0
    for c in db.session.scalars(stmt):
        left = (c.due_on - day).days
        threshold = min(d for d in days if left <= d)
        if progress(c, day).kept:
            continue
        project = c.project
        manager = db.session.get(User, project.manager_id) if project.manager_id else None
        people = [manager] if manager is not None and manager.is_active_user else _county_staff(project.county_id)
        for user in people:
            with notifications.in_language(user):
                planned += bool(notifications.notify(
                    user, "commitment_due", _("Commitment due in %(n)d days: %(what)s", n=left, what=label(c)),
                    _("%(project)s: due %(due)s.", project=project.name, due=c.due_on.isoformat()),
                    f"/projects/{project.id}/commitments", f"commitment:{c.id}:{c.due_on.isoformat()}:{threshold}",
                    now=now))
    db.session.commit()
    return planned
