"""Yearly targets (考核目标) per county and for the city (county_id None), one value per metric."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, County, Target, User
from crm.services import audit
from crm.services.errors import InvalidInput
from crm.services.permissions import require
from crm.services.projects import parse_money
from crm.services.validation import Errors

# Counts are whole numbers; the rest are 万元 except foreign_capital (万美元).
METRICS = ["signed_count", "signed_investment", "funds_in_place", "out_of_province_funds", "foreign_enterprises",
           "foreign_capital"]
COUNT_METRICS = {"signed_count", "foreign_enterprises"}
# Far above any prefecture's year (the 2019 source: 458 signed, 807.87亿 signed, 4,830万美元 foreign capital), so
# only a wrong unit or a slip of the keyboard reaches them: 100,000 projects; 10,000 亿元; 1,000 亿美元.
MAX_COUNT, MAX_MONEY_TARGET, MAX_FOREIGN_TARGET = Decimal(100_000), Decimal(100_000_000), Decimal(10_000_000)
MIN_YEAR, MAX_YEAR = 2000, 2100
UNSEEN = object()  # an item that does not say what the cell held when the editor read it


def clean_year(value, errors: Errors | None = None) -> int:
    own = errors is None
    errors = Errors() if own else errors
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = 0
    if not MIN_YEAR <= year <= MAX_YEAR:
        errors.add("year", _l("A year between %(a)d and %(b)d.", a=MIN_YEAR, b=MAX_YEAR))
    if own and errors:
        raise InvalidInput(errors)
    return year


def targets_for(year: int, county_id: int | None = None, *, all_counties: bool = False) -> list[Target]:
    stmt = select(Target).where(Target.year == year)
    if not all_counties:
        stmt = stmt.where(Target.county_key == (county_id or 0))
    return list(db.session.scalars(stmt.order_by(Target.county_key, Target.metric)))


def target_map(year: int) -> dict[tuple[int | None, str], Decimal]:
    """(county_id or None for the city, metric) → value, for one year."""
    return {(t.county_id, t.metric): t.value for t in targets_for(year, all_counties=True)}


def _clean_item(item: dict, index: int, year: int, errors: Errors):
    field = f"{index}"
    metric = item.get("metric")
    if metric not in METRICS:
        errors.add(f"{field}.metric", _l("Not a valid choice."))
        return None
    county_id = item.get("county_id") or None
    if county_id is not None:
        try:
            county_id = int(county_id)
        except (TypeError, ValueError):
            county_id = -1
        if db.session.get(County, county_id) is None:
            errors.add(f"{field}.county_id", _l("Unknown county."))
            return None
    value = parse_money(item.get("value"), field=f"{field}.value", errors=errors)
    if value is not None and metric in COUNT_METRICS and value != value.to_integral_value():
        errors.add(f"{field}.value", _l("A whole number."))
        return None
    if value is not None and value > ceiling(metric):
        errors.add(f"{field}.value", _ceiling_message(metric))
        return None
    if item.get("year") not in (None, "") and clean_year(item.get("year"), errors) != year:
        errors.add(f"{field}.year", _l("Not the year being set."))
        return None
    seen = parse_money(item["was"], field=f"{field}.was", errors=errors) if "was" in item else UNSEEN
    return county_id, metric, value, seen


def shown(metric: str, value: Decimal | None) -> str:
    """A target as the grid shows it: whole numbers for counts, two decimals for money, empty for none."""
    if value is None:
        return ""
    return f"{value:.0f}" if metric in COUNT_METRICS else f"{value:.2f}"


def ceiling(metric: str) -> Decimal:
    """The largest plausible target of a metric."""
    if metric in COUNT_METRICS:
        return MAX_COUNT
    return MAX_FOREIGN_TARGET if metric == "foreign_capital" else MAX_MONEY_TARGET


def _text(number: Decimal) -> str:
    return f"{number:,}"


def _ceiling_message(metric: str):
    if metric in COUNT_METRICS:
        return _l("At most %(max)s: a count of projects or enterprises.", max=_text(MAX_COUNT))
    if metric == "foreign_capital":
        return _l("At most %(max)s (10k USD): check the unit, foreign capital is in 10k USD.",
                  max=_text(MAX_FOREIGN_TARGET))
    return _l("At most %(max)s (10k yuan): check the unit, amounts are in 10k yuan.", max=_text(MAX_MONEY_TARGET))


def set_targets(actor: User, year, items: list[dict], *, now: datetime) -> list[Target]:
    """Upsert targets of one year; a value of None (or empty) removes that target. Audited as one change.

    An item may say what the cell held when the editor read it (`was`): a cell left as it was is not written
    (so a grid posting every cell keeps what others saved meanwhile), and a changed cell that someone else
    changed too is refused, naming them, with the value it holds now under `<i>.was`."""
    require(actor, "target.manage")
    errors = Errors()
    year = clean_year(year, errors)
    cleaned = [_clean_item(item if isinstance(item, dict) else {}, i, year, errors) for i, item in enumerate(items)]
    if errors:
        raise InvalidInput(errors)
    # Locked (PostgreSQL) so what `was` is compared with cannot change before the commit; SQLite's
    # transactions are serial already.
    existing = {(t.county_key, t.metric): t for t in db.session.scalars(
        select(Target).where(Target.year == year).with_for_update())}
    _refuse_stale(year, cleaned, existing)
    before, after = {}, {}
    for county_id, metric, value, seen in (c for c in cleaned if c):
        key = f"{county_id or 'city'}.{metric}"
        target = existing.get((county_id or 0, metric))
        old = target.value if target else None
        if old == value or (seen is not UNSEEN and seen == value):
            continue
        before[key], after[key] = old, value
        if value is None:
            db.session.delete(target)
            existing.pop((county_id or 0, metric))
        elif target is None:
            target = Target(year=year, county_id=county_id, county_key=county_id or 0, metric=metric, value=value,
                            updated_at=now)
            db.session.add(target)
            existing[(county_id or 0, metric)] = target
        else:
            target.value, target.updated_at = value, now
    if after:
        audit.record(actor, "set_targets", "target", year, summary=str(year), before=before, after=after)
    db.session.commit()
    return targets_for(year, all_counties=True)


def _refuse_stale(year: int, cleaned: list, existing: dict) -> None:
    errors = Errors()
    for i, item in enumerate(cleaned):
        if not item or item[3] is UNSEEN or item[3] == item[2]:
            continue
        county_id, metric, _value, seen = item
        target = existing.get((county_id or 0, metric))
        now_value = target.value if target else None
        if now_value != seen:
            who = _last_changed_by(year, f"{county_id or 'city'}.{metric}")
            now_text = shown(metric, now_value) or "—"
            errors.add(f"{i}.value", _l("Changed by %(who)s meanwhile, to %(value)s; save again to replace it with "
                                        "yours.", who=who, value=now_text) if who else
                       _l("Changed by someone else meanwhile, to %(value)s; save again to replace it with yours.",
                          value=now_text))
            errors.add(f"{i}.was", shown(metric, now_value))
    if errors:
        db.session.rollback()  # release the locks taken above
        raise InvalidInput(errors)


def _last_changed_by(year: int, key: str) -> str | None:
    """Who last set this one cell: the newest of the year's audited saves that touched it."""
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "target", AuditEntry.object_id == year, AuditEntry.action == "set_targets")
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(50))
    entry = next((e for e in entries if key in (e.after or {})), None)
    return entry.actor.display_name if entry and entry.actor else None
