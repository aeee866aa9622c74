"""The bureau's annual figures (DESIGN.md §9, defined in API.md "The annual report"), the county ranking
(考核) and the pipeline figures behind the charts — each a few aggregate queries, never a loop over rows."""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, case, distinct, exists, extract, func, or_, select
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.models import (
    County,
    CountyKind,
    Event,
    FundsArrival,
    Industry,
    Interaction,
    InteractionKind,
    Lead,
    LeaderLevel,
    LeadKind,
    Project,
    SourceChannel,
    Stage,
    User,
    project_leads,
)
from crm.services import audit
from crm.services.events import results as event_results
from crm.services.funds import is_live as live_funds
from crm.services.permissions import require, rule
from crm.services.targets import clean_year, target_map
from crm.services.verification import counting_verified_only, funds_verified, signing_verified

TZ = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0.00")
# Thresholds of the size shares, in 万元: 1亿, 5亿, 10亿.
OVER_100M, OVER_500M, OVER_1B = Decimal(10_000), Decimal(50_000), Decimal(100_000)
DEFAULT_WEIGHTS = {"signed_count": 15, "signed_investment": 20, "funds_in_place": 25, "out_of_province_funds": 20,
                   "foreign_enterprises": 10, "foreign_capital": 10}
DEFAULT_RATIO_CAP = 1.2


@rule("report.view")
def _view(_actor: User, _obj) -> bool:
    return True


def _money(value) -> Decimal:
    return Decimal(value if value is not None else 0).quantize(Decimal("0.01"))


def ratio(actual, target) -> float | None:
    """actual ÷ target (1.0048 = 100.48%); None without a (positive) target."""
    if target is None or Decimal(target) <= 0:
        return None
    return float(Decimal(actual) / Decimal(target))


def _share(part, whole) -> float:
    return float(Decimal(part) / Decimal(whole)) if whole else 0.0


def _year_bounds(year: int) -> tuple[date, date, datetime, datetime]:
    """The year as dates and as UTC instants of its Asia/Shanghai midnights (interactions are timestamps)."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return (start, end, datetime(year, 1, 1, tzinfo=TZ), datetime(year + 1, 1, 1, tzinfo=TZ))


def _grouped(stmt, column, county_id, by_county: bool):
    if county_id:
        stmt = stmt.where(column == county_id)
    if by_county:
        stmt = stmt.add_columns(column.label("county")).group_by(column)
    return stmt


def _basis(stmt, basis: str, verified):
    """counted: what the figures count (verified only, unless REPORTS_COUNT_VERIFIED_ONLY is off); pending:
    what waits for 认定 (待认定 or 退回) beside them; all: everything entered."""
    if basis == "pending":
        return stmt.where(~verified)
    if basis == "counted" and counting_verified_only():
        return stmt.where(verified)
    return stmt


def _rows(stmt, by_county: bool) -> dict:
    """county id → row (by_county) or {None: the one row}."""
    rows = db.session.execute(stmt).all()
    if not by_county:
        return {None: rows[0]}
    return {row.county: row for row in rows}


# --- the figures, each grouped by county when asked --------------------------------------------------------

def _signed(year: int, county_id=None, by_county=False, basis: str = "counted") -> dict:
    start, end, *_ = _year_bounds(year)
    inv = Project.investment_total
    hometown = or_(Project.source_channel == SourceChannel.HOMETOWN.value, exists(
        select(1).select_from(project_leads).join(Lead, Lead.id == project_leads.c.lead_id).where(
            project_leads.c.project_id == Project.id, Lead.kind == LeadKind.HOMETOWN_ENTREPRENEUR.value)))
    stmt = select(
        func.count(Project.id).label("count"),
        func.coalesce(func.sum(inv), 0).label("investment"),
        func.coalesce(func.sum(case((inv >= OVER_100M, 1), else_=0)), 0).label("n100m"),
        func.coalesce(func.sum(case((inv >= OVER_500M, 1), else_=0)), 0).label("n500m"),
        func.coalesce(func.sum(case((inv >= OVER_1B, 1), else_=0)), 0).label("n1b"),
        func.coalesce(func.sum(case((inv >= OVER_100M, inv), else_=0)), 0).label("inv100m"),
        func.coalesce(func.sum(case((hometown, 1), else_=0)), 0).label("hometown"),
    ).where(Project.deleted_at.is_(None), Project.stage != Stage.DROPPED.value,
            Project.signed_on >= start, Project.signed_on < end)
    stmt = _basis(stmt, basis, signing_verified())
    return _rows(_grouped(stmt, Project.county_id, county_id, by_county), by_county)


def _funds(year: int, county_id=None, by_county=False, basis: str = "counted") -> dict:
    start, end, *_ = _year_bounds(year)
    stmt = select(
        func.coalesce(func.sum(FundsArrival.amount), 0).label("total"),
        func.coalesce(func.sum(case((FundsArrival.out_of_province.is_(True), FundsArrival.amount), else_=0)),
                      0).label("out_of_province"),
        func.coalesce(func.sum(FundsArrival.foreign_amount), 0).label("foreign"),
    ).select_from(FundsArrival).join(Project, Project.id == FundsArrival.project_id).where(
        Project.deleted_at.is_(None), live_funds(), FundsArrival.arrived_on >= start, FundsArrival.arrived_on < end)
    stmt = _basis(stmt, basis, funds_verified())
    return _rows(_grouped(stmt, Project.county_id, county_id, by_county), by_county)


def _foreign(year: int, county_id=None, by_county=False) -> dict:
    start, end, *_ = _year_bounds(year)
    stmt = select(func.count(Project.id).label("count")).where(
        Project.deleted_at.is_(None), Project.is_foreign.is_(True), Project.started_on >= start,
        Project.started_on < end)
    return _rows(_grouped(stmt, Project.county_id, county_id, by_county), by_county)


def _visits(year: int, county_id=None, by_county=False) -> dict:
    """Distinct leads visited; a merged lead counts as the lead it was merged into."""
    *_, t0, t1 = _year_bounds(year)
    lead_key = func.coalesce(Lead.merged_into_id, Lead.id)

    def led_by(level: LeaderLevel):
        return func.count(distinct(case((Interaction.leader_level == level.value, lead_key), else_=None)))

    stmt = select(
        func.count(distinct(lead_key)).label("total"),
        led_by(LeaderLevel.CITY).label("city_led"),
        led_by(LeaderLevel.COUNTY).label("county_led"),
    ).select_from(Interaction).join(Lead, Lead.id == Interaction.lead_id).where(
        Interaction.kind == InteractionKind.VISIT.value, Interaction.occurred_at >= t0, Interaction.occurred_at < t1,
        Interaction.withdrawn_at.is_(None),
        or_(Lead.deleted_at.is_(None), Lead.merged_into_id.is_not(None)))
    return _rows(_grouped(stmt, Interaction.county_id, county_id, by_county), by_county)


def _receptions(year: int, county_id=None, by_county=False) -> dict:
    *_, t0, t1 = _year_bounds(year)
    stmt = select(
        func.count(Interaction.id).label("batches"),
        func.coalesce(func.sum(Interaction.visitor_count), 0).label("visitors"),
    ).where(Interaction.kind == InteractionKind.RECEPTION.value, Interaction.occurred_at >= t0,
            Interaction.occurred_at < t1, Interaction.withdrawn_at.is_(None))
    return _rows(_grouped(stmt, Interaction.county_id, county_id, by_county), by_county)


def _events(year: int, county_id=None) -> list[dict]:
    start, end, *_ = _year_bounds(year)
    stmt = select(Event).where(Event.held_on >= start, Event.held_on < end)
    if county_id:
        stmt = stmt.where(or_(Event.county_id == county_id, exists(select(1).where(
            Project.event_id == Event.id, Project.county_id == county_id, Project.deleted_at.is_(None)))))
    events = list(db.session.scalars(stmt.order_by(Event.held_on, Event.id)))
    signed = event_results([e.id for e in events], county_id=county_id)
    return [{"id": e.id, "name": e.name, "held_on": e.held_on, **signed[e.id]} for e in events]


# --- the report ------------------------------------------------------------------------------------------

def annual_report(year, county_id: int | None = None) -> dict:
    """Every figure of API.md's annual report for a year (and optionally the county a project lands in /
    whose staff logged an interaction), each beside its target and ratio. Money in 万元 as Decimal."""
    year = clean_year(year)
    county_id = county_id or None
    s = _signed(year, county_id)[None]
    f = _funds(year, county_id)[None]
    targets = target_map(year)

    def target(metric):
        return targets.get((county_id, metric))

    return _assemble(year, county_id, s, f, _foreign(year, county_id)[None], _visits(year, county_id)[None],
                     _receptions(year, county_id)[None], target) | {"events": _events(year, county_id),
                                                                     "pending": pending_figures(year, county_id)}


def pending_figures(year: int, county_id: int | None = None) -> dict:
    """Beside the counted figures: the signings and funds that wait for 认定 (待认定 or 退回), not counted."""
    s, f = _signed(year, county_id, basis="pending")[None], _funds(year, county_id, basis="pending")[None]
    return {"verified_only": counting_verified_only(),
            "signed_projects": {"count": int(s.count), "investment": _money(s.investment)},
            "funds_in_place": {"total": _money(f.total), "out_of_province": _money(f.out_of_province)},
            "foreign_capital": {"amount": _money(f.foreign)}}


def _assemble(year, county_id, s, f, fe, v, r, target) -> dict:
    count, investment = int(s.count), _money(s.investment)
    total, oop, foreign = _money(f.total), _money(f.out_of_province), _money(f.foreign)
    t = {m: target(m) for m in ("signed_count", "signed_investment", "funds_in_place", "out_of_province_funds",
                                 "foreign_enterprises", "foreign_capital")}
    return {
        "year": year, "county_id": county_id,
        "signed_projects": {"count": count, "investment": investment,
                            "count_target": t["signed_count"], "count_ratio": ratio(count, t["signed_count"]),
                            "investment_target": t["signed_investment"],
                            "investment_ratio": ratio(investment, t["signed_investment"])},
        "funds_in_place": {"total": total, "total_target": t["funds_in_place"],
                           "total_ratio": ratio(total, t["funds_in_place"]),
                           "out_of_province": oop, "out_of_province_target": t["out_of_province_funds"],
                           "out_of_province_ratio": ratio(oop, t["out_of_province_funds"])},
        "foreign_enterprises": {"count": int(fe.count), "target": t["foreign_enterprises"],
                                "ratio": ratio(int(fe.count), t["foreign_enterprises"])},
        "foreign_capital": {"amount": foreign, "target": t["foreign_capital"],
                            "ratio": ratio(foreign, t["foreign_capital"])},
        "enterprises_visited": {"total": int(v.total), "city_led": int(v.city_led), "county_led": int(v.county_led)},
        "receptions": {"batches": int(r.batches), "visitors": int(r.visitors)},
        "size_shares": {"over_100m": _share(s.n100m, count), "over_500m": _share(s.n500m, count),
                        "over_1b": _share(s.n1b, count),
                        "investment_share_over_100m": _share(_money(s.inv100m), investment)},
        "hometown_projects": int(s.hometown),
    }


# --- 考核: the county ranking --------------------------------------------------------------------------

def ranking_weights() -> dict[str, float]:
    """REPORT_RANKING_WEIGHTS (a mapping in instance/config.py, or JSON in CRM_REPORT_RANKING_WEIGHTS): metric →
    weight. Unknown metrics and weights that are not numbers ≥ 0 are ignored (logged); nothing usable → defaults."""
    raw = current_app.config.get("REPORT_RANKING_WEIGHTS")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    weights = {}
    for metric, weight in (raw.items() if isinstance(raw, dict) else ()):
        try:
            value = float(weight)
        except (TypeError, ValueError):
            value = -1.0
        if metric in DEFAULT_WEIGHTS and math.isfinite(value) and value >= 0:
            weights[metric] = value
    if raw is not None and len(weights) != (len(raw) if isinstance(raw, dict) else -1):
        current_app.logger.warning("REPORT_RANKING_WEIGHTS: unusable entries ignored in %r", raw)
    return weights or dict(DEFAULT_WEIGHTS)


def ranking_cap() -> float:
    """REPORT_RANKING_CAP: the most a metric's completion ratio can count for (default 1.2 = 120%)."""
    try:
        cap = float(current_app.config.get("REPORT_RANKING_CAP", DEFAULT_RATIO_CAP))
    except (TypeError, ValueError):
        cap = DEFAULT_RATIO_CAP
    return cap if math.isfinite(cap) and cap > 0 else DEFAULT_RATIO_CAP


def county_ranking(year, weights: dict | None = None, *, cap: float | None = None) -> list[dict]:
    """Every county (not the city itself) with its actuals, targets, ratios and score = Σ weight × min(ratio,
    cap) over metrics that have a target; best first, with ranks (ties share one)."""
    year = clean_year(year)
    weights = weights if weights is not None else ranking_weights()
    cap = ranking_cap() if cap is None else cap
    signed, funds, foreign = _signed(year, by_county=True), _funds(year, by_county=True), _foreign(year, by_county=True)
    targets = target_map(year)
    counties = db.session.scalars(select(County).where(County.is_active.is_(True), County.kind != CountyKind.CITY)
                                  .order_by(County.sort_order, County.id))
    rows = []
    for county in counties:
        s, f, fe = signed.get(county.id), funds.get(county.id), foreign.get(county.id)
        actual = {"signed_count": int(s.count) if s else 0, "signed_investment": _money(s.investment if s else 0),
                  "funds_in_place": _money(f.total if f else 0),
                  "out_of_province_funds": _money(f.out_of_province if f else 0),
                  "foreign_enterprises": int(fe.count) if fe else 0, "foreign_capital": _money(f.foreign if f else 0)}
        metrics, score = {}, 0.0
        for metric, value in actual.items():
            tgt = targets.get((county.id, metric))
            r = ratio(value, tgt)
            metrics[metric] = {"actual": value, "target": tgt, "ratio": r}
            if r is not None:
                score += float(weights.get(metric, 0)) * min(r, cap)
        rows.append({"county_id": county.id, "county": county.name, "metrics": metrics, "score": round(score, 4)})
    rows.sort(key=lambda row: (-row["score"], row["county"]))
    rank = 0
    for index, row in enumerate(rows):
        if index == 0 or row["score"] != rows[index - 1]["score"]:
            rank = index + 1
        row["rank"] = rank
    return rows


# --- chart figures -----------------------------------------------------------------------------------------

def pipeline(county_id: int | None = None) -> list[dict]:
    """Live projects now, per stage: count and investment (万元)."""
    stmt = select(Project.stage, func.count(Project.id), func.coalesce(func.sum(Project.investment_total), 0)).where(
        Project.deleted_at.is_(None)).group_by(Project.stage)
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    found = {stage: (count, _money(total)) for stage, count, total in db.session.execute(stmt)}
    return [{"stage": s.value, "count": found.get(s.value, (0, ZERO))[0], "investment": found.get(s.value, (0, ZERO))[1]}
            for s in Stage]


def funds_by_month(year, county_id: int | None = None) -> list[dict]:
    """Funds in place per month of the year (1–12), total and out-of-province, 万元."""
    year = clean_year(year)
    start, end, *_ = _year_bounds(year)
    month = extract("month", FundsArrival.arrived_on)
    stmt = select(month.label("m"), func.sum(FundsArrival.amount), func.sum(case(
        (FundsArrival.out_of_province.is_(True), FundsArrival.amount), else_=0))).join(
        Project, Project.id == FundsArrival.project_id).where(
        Project.deleted_at.is_(None), live_funds(), and_(FundsArrival.arrived_on >= start,
                                                         FundsArrival.arrived_on < end))
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    found = {int(m): (_money(t), _money(o)) for m, t, o in db.session.execute(stmt.group_by(month))}
    return [{"month": m, "total": found.get(m, (ZERO, ZERO))[0], "out_of_province": found.get(m, (ZERO, ZERO))[1]}
            for m in range(1, 13)]


def signed_by_county(year) -> list[dict]:
    """Signed projects of the year per landing county (count, investment) for the chart."""
    rows = _signed(clean_year(year), by_county=True)
    names = {c.id: c.name for c in db.session.scalars(select(County))}
    return sorted(({"county_id": cid, "county": names.get(cid, ""), "count": int(r.count),
                    "investment": _money(r.investment)} for cid, r in rows.items()), key=lambda r: -r["investment"])


def visits_by_leader_level(year, county_id: int | None = None) -> list[dict]:
    """Per leader level (city, county, department, none): distinct leads with a 叩门 visit so led in the year
    (the enterprises_visited rule: merged leads count as their survivor) and the number of such visits. A lead
    visited under two levels counts under each, so the leads do not add up to enterprises_visited.total."""
    *_, t0, t1 = _year_bounds(clean_year(year))
    lead_key = func.coalesce(Lead.merged_into_id, Lead.id)
    stmt = select(Interaction.leader_level, func.count(distinct(lead_key)), func.count(Interaction.id)).join(
        Lead, Lead.id == Interaction.lead_id).where(
        Interaction.kind == InteractionKind.VISIT.value, Interaction.occurred_at >= t0, Interaction.occurred_at < t1,
        Interaction.withdrawn_at.is_(None),
        or_(Lead.deleted_at.is_(None), Lead.merged_into_id.is_not(None))).group_by(Interaction.leader_level)
    if county_id:
        stmt = stmt.where(Interaction.county_id == county_id)
    found = {level: (int(leads), int(visits)) for level, leads, visits in db.session.execute(stmt)}
    return [{"level": level.value, "leads": found.get(level.value, (0, 0))[0],
             "visits": found.get(level.value, (0, 0))[1]} for level in LeaderLevel]


def signed_by_industry(year, county_id: int | None = None) -> list[dict]:
    """The year's signed projects (the signed_projects rule) per top-level industry (产业链): count and investment,
    largest investment first; projects without an industry last, as industry_id None. The counts add up to
    signed_projects.count."""
    start, end, *_ = _year_bounds(clean_year(year))
    own = aliased(Industry)
    top = func.coalesce(own.parent_id, own.id)
    stmt = select(top.label("top"), func.count(Project.id), func.coalesce(func.sum(Project.investment_total), 0))
    stmt = stmt.select_from(Project).outerjoin(own, own.id == Project.industry_id).where(
        Project.deleted_at.is_(None), Project.stage != Stage.DROPPED.value, Project.signed_on >= start,
        Project.signed_on < end).group_by(top)
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    rows = db.session.execute(stmt).all()
    ids = [r.top for r in rows if r.top is not None]
    names = {i.id: i.name for i in db.session.scalars(select(Industry).where(Industry.id.in_(ids)))}
    out = [{"industry_id": r.top, "industry": names.get(r.top, ""), "count": int(r[1]), "investment": _money(r[2])}
           for r in rows]
    return sorted(out, key=lambda r: (r["industry_id"] is None, -r["investment"], -r["count"], r["industry"]))


def recent_signings(limit: int = 8, *, year=None, county_id: int | None = None) -> list[dict]:
    """The latest signed projects (not dropped), newest signing first; with a year, those signed by its end."""
    stmt = select(Project.id, Project.name, Project.signed_on, Project.investment_total, Project.stage,
                  County.name.label("county")).join(County, County.id == Project.county_id).where(
        Project.deleted_at.is_(None), Project.signed_on.is_not(None), Project.stage != Stage.DROPPED.value)
    if year is not None:
        stmt = stmt.where(Project.signed_on < _year_bounds(clean_year(year))[1])
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    rows = db.session.execute(stmt.order_by(Project.signed_on.desc(), Project.id.desc()).limit(limit))
    return [{"id": r.id, "name": r.name, "signed_on": r.signed_on, "investment": _money(r.investment_total),
             "stage": r.stage, "county": r.county} for r in rows]


def record_export(actor: User, year: int, county_id: int | None, what: str) -> None:
    """Exports leave a trace (DESIGN.md §4)."""
    require(actor, "report.view")
    audit.record_read(actor, "export", "report", year,
                      summary=f"{what} {year}" + (f" county {county_id}" if county_id else ""))
