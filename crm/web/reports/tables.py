"""The annual report's tables as (title, headers, rows) for the XLSX export (money in 万元, exact), and the
figures behind its charts."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.services import reports
from crm.services.targets import METRICS
from crm.web.projects.labels import METRIC_LABELS, STAGE_LABELS

TABLES = {"figures": _l("Annual figures"), "ranking": _l("County ranking"), "events": _l("Events"),
          "visits": _l("Visits by leader level"), "industries": _l("Signed projects by industry")}
LEVEL_LABELS = {"city": _l("Led by city leaders"), "county": _l("Led by county leaders"),
                "department": _l("Led by a department head"), "none": _l("No leader")}


def _pct(ratio):
    return None if ratio is None else round(ratio * 100, 2)


def figure_headers() -> list[str]:
    return [_("Figure"), _("Actual"), _("Target"), _("Completion %"), _("Awaiting verification (not counted)")]


def figure_rows(r: dict) -> list[list]:
    """The figures table; the fifth column (认定) is what waits for verification beside the counted figure."""
    s, f = r["signed_projects"], r["funds_in_place"]
    fe, fc, v, rc, sh = (r["foreign_enterprises"], r["foreign_capital"], r["enterprises_visited"], r["receptions"],
                         r["size_shares"])
    p = r.get("pending") or {}
    ps, pf, pc = p.get("signed_projects", {}), p.get("funds_in_place", {}), p.get("foreign_capital", {})
    return [
        [_("New signed projects"), s["count"], s["count_target"], _pct(s["count_ratio"]), ps.get("count")],
        [_("Signed investment (10k yuan)"), s["investment"], s["investment_target"], _pct(s["investment_ratio"]),
         ps.get("investment")],
        [_("Funds in place (10k yuan)"), f["total"], f["total_target"], _pct(f["total_ratio"]), pf.get("total")],
        [_("Of which out of province (10k yuan)"), f["out_of_province"], f["out_of_province_target"],
         _pct(f["out_of_province_ratio"]), pf.get("out_of_province")],
        [_("New foreign-invested enterprises"), fe["count"], fe["target"], _pct(fe["ratio"]), None],
        [_("Foreign capital used (10k USD)"), fc["amount"], fc["target"], _pct(fc["ratio"]), pc.get("amount")],
        [_("Enterprises visited"), v["total"], None, None, None],
        [_("Led by city leaders"), v["city_led"], None, None, None],
        [_("Led by county leaders"), v["county_led"], None, None, None],
        [_("Receptions (batches)"), rc["batches"], None, None, None],
        [_("Visitors received (person-times)"), rc["visitors"], None, None, None],
        [_("Share of projects ≥ 100M yuan (%)"), _pct(sh["over_100m"]), None, None, None],
        [_("Share of projects ≥ 500M yuan (%)"), _pct(sh["over_500m"]), None, None, None],
        [_("Share of projects ≥ 1bn yuan (%)"), _pct(sh["over_1b"]), None, None, None],
        [_("Investment share of projects ≥ 100M yuan (%)"), _pct(sh["investment_share_over_100m"]), None, None,
         None],
        [_("Hometown-entrepreneur projects"), r["hometown_projects"], None, None, None],
    ]


def ranking_headers() -> list[str]:
    return [_("Rank"), _("County"), _("Score")] + [str(METRIC_LABELS[m]) for m in METRICS] + [
        f"{METRIC_LABELS[m]} {_('Completion %')}" for m in METRICS]


def ranking_rows(rows: list[dict]) -> list[list]:
    return [[row["rank"], row["county"], row["score"]] + [row["metrics"][m]["actual"] for m in METRICS]
            + [_pct(row["metrics"][m]["ratio"]) for m in METRICS] for row in rows]


def report_tables(name: str, year: int, county_id: int | None) -> tuple[str, list[str], list[list]]:
    if name == "ranking":
        return str(TABLES[name]), ranking_headers(), ranking_rows(reports.county_ranking(year))
    if name == "visits":
        return str(TABLES[name]), [_("Led by"), _("Enterprises visited"), _("Visits made")], [
            [str(LEVEL_LABELS[r["level"]]), r["leads"], r["visits"]]
            for r in reports.visits_by_leader_level(year, county_id)]
    if name == "industries":
        return str(TABLES[name]), [_("Industry"), _("Projects signed"), _("Investment (10k yuan)")], [
            [r["industry"] or _("Industry not given"), r["count"], r["investment"]]
            for r in reports.signed_by_industry(year, county_id)]
    report = reports.annual_report(year, county_id)
    if name == "events":
        return str(TABLES[name]), [_("Held on"), _("Event"), _("Projects signed"), _("Investment (10k yuan)")], [
            [e["held_on"], e["name"], e["signed_count"], e["signed_investment"]] for e in report["events"]]
    return str(TABLES[name]), figure_headers(), figure_rows(report)


def chart_data(year: int, county_id: int | None) -> dict:
    """The figures behind the annual page's charts, as plain numbers for ECharts (万元; the page shows 亿元)."""
    return {
        "stages": [{"name": str(STAGE_LABELS[r["stage"]]), "count": r["count"], "investment": float(r["investment"])}
                   for r in reports.pipeline(county_id)],
        "months": [{"month": r["month"], "total": float(r["total"]), "oop": float(r["out_of_province"])}
                   for r in reports.funds_by_month(year, county_id)],
        "counties": [{"name": r["county"], "count": r["count"], "investment": float(r["investment"])}
                     for r in reports.signed_by_county(year)],
        "levels": [{"name": str(LEVEL_LABELS[r["level"]]), "leads": r["leads"], "visits": r["visits"]}
                   for r in reports.visits_by_leader_level(year, county_id)],
        "industries": [{"name": r["industry"] or _("Industry not given"), "count": r["count"],
                        "investment": float(r["investment"])} for r in reports.signed_by_industry(year, county_id)],
    }
