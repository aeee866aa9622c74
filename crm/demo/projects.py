"""The small demo city's events (推介会), projects in every stage with their history and funds in place
(到位资金), and this year's targets, so the reports show completion ratios."""
from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import insert

from crm.demo import names
from crm.demo.activity import CITY_LEADERS, log_interaction
from crm.demo.context import Demo
from crm.extensions import db
from crm.models import (
    Event,
    FundsArrival,
    InteractionKind,
    Lead,
    LeaderLevel,
    LeadKind,
    LeadStatus,
    Project,
    SourceChannel,
    Stage,
    StageChange,
    Target,
    event_leads,
)
from crm.services.funds import usd_cny_rate

# (name, city, days ago; negative = still to come, leaders)
EVENTS = [
    ("安康市重点合作项目推介会（深圳）", "深圳", 420, "周市长、王常务副市长"),
    ("陕西安康富硒食品北京推介会", "北京", 350, "王常务副市长"),
    ("丝博会·安康市营商环境和重点合作项目推介会", "西安", 200, "周市长、杨副市长"),
    ("安康名优特色产品走进江苏（苏州）暨重点合作项目推介会", "苏州", 75, "周市长"),
    ("安康毛绒玩具产业链专题推介会（东莞）", "东莞", -20, "杨副市长"),
]
STAGE_COUNTS = {Stage.PLANNED: 18, Stage.NEGOTIATING: 26, Stage.SIGNED: 24, Stage.STARTED: 24,
                Stage.OPERATING: 16, Stage.DROPPED: 12}
# Investment (万元) bands in the shares the bureau reports: 46% ≥ 1亿, 8% ≥ 5亿, 3% ≥ 10亿.
BANDS = [(0.033, 100_000, 300_000, 1000), (0.05, 50_000, 99_000, 500), (0.375, 10_000, 49_500, 500),
         (1.0, 500, 9_800, 100)]
LEAD_STATUS_OF = {Stage.PLANNED: LeadStatus.ENGAGED, Stage.NEGOTIATING: LeadStatus.INTERESTED,
                  Stage.SIGNED: LeadStatus.SIGNED, Stage.STARTED: LeadStatus.SIGNED, Stage.OPERATING: LeadStatus.SIGNED,
                  Stage.DROPPED: LeadStatus.DROPPED}
METRICS = ("signed_count", "signed_investment", "funds_in_place", "out_of_province_funds", "foreign_enterprises",
           "foreign_capital")
CENT = Decimal("0.01")


def build_events(demo: Demo) -> dict:
    rng = demo.rng
    made = links = 0
    for name, city, days_ago, leaders in EVENTS:
        event = Event(name=name, held_on=demo.on(-days_ago), city=city, leaders=leaders,
                      created_by_id=demo.users["city"].id, county_id=demo.city.id,
                      notes="现场签约重点合作项目，发布安康招商项目册。")
        db.session.add(event)
        db.session.flush()
        demo.events.append(event)
        made += 1
        local = [lead for lead in demo.leads if lead.origin_region == city]
        others = [lead for lead in demo.leads if lead.origin_region != city]
        invited = rng.sample(local, k=min(len(local), 12)) + rng.sample(others, k=6)
        rows = []
        for lead in invited:
            attended = days_ago > 0 and rng.random() < 0.8
            rows.append({"event_id": event.id, "lead_id": lead.id, "attended": attended})
            if attended and lead.created_at.date() <= event.held_on:
                log_interaction(demo, lead, InteractionKind.EVENT, demo.at(-days_ago, 14), demo.users["city"],
                                location=city, leader_level=LeaderLevel.CITY, leader_name=leaders.split("、")[0],
                                summary=f"出席{name}，与企业代表交流", visitor_count=rng.randint(1, 4))
        db.session.execute(insert(event_leads), rows)
        links += len(rows)
    return {"events": made, "event_leads": links}


def _amount(rng: random.Random, band: int) -> Decimal:
    _share, low, high, step = BANDS[band]
    return Decimal(rng.randrange(low, high + 1, step))


def _bands(rng: random.Random, count: int) -> list[int]:
    """Exactly the reported shares of big projects, in a shuffled order."""
    out, taken = [], 0
    for i, (share, *_rest) in enumerate(BANDS):
        n = count - taken if i == len(BANDS) - 1 else round(count * share)
        out += [i] * n
        taken += n
    rng.shuffle(out)
    return out


def _signed_day(demo: Demo, *, this_year: bool, at_least: int) -> int:
    """Days from today (negative) of a signing at least `at_least` days ago, this year or before."""
    elapsed = (demo.today - date(demo.today.year, 1, 1)).days
    pick = demo.rng.randint(at_least, max(at_least, 540))
    if this_year and elapsed >= at_least:
        pick = demo.rng.randint(at_least, elapsed)
    elif pick <= elapsed:
        pick = elapsed + 1 + pick % 200
    return -pick


def _path(demo: Demo, stage: str, event_day: int | None) -> list[tuple[str, int]]:
    """The stages a project went through and the day (offset from today) of each."""
    rng = demo.rng
    if stage == Stage.PLANNED:
        return [(Stage.PLANNED, -rng.randint(5, 200))]
    if stage in (Stage.NEGOTIATING, Stage.DROPPED):
        created = -rng.randint(150 if stage == Stage.DROPPED else 60, 500)
        talks = created + rng.randint(10, 45)
        path = [(Stage.PLANNED, created), (Stage.NEGOTIATING, talks)]
        if stage == Stage.DROPPED:
            path.append((Stage.DROPPED, min(talks + rng.randint(30, 200), -1)))
        return path
    at_least = {Stage.SIGNED: 1, Stage.STARTED: 45, Stage.OPERATING: 200}[stage]
    signed = event_day if event_day is not None else _signed_day(
        demo, this_year=rng.random() < {Stage.SIGNED: 0.6, Stage.STARTED: 0.4, Stage.OPERATING: 0.2}[stage],
        at_least=at_least)
    created = signed - rng.randint(60, 240)
    path = [(Stage.PLANNED, created), (Stage.NEGOTIATING, (created + signed) // 2), (Stage.SIGNED, signed)]
    if stage in (Stage.STARTED, Stage.OPERATING):
        started = min(signed + rng.randint(20, 120), -1)
        path.append((Stage.STARTED, started))
        if stage == Stage.OPERATING:
            path.append((Stage.OPERATING, min(started + rng.randint(60, 240), -1)))
    return path


def _funds(demo: Demo, project: Project, lead: Lead, path: dict) -> list[FundsArrival]:
    """Money in place after the signing (mostly after the start), within this and last year; rounded down, so
    the arrivals stay within the investment and the foreign part within each arrival (crm.services.funds)."""
    rng = demo.rng
    share = {Stage.SIGNED: (0.05, 0.2), Stage.STARTED: (0.2, 0.7), Stage.OPERATING: (0.6, 1.0)}[project.stage]
    total = project.investment_total * Decimal(str(round(rng.uniform(*share), 3)))
    first = max(path[Stage.SIGNED] + 1, (date(demo.today.year - 1, 1, 1) - demo.today).days)
    if first > -1:
        return []
    count = rng.randint(1, 4) if project.stage != Stage.SIGNED else 1
    days = sorted(rng.randint(first, -1) for _ in range(count))
    local = lead.origin_region in ("西安", "安康")
    out = []
    for i, day in enumerate(days, start=1):
        amount = (total / count).quantize(CENT, rounding=ROUND_DOWN)
        out.append(FundsArrival(
            amount=amount, arrived_on=demo.on(day), out_of_province=not local and rng.random() < 0.92,
            foreign_amount=(amount / usd_cny_rate()).quantize(CENT, rounding=ROUND_DOWN) if project.is_foreign
            else None,
            note=f"第{i}笔到位资金", created_by_id=project.manager_id, created_at=demo.at(day, 16)))
    return out


def _project_lead_candidates(demo: Demo, rng: random.Random) -> list[Lead]:
    return [lead for lead in demo.leads if lead.kind in (LeadKind.ENTERPRISE, LeadKind.FOREIGN_INVESTOR)
            or (lead.kind == LeadKind.HOMETOWN_ENTREPRENEUR and rng.random() < 0.5)]


def build_projects(demo: Demo) -> dict:
    rng = demo.rng
    pick = demo.stream("project-names")  # who, what and how much: the same whatever day it is seeded
    stages = [stage for stage, n in STAGE_COUNTS.items() for _ in range(n)]
    pick.shuffle(stages)
    bands = _bands(pick, len(stages))
    leads = pick.sample(_project_lead_candidates(demo, pick), k=len(stages))
    details = []  # (county, name, investment) of each project
    for lead, band in zip(leads, bands, strict=True):
        county = demo.county(lead.owner_county_id)
        if lead.kind == LeadKind.HOMETOWN_ENTREPRENEUR and lead.home_county_id:
            county = demo.county(lead.home_county_id)
        if county is demo.city:  # the bureau's own leads land in a county
            county = pick.choice(demo.real_counties)
        industry_code = next((code for code, ind in demo.industries.items() if ind.id == lead.industry_id), None)
        trade = demo.trades.get(lead) or county.name[:2]
        details.append((county, names.project_name(pick, trade, industry_code), _amount(pick, band)))
    past_events = [e for e in demo.events if e.held_on < demo.today]
    counts = {"projects": 0, "stage_changes": 0, "funds": 0}
    contacts = []  # (lead, kind, when, by, fields) of signings and site meetings, logged after the flush
    for stage, lead, (county, name, amount) in zip(stages, leads, details, strict=True):
        event = None
        if stage in (Stage.SIGNED, Stage.STARTED, Stage.OPERATING) and past_events and rng.random() < 0.25:
            event = rng.choice(past_events)
            if (demo.today - event.held_on).days < {Stage.SIGNED: 1, Stage.STARTED: 45, Stage.OPERATING: 200}[stage]:
                event = None
        path = dict(_path(demo, stage, (event.held_on - demo.today).days if event else None))
        manager = rng.choice(demo.staff_of(county))
        created = demo.at(path[Stage.PLANNED], 9)
        project = Project(
            name=name, industry_id=lead.industry_id, county_id=county.id,
            stage=stage, investment_total=amount, is_foreign=lead.kind == LeadKind.FOREIGN_INVESTOR,
            source_channel=SourceChannel.EVENT if event else lead.source_channel, referrer_id=lead.referrer_id,
            event_id=event.id if event else None, manager_id=manager.id, created_by_id=manager.id,
            signed_on=demo.on(path[Stage.SIGNED]) if Stage.SIGNED in path else None,
            started_on=demo.on(path[Stage.STARTED]) if Stage.STARTED in path else None,
            planned_start_on=demo.on(path.get(Stage.SIGNED, 0) + rng.randint(30, 150)),
            created_at=created, updated_at=demo.at(max(path.values()), 17),
            notes="项目协议已签订，正在办理用地手续。" if stage == Stage.SIGNED else None)
        referrer = next((r for r in demo.leads if r.id == lead.referrer_id), None) if lead.referrer_id else None
        project.leads = [lead] + ([referrer] if referrer is not None and rng.random() < 0.3 else [])
        db.session.add(project)
        demo.projects.append(project)
        previous = None
        for step, day in path.items():
            project.stage_changes.append(StageChange(from_stage=previous, to_stage=step, changed_on=demo.on(day),
                                                     actor_id=manager.id, at=demo.at(day, 17)))
            previous = step
            counts["stage_changes"] += 1
        if LEAD_STATUS_OF[stage] != LeadStatus.ENGAGED or lead.status in (LeadStatus.NEW, LeadStatus.DORMANT,
                                                                          LeadStatus.DROPPED):
            lead.status = LEAD_STATUS_OF[stage]
        if Stage.SIGNED in path:
            big = project.investment_total >= 10_000
            contacts.append((lead, InteractionKind.SIGNING, demo.at(path[Stage.SIGNED], 15), manager, dict(
                project=project, location=event.city if event else "安康",
                leader_level=LeaderLevel.CITY if big else LeaderLevel.COUNTY,
                leader_name=rng.choice(CITY_LEADERS) if big else rng.choice("刘陈张李") + "县长",
                visitor_count=rng.randint(3, 12), summary=f"{project.name}签约，总投资{project.investment_total}万元")))
        if Stage.STARTED in path:
            contacts.append((lead, InteractionKind.MEETING, demo.at(path[Stage.STARTED], 10), manager, dict(
                project=project, location=county.name, visitor_count=rng.randint(4, 15),
                summary="项目开工现场调度会，协调用电、道路和用工")))
        if stage in (Stage.SIGNED, Stage.STARTED, Stage.OPERATING) and (stage != Stage.SIGNED or rng.random() < 0.35):
            for arrival in _funds(demo, project, lead, path):
                project.funds.append(arrival)
                counts["funds"] += 1
        counts["projects"] += 1
    db.session.flush()  # once for all projects: the interactions below need their ids
    for lead, kind, when, by, fields in contacts:
        log_interaction(demo, lead, kind, when, by, **fields)
    counts["interactions"] = len(contacts)
    return counts


def _actuals(demo: Demo) -> dict[int, dict[str, Decimal]]:
    """This year's results per county, as the reports count them."""
    year = demo.today.year
    out: dict[int, dict[str, Decimal]] = {}
    for project in demo.projects:
        row = out.setdefault(project.county_id, {m: Decimal(0) for m in METRICS})
        if project.signed_on and project.signed_on.year == year and project.stage != Stage.DROPPED:
            row["signed_count"] += 1
            row["signed_investment"] += project.investment_total
            row["foreign_enterprises"] += 1 if project.is_foreign else 0
        for arrival in project.funds:
            if arrival.arrived_on.year == year:
                row["funds_in_place"] += arrival.amount
                row["out_of_province_funds"] += arrival.amount if arrival.out_of_province else 0
                row["foreign_capital"] += arrival.foreign_amount or 0
    return out


MINIMUM = {"signed_count": 4, "signed_investment": 60_000, "funds_in_place": 40_000,
           "out_of_province_funds": 35_000, "foreign_enterprises": 1, "foreign_capital": 200}
ROUND_TO = {"signed_count": 1, "signed_investment": 1000, "funds_in_place": 1000, "out_of_province_funds": 1000,
            "foreign_enterprises": 1, "foreign_capital": 10}


def build_targets(demo: Demo) -> dict:
    """Targets set so this year's completion sits between about 40% and 120% per county."""
    rng = demo.rng
    actuals = _actuals(demo)
    city_total = {m: Decimal(0) for m in METRICS}
    made = 0
    for county in demo.real_counties:
        actual = actuals.get(county.id, {})
        for metric in METRICS:
            raw = max(Decimal(actual.get(metric, 0)) / Decimal(str(round(rng.uniform(0.4, 1.2), 2))),
                      Decimal(MINIMUM[metric]))
            step = ROUND_TO[metric]
            value = (raw / step).to_integral_value() * step
            db.session.add(Target(year=demo.today.year, county_id=county.id, county_key=county.id, metric=metric,
                                  value=value))
            city_total[metric] += value
            made += 1
    for metric in METRICS:
        db.session.add(Target(year=demo.today.year, county_id=None, county_key=0, metric=metric,
                              value=city_total[metric]))
        made += 1
    return {"targets": made}
