"""The annual report against a small hand-built year whose answers are worked out here by hand; the county
filter; targets and ratios; the ranking; chart figures; the leaders' dashboard."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Followup, Industry, Interaction, Lead, Project, User
from crm.services import dashboard, events, projects, reports, targets
from crm.services.errors import InvalidInput
from crm.services.permissions import can
from tests.conftest import county_id

COVERED_ACTIONS = {"report.view"}
NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)
SH = ZoneInfo("Asia/Shanghai")
HANBIN, ZIYANG = "610902", "610924"


@pytest.mark.parametrize("role", ["admin", "city_staff", "county_staff", "viewer"])
def test_report_view_is_open_to_every_active_role(role):
    assert can(User(id=1, role=role, county_id=1, is_active_user=True), "report.view")
    assert not can(User(id=1, role=role, county_id=1, is_active_user=False), "report.view")


def _local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def year(app, make_user):
    """2019 in two counties. Every figure's expected value is derived in the test that reads it."""
    admin = make_user("admin", None)
    hb, zy = county_id(app, HANBIN), county_id(app, ZIYANG)
    with app.test_request_context():
        actor = db.session.get(User, admin.id)
        lead = {}
        for key, kind in [("L1", "enterprise"), ("L2", "enterprise"), ("L3", "enterprise"), ("L4", "enterprise"),
                          ("X", "hometown_entrepreneur")]:
            lead[key] = Lead(name=f"客商{key}", kind=kind, owner_county_id=hb)
        db.session.add_all(lead.values())
        db.session.flush()

        def visit(key, when, level, county, kind="visit", visitors=0):
            db.session.add(Interaction(lead_id=lead[key].id, kind=kind, occurred_at=when, leader_level=level,
                                       county_id=county, visitor_count=visitors, summary="x"))

        visit("L1", _local(2019, 3, 1, 10), "city", hb)
        visit("L1", _local(2019, 4, 1, 10), "county", hb)           # same lead again: counted once
        visit("L2", _local(2019, 5, 1, 10), "none", zy)             # no leader: total only
        visit("L3", _local(2019, 12, 31, 23, 30), "county", zy)     # 15:30 UTC on 31 Dec: still 2019
        visit("L4", _local(2020, 1, 1, 0, 30), "city", hb)          # 2019 in UTC, 2020 in Ankang: excluded
        visit("L4", _local(2019, 6, 1, 10), "city", hb, kind="revisit")  # not a 叩门 visit
        visit("L1", _local(2019, 7, 1, 10), "city", hb, kind="reception", visitors=12)
        visit("L2", _local(2019, 8, 1, 10), "none", zy, kind="reception", visitors=5)
        visit("L3", _local(2018, 12, 31, 10), "none", hb, kind="reception", visitors=40)  # 2018
        db.session.commit()
        ids = {k: v.id for k, v in lead.items()}

        e1 = events.create_event(actor, {"name": "雄安推介会", "held_on": "2019-03-19", "city": "雄安"}, now=NOW).id
        e2 = events.create_event(actor, {"name": "太原推介会", "held_on": "2019-10-18", "county_id": zy}, now=NOW).id

        def project(name, county, **data):
            return projects.create_project(actor, {"name": name, "county_id": county, **data}, now=NOW).id

        p = {
            # 续建: its first money (2018-12-31) arrived before the signing the system records
            "P1": project("P1", hb, stage="signed", signed_on="2019-03-19", investment_total="8530", event_id=e1,
                          is_continuing=True),
            "P2": project("P2", hb, stage="started", signed_on="2019-05-12", started_on="2019-08-01",
                          investment_total="119100", is_foreign=True, source_channel="hometown"),
            "P3": project("P3", zy, stage="signed", signed_on="2019-12-31", investment_total="50000",
                          lead_ids=[ids["X"]], event_id=e2),
            "P4": project("P4", zy, stage="signed", signed_on="2019-06-01", investment_total="20000", event_id=e2,
                          source_channel="hometown"),
            "P5": project("P5", hb, stage="started", signed_on="2018-06-01", started_on="2018-09-01",
                          investment_total="30000"),
            "P6": project("P6", zy, stage="signed", signed_on="2020-01-01", investment_total="70000"),
            "P7": project("P7", hb, stage="started", signed_on="2018-12-31", started_on="2019-02-01",
                          investment_total="4000", is_foreign=True),
            "P8": project("P8", hb, stage="negotiating", investment_total="900000", referrer_id=ids["X"]),
        }
        funds = [("P5", "1000.50", "2019-01-01", True, None), ("P2", "2000.25", "2019-12-31", False, "100.5"),
                 ("P4", "300", "2019-07-01", True, None), ("P1", "500", "2018-12-31", True, "7"),
                 ("P3", "700", "2020-01-01", True, None)]
        for key, amount, on, oop, foreign in funds:
            projects.add_funds(actor, p[key], amount, on, oop, foreign, now=NOW)
        projects.change_stage(actor, p["P4"], "dropped", on="2020-02-01", now=NOW)  # after its money arrived
        targets.set_targets(actor, 2019, [
            {"metric": "signed_count", "value": 2}, {"metric": "signed_investment", "value": "200000"},
            {"metric": "funds_in_place", "value": "3000"}, {"metric": "out_of_province_funds", "value": "2601"},
            {"metric": "foreign_enterprises", "value": 2},
            {"county_id": hb, "metric": "signed_count", "value": 4},
            {"county_id": hb, "metric": "funds_in_place", "value": "3000.75"},
            {"county_id": zy, "metric": "signed_count", "value": 1},
        ], now=NOW)
    return {"admin": admin, "hb": hb, "zy": zy, "e1": e1, "e2": e2, **p}


def _report(app, **kw):
    with app.test_request_context():
        return reports.annual_report(2019, **kw)


def test_signed_projects_count_signed_in_the_year_except_dropped(app, year):
    # P1 8530 + P2 119100 + P3 50000 (signed 31 Dec); not P4 (dropped), P7 (31 Dec 2018), P6 (2020), P8 (unsigned)
    s = _report(app)["signed_projects"]
    assert (s["count"], s["investment"]) == (3, Decimal("177630.00"))
    assert (s["count_target"], s["count_ratio"]) == (Decimal("2"), 1.5)
    assert s["investment_target"] == Decimal("200000") and s["investment_ratio"] == pytest.approx(0.88815)


def test_funds_in_place_count_new_and_continuing_projects(app, year):
    # P5 (signed 2018) 1000.50 on 1 Jan + P2 2000.25 on 31 Dec + P4 (dropped later) 300; not 2018/2020 entries
    f = _report(app)["funds_in_place"]
    assert f["total"] == Decimal("3300.75") and f["out_of_province"] == Decimal("1300.50")
    assert f["total_ratio"] == pytest.approx(1.10025) and f["out_of_province_ratio"] == pytest.approx(0.5)


def test_foreign_enterprises_by_year_started_and_capital_by_funds(app, year):
    r = _report(app)
    # P2 (started Aug 2019) and P7 (signed 2018, started Feb 2019) — P5 is not foreign
    assert r["foreign_enterprises"] == {"count": 2, "target": Decimal("2"), "ratio": 1.0}
    # 100.5 万美元 arrived in 2019; P1's 7 arrived in 2018; no target → no ratio
    assert r["foreign_capital"] == {"amount": Decimal("100.50"), "target": None, "ratio": None}


def test_enterprises_visited_are_distinct_leads_split_by_leader_level(app, year):
    # L1 (city- and county-led), L2 (no leader), L3 (county-led, 23:30 on 31 Dec); L4's visit is 2020 locally
    assert _report(app)["enterprises_visited"] == {"total": 3, "city_led": 1, "county_led": 2}


def test_receptions_count_batches_and_visitors(app, year):
    assert _report(app)["receptions"] == {"batches": 2, "visitors": 17}


def test_size_shares_among_signed_projects(app, year):
    shares = _report(app)["size_shares"]
    # ≥1亿: P2, P3; ≥5亿: P2, P3 (50000 is exactly 5亿); ≥10亿: P2 — of 3; investment (119100+50000)/177630
    assert shares["over_100m"] == pytest.approx(2 / 3) and shares["over_500m"] == pytest.approx(2 / 3)
    assert shares["over_1b"] == pytest.approx(1 / 3)
    assert shares["investment_share_over_100m"] == pytest.approx(169100 / 177630)


def test_hometown_projects_by_channel_or_hometown_investor(app, year):
    # P2 by channel, P3 by its investor lead X; P4 is dropped; P8 only has X as referrer and is unsigned
    assert _report(app)["hometown_projects"] == 2


def test_events_of_the_year_with_what_was_signed_there(app, year):
    assert _report(app)["events"] == [
        {"id": year["e1"], "name": "雄安推介会", "held_on": date(2019, 3, 19), "signed_count": 1,
         "signed_investment": Decimal("8530.00")},
        {"id": year["e2"], "name": "太原推介会", "held_on": date(2019, 10, 18), "signed_count": 1,
         "signed_investment": Decimal("50000.00")},  # P4 was dropped
    ]


def test_county_filter_counts_its_projects_and_its_staffs_interactions(app, year):
    r = _report(app, county_id=year["hb"])
    assert r["county_id"] == year["hb"]
    assert (r["signed_projects"]["count"], r["signed_projects"]["investment"]) == (2, Decimal("127630.00"))
    assert r["signed_projects"]["count_ratio"] == 0.5 and r["signed_projects"]["investment_ratio"] is None
    assert r["funds_in_place"]["total"] == Decimal("3000.75") and r["funds_in_place"]["total_ratio"] == 1.0
    assert r["funds_in_place"]["out_of_province"] == Decimal("1000.50")
    assert r["foreign_enterprises"]["count"] == 2 and r["foreign_capital"]["amount"] == Decimal("100.50")
    assert r["enterprises_visited"] == {"total": 1, "city_led": 1, "county_led": 1}
    assert r["receptions"] == {"batches": 1, "visitors": 12}
    assert r["hometown_projects"] == 1
    assert [(e["id"], e["signed_count"]) for e in r["events"]] == [(year["e1"], 1)]
    z = _report(app, county_id=year["zy"])
    assert [(e["id"], e["signed_count"]) for e in z["events"]] == [(year["e2"], 1)]
    assert z["enterprises_visited"] == {"total": 2, "city_led": 0, "county_led": 1}


def test_empty_year_reports_zeros_and_no_ratios(app, year):
    with app.test_request_context():
        r = reports.annual_report(2017)
    assert r["signed_projects"]["count"] == 0 and r["signed_projects"]["count_ratio"] is None
    assert r["size_shares"] == {"over_100m": 0.0, "over_500m": 0.0, "over_1b": 0.0, "investment_share_over_100m": 0.0}
    assert r["events"] == [] and r["funds_in_place"]["total"] == Decimal("0.00")


@pytest.mark.parametrize("bad", ["abc", 1800, None])
def test_annual_report_for_a_bad_year_is_refused(app, bad):
    with app.test_request_context(), pytest.raises(InvalidInput):
        reports.annual_report(bad)


def test_county_ranking_scores_capped_weighted_ratios(app, year):
    weights = {"signed_count": 10, "funds_in_place": 30}
    with app.test_request_context():
        rows = reports.county_ranking(2019, weights, cap=1.2)
    by_id = {row["county_id"]: row for row in rows}
    # 汉滨: signed 2 of 4 → 0.5×10 + funds 3000.75 of 3000.75 → 1×30 = 35; 紫阳: P3 1 of 1 → 1×10 = 10
    assert by_id[year["hb"]]["score"] == pytest.approx(35.0) and by_id[year["zy"]]["score"] == pytest.approx(10.0)
    assert rows[0]["county_id"] == year["hb"] and rows[0]["rank"] == 1 and by_id[year["zy"]]["rank"] == 2
    assert by_id[year["zy"]]["metrics"]["signed_count"] == {"actual": 1, "target": Decimal("1"), "ratio": 1.0}
    others = [row for row in rows if row["county_id"] not in (year["hb"], year["zy"])]
    assert others and all(row["score"] == 0 and row["rank"] == 3 for row in others)


def test_county_ranking_caps_an_overshoot(app, year):
    with app.test_request_context():
        targets.set_targets(db.session.get(User, year["admin"].id), 2019,
                            [{"county_id": year["hb"], "metric": "signed_count", "value": 1}], now=NOW)
        rows = {row["county_id"]: row for row in reports.county_ranking(2019, {"signed_count": 10}, cap=1.2)}
    # 汉滨 signed 2 against 1: ratio 2.0, capped to 1.2
    assert rows[year["hb"]]["metrics"]["signed_count"]["ratio"] == 2.0
    assert rows[year["hb"]]["score"] == pytest.approx(12.0)


def test_county_ranking_uses_configured_weights_and_cap(app, year):
    app.config["REPORT_RANKING_WEIGHTS"] = {"signed_count": 100}
    app.config["REPORT_RANKING_CAP"] = 1.0
    with app.test_request_context():
        targets.set_targets(db.session.get(User, year["admin"].id), 2019,
                            [{"county_id": year["zy"], "metric": "signed_count", "value": 0}], now=NOW)
        rows = {row["county_id"]: row for row in reports.county_ranking(2019)}
    # 紫阳's target 0 means no target: no ratio, no score; 汉滨 0.5 × 100
    assert rows[year["zy"]]["metrics"]["signed_count"]["ratio"] is None and rows[year["zy"]]["score"] == 0
    assert rows[year["hb"]]["score"] == pytest.approx(50.0)


def test_pipeline_and_funds_by_month(app, year):
    with app.test_request_context():
        stages = {row["stage"]: (row["count"], row["investment"]) for row in reports.pipeline()}
        months = reports.funds_by_month(2019)
        hb_months = reports.funds_by_month(2019, year["hb"])
    assert stages["signed"] == (3, Decimal("128530.00"))  # P1, P3, P6
    assert stages["started"] == (3, Decimal("153100.00")) and stages["dropped"] == (1, Decimal("20000.00"))
    assert stages["negotiating"] == (1, Decimal("900000.00")) and stages["planned"] == (0, Decimal("0.00"))
    assert [m["total"] for m in months] == [Decimal("1000.50"), 0, 0, 0, 0, 0, Decimal("300.00"), 0, 0, 0, 0,
                                            Decimal("2000.25")]
    assert months[0]["out_of_province"] == Decimal("1000.50") and hb_months[6]["total"] == 0


def _lead(name: str) -> Lead:
    return db.session.scalars(select(Lead).where(Lead.name == name)).one()


def test_visits_by_leader_level_count_distinct_leads_and_visits(app, year):
    with app.test_request_context():
        l1, l2 = _lead("客商L1"), _lead("客商L2")
        merged = Lead(name="客商M", kind="enterprise", owner_county_id=year["zy"], merged_into_id=l2.id,
                      deleted_at=NOW)
        db.session.add(merged)
        db.session.flush()
        for lead, when, level in [(l1, _local(2019, 9, 1, 10), "city"),        # L1's second city-led visit
                                  (l2, _local(2019, 9, 2, 10), "department"),
                                  (merged, _local(2019, 9, 3, 10), "department")]:  # merged into L2: still L2
            db.session.add(Interaction(lead_id=lead.id, kind="visit", occurred_at=when, leader_level=level,
                                       county_id=year["zy"], summary="x"))
        db.session.commit()
        rows = reports.visits_by_leader_level(2019)
        levels = {r["level"]: (r["leads"], r["visits"]) for r in rows}
        hb = {r["level"]: (r["leads"], r["visits"]) for r in reports.visits_by_leader_level(2019, year["hb"])}
        visited = reports.annual_report(2019)["enterprises_visited"]
    # city: L1 twice; county: L1 and L3 (23:30 on 31 Dec); department: L2 and its merged twin; none: L2.
    # L4's visit at 00:30 on 1 Jan 2020 (Asia/Shanghai) and its revisit are not 2019 visits.
    assert levels == {"city": (1, 2), "county": (2, 2), "department": (1, 2), "none": (1, 1)}
    assert [r["level"] for r in rows] == ["city", "county", "department", "none"]
    # the figure agrees with the chart: city_led / county_led are the chart's leads; a lead under two levels
    # (L1, L2) counts once in the total
    assert (visited["city_led"], visited["county_led"], visited["total"]) == (1, 2, 3)
    assert hb == {"city": (1, 1), "county": (1, 1), "department": (0, 0), "none": (0, 0)}


def test_visits_by_leader_level_of_an_empty_year_are_zeros(app, year):
    with app.test_request_context():
        rows = reports.visits_by_leader_level(2017)
    assert rows == [{"level": lv, "leads": 0, "visits": 0} for lv in ("city", "county", "department", "none")]


def _industry(code: str) -> int:
    return db.session.scalars(select(Industry.id).where(Industry.code == code)).one()


def test_signed_by_industry_rolls_up_to_top_level_industries(app, year):
    with app.test_request_context():
        for key, code in [("P1", "selenium_tea"), ("P2", "selenium_food"), ("P4", "bio_pharma"),
                          ("P6", "equipment"), ("P7", "auto_parts")]:
            db.session.get(Project, year[key]).industry_id = _industry(code)
        db.session.commit()
        rows = reports.signed_by_industry(2019)
        zy = reports.signed_by_industry(2019, year["zy"])
        signed = reports.annual_report(2019)["signed_projects"]
    # 富硒食品: P1 (富硒茶, a sub-industry) + P2 (the chain itself); P3 has no industry and comes last;
    # P4 (dropped), P6 (2020) and P7 (signed 31 Dec 2018) are not 2019 signings
    assert [(r["industry"], r["count"], r["investment"]) for r in rows] == [
        ("富硒食品", 2, Decimal("127630.00")), ("", 1, Decimal("50000.00"))]
    assert rows[-1]["industry_id"] is None
    assert sum(r["count"] for r in rows) == signed["count"]
    assert sum(r["investment"] for r in rows) == signed["investment"]
    assert [(r["industry_id"], r["count"]) for r in zy] == [(None, 1)]


def test_recent_signings_newest_first_without_dropped_or_later_years(app, year):
    with app.test_request_context():
        names = [r["name"] for r in reports.recent_signings(10, year=2019)]
        hb = [r["name"] for r in reports.recent_signings(2, county_id=year["hb"])]
    assert names == ["P3", "P2", "P1", "P7", "P5"]  # not P4 (dropped), P6 (2020) nor P8 (unsigned)
    assert hb == ["P2", "P1"]


def _followup(lead_id, county, due, status="open"):
    db.session.add(Followup(lead_id=lead_id, title="回访", due_at=due, county_id=county, status=status))


def test_leaders_dashboard_puts_the_years_figures_beside_targets(app, year, make_user):
    viewer, county_viewer = make_user("viewer", None), make_user("viewer", None, county_id=year["zy"])
    with app.test_request_context():
        lead = _lead("客商L1").id
        _followup(lead, year["hb"], datetime(2020, 5, 1, tzinfo=UTC))
        _followup(lead, year["hb"], datetime(2020, 5, 30, tzinfo=UTC))
        _followup(lead, year["zy"], datetime(2020, 7, 1, tzinfo=UTC))                # not yet due
        _followup(lead, year["zy"], datetime(2020, 5, 1, tzinfo=UTC), status="done")  # done late: not overdue
        db.session.commit()
        board = dashboard.leaders_dashboard(db.session.get(User, viewer.id), 2019, now=NOW)
        county_board = dashboard.leaders_dashboard(db.session.get(User, county_viewer.id), 2019, now=NOW)
    figures = {f["metric"]: (f["actual"], f["target"], f["ratio"]) for f in board["figures"]}
    assert figures["signed_count"] == (3, Decimal("2"), 1.5)
    assert figures["signed_investment"][0] == Decimal("177630.00")
    assert figures["funds_in_place"] == (Decimal("3300.75"), Decimal("3000"), pytest.approx(1.10025))
    assert figures["out_of_province_funds"][0] == Decimal("1300.50")
    assert figures["foreign_enterprises"] == (2, Decimal("2"), 1.0)
    assert figures["foreign_capital"] == (Decimal("100.50"), None, None)
    assert [f["metric"] for f in board["figures"]] == list(targets.METRICS)
    # default weights: 汉滨 signed 2/4 × 15 + funds 1 × 25 = 32.5; 紫阳 1/1 × 15 = 15
    assert len(board["ranking"]) == 5 and board["ranking"][0]["county_id"] == year["hb"]
    assert board["ranking"][0]["score"] == pytest.approx(32.5) and board["ranking"][1]["county_id"] == year["zy"]
    assert board["overdue"] == [{"county_id": year["hb"], "county": "汉滨区", "overdue": 2, "open": 2}]
    assert [r["name"] for r in board["recent"]] == ["P3", "P2", "P1", "P7", "P5"]
    assert board["year"] == 2019 and board["this_year"] == 2020
    assert county_board["overdue"] is None  # a county leader has no city-wide follow-up overview
    assert county_board["figures"] == board["figures"]


def test_dashboard_year_is_the_year_in_ankang(app):
    assert dashboard.current_year(datetime(2019, 12, 31, 16, 30, tzinfo=UTC)) == 2020
    assert dashboard.current_year(datetime(2019, 12, 31, 15, 59, tzinfo=UTC)) == 2019


@pytest.mark.parametrize("configured, expected", [
    ('{"signed_count": 40, "funds_in_place": 60}', {"signed_count": 40.0, "funds_in_place": 60.0}),  # from CRM_…
    ({"signed_count": 40, "nonsense": 5, "funds_in_place": -1}, {"signed_count": 40.0}),
    ("not json", reports.DEFAULT_WEIGHTS), ({}, reports.DEFAULT_WEIGHTS), (None, reports.DEFAULT_WEIGHTS),
])
def test_ranking_weights_from_config_ignore_unusable_entries(app, configured, expected):
    app.config["REPORT_RANKING_WEIGHTS"] = configured
    app.config["REPORT_RANKING_CAP"] = "1.5"
    with app.app_context():
        assert reports.ranking_weights() == expected and reports.ranking_cap() == 1.5
        app.config["REPORT_RANKING_CAP"] = "lots"
        assert reports.ranking_cap() == reports.DEFAULT_RATIO_CAP
