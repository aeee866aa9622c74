"""The leaders' dashboard (the start page of viewers and city staff): the year against target at a glance, put
together from the annual report's figures (crm.services.reports) and the follow-up overview; no figure of its own."""
from __future__ import annotations

from datetime import datetime

from crm.models import User
from crm.services import followups, landing_warnings, project_health, reports, verification_queue
from crm.services.permissions import can, require
from crm.services.targets import clean_year

RANKING_TOP = 5
RECENT_SIGNINGS = 8


def current_year(now: datetime) -> int:
    return now.astimezone(reports.TZ).year


def overdue_by_county(actor: User, now: datetime) -> list[dict] | None:
    """Counties with open follow-ups past due, most first; None for an actor without the city-wide overview."""
    if not can(actor, "followup.overview"):
        return None
    rows = [row for row in followups.city_overview(actor, now) if row["overdue"]]
    rows.sort(key=lambda row: (-row["overdue"], row["county"].sort_order, row["county"].id))
    return [{"county_id": row["county"].id, "county": row["county"].name, "overdue": row["overdue"],
             "open": row["open"]} for row in rows]


def leaders_dashboard(actor: User, year, *, now: datetime) -> dict:
    """The whole city's figures of a year (signed, funds, out-of-province, foreign enterprises and capital, each
    with target and ratio), the pipeline now, the ranking's top five, overdue follow-ups by county and the latest
    signings."""
    require(actor, "report.view")
    year = clean_year(year)
    report = reports.annual_report(year)
    s, f = report["signed_projects"], report["funds_in_place"]
    fe, fc = report["foreign_enterprises"], report["foreign_capital"]
    figures = [
        {"metric": "signed_count", "actual": s["count"], "target": s["count_target"], "ratio": s["count_ratio"]},
        {"metric": "signed_investment", "actual": s["investment"], "target": s["investment_target"],
         "ratio": s["investment_ratio"]},
        {"metric": "funds_in_place", "actual": f["total"], "target": f["total_target"], "ratio": f["total_ratio"]},
        {"metric": "out_of_province_funds", "actual": f["out_of_province"], "target": f["out_of_province_target"],
         "ratio": f["out_of_province_ratio"]},
        {"metric": "foreign_enterprises", "actual": fe["count"], "target": fe["target"], "ratio": fe["ratio"]},
        {"metric": "foreign_capital", "actual": fc["amount"], "target": fc["target"], "ratio": fc["ratio"]},
    ]
    return {"year": year, "this_year": current_year(now), "figures": figures, "pipeline": reports.pipeline(),
            "ranking": reports.county_ranking(year)[:RANKING_TOP], "overdue": overdue_by_county(actor, now),
            "recent": reports.recent_signings(RECENT_SIGNINGS, year=year),
            "health": project_health.colour_counts(now), "landing": landing_warnings.counts(now),
            "verification": {"pending": report["pending"], "queue": verification_queue.pending_counts()}}
