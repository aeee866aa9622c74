"""月报: the annual figures frozen per month (the report and the county ranking as computed at freeze time, stored
as JSON and never changed), so what was reported upward can be shown again exactly, and diffed against the live
figures. The scheduler freezes the previous month once; a city user may freeze on demand."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.models import ReportSnapshot, User
from crm.services import audit, reports
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import is_city_level, require, rule
from crm.services.targets import MAX_YEAR, MIN_YEAR
from crm.services.validation import Errors, clean_text

TZ = ZoneInfo("Asia/Shanghai")
SCHEDULED, MANUAL = "scheduled", "manual"
_MONEY = re.compile(r"^-?\d+\.\d{2}$")


@rule("snapshot.view")
def _view(_actor: User, _obj) -> bool:
    return True


@rule("snapshot.freeze")
def _freeze(actor: User, _obj) -> bool:
    return is_city_level(actor)


# --- JSON both ways ----------------------------------------------------------------------------------------

def _to_json(value):
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(value):
    """Money comes back as the exact Decimal it was frozen as."""
    if isinstance(value, str) and _MONEY.match(value):
        return Decimal(value)
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def compute(year: int) -> dict:
    """What a snapshot of the year stores: the city's report and the county ranking, as of now."""
    return _to_json({"report": reports.annual_report(year), "ranking": reports.county_ranking(year)})


def figures(snapshot: ReportSnapshot) -> dict:
    """The frozen figures as the report pages use them: {"report": …, "ranking": […]}."""
    return _from_json(snapshot.figures)


# --- commands ----------------------------------------------------------------------------------------------

def _clean_period(year, month) -> tuple[int, int]:
    errors = Errors()
    try:
        year = int(year)
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError
    except (TypeError, ValueError):
        errors.add("year", _l("Not a valid year."))
    try:
        month = int(month)
        if not 1 <= month <= 12:
            raise ValueError
    except (TypeError, ValueError):
        errors.add("month", _l("Not a valid month (1–12)."))
    if errors:
        raise InvalidInput(errors)
    return year, month


def freeze(actor: User, year, month, *, note=None, now: datetime) -> ReportSnapshot:
    """A city user's on-demand 月报 of a month (figures of its year as they stand now); not in the future."""
    require(actor, "snapshot.freeze")
    year, month = _clean_period(year, month)
    errors = Errors()
    note = clean_text(note, field="note", errors=errors, max_length=200)
    local = now.astimezone(TZ)
    if (year, month) > (local.year, local.month):
        errors.add("month", _l("A month that has not begun cannot be reported."))
    if errors:
        raise InvalidInput(errors)
    return _store(actor, year, month, MANUAL, note, now)


def _store(actor: User | None, year: int, month: int, source: str, note, now: datetime) -> ReportSnapshot:
    snapshot = ReportSnapshot(year=year, month=month, source=source, figures=compute(year), note=note,
                              frozen_by_id=actor.id if actor else None, frozen_at=now,
                              scheduled_key=f"{year:04d}-{month:02d}" if source == SCHEDULED else None)
    db.session.add(snapshot)
    db.session.flush()
    audit.record(actor, "freeze", "report_snapshot", snapshot.id, summary=f"{year}-{month:02d} ({source})",
                 after={"year": year, "month": month, "source": source})
    db.session.commit()
    return snapshot


def previous_month(now: datetime) -> tuple[int, int]:
    local = now.astimezone(TZ)
    return (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)


def freeze_previous_month(now: datetime) -> str:
    """The scheduler's job: the month before `now` (Asia/Shanghai) frozen once; re-runs add nothing."""
    year, month = previous_month(now)
    key = f"{year:04d}-{month:02d}"
    if db.session.scalar(select(ReportSnapshot.id).where(ReportSnapshot.scheduled_key == key)):
        return f"{key} already frozen"
    try:
        _store(None, year, month, SCHEDULED, None, now)
    except IntegrityError:  # another scheduler froze it meanwhile
        db.session.rollback()
        return f"{key} already frozen"
    return f"{key} frozen"


# --- queries -----------------------------------------------------------------------------------------------

def get_snapshot(actor: User, snapshot_id: int) -> ReportSnapshot:
    require(actor, "snapshot.view")
    snapshot = db.session.get(ReportSnapshot, snapshot_id)
    if snapshot is None:
        raise NotFound("snapshot")
    return snapshot


def list_snapshots(actor: User, *, year=None) -> list[ReportSnapshot]:
    require(actor, "snapshot.view")
    stmt = select(ReportSnapshot)
    if year:
        stmt = stmt.where(ReportSnapshot.year == int(year))
    return list(db.session.scalars(stmt.order_by(ReportSnapshot.year.desc(), ReportSnapshot.month.desc(),
                                                  ReportSnapshot.frozen_at.desc(), ReportSnapshot.id.desc())))


def _flat(value, prefix="") -> dict:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out |= _flat(item, f"{prefix}.{key}" if prefix else key)
        return out
    return {prefix: value}


def diff(snapshot: ReportSnapshot) -> list[dict]:
    """Every figure whose live value differs from the frozen one: {path, snapshot, live}. Paths are the
    report's keys (signed_projects.count …), ranking.<county id>.<metric> for the ranking's actuals, and
    events.<id>.<key> for the events."""
    frozen, live = figures(snapshot), _from_json(compute(snapshot.year))

    def flat(fig):
        report = dict(fig["report"])
        events = {str(e["id"]): e for e in report.pop("events", [])}
        ranking = {str(r["county_id"]): {m: v["actual"] for m, v in r["metrics"].items()} | {"score": r["score"]}
                   for r in fig["ranking"]}
        return _flat(report) | _flat({"events": events}) | _flat({"ranking": ranking})

    old, new = flat(frozen), flat(live)
    return [{"path": key, "snapshot": old.get(key), "live": new.get(key)}
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
