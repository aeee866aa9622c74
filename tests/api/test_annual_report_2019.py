"""Acceptance test of issue 7: a dataset shaped like the source document's 2019, loaded through the API, makes
the annual report (GET /api/v1/reports/annual) show the document's figures — counts exact, money to 0.01亿
(100 万元), ratios to 0.01%.

The source document (/work/shared/domain/000_c6b11eab57cf676c.txt): 458 contracted projects, 807.87亿 signed
investment; funds in place 776.78亿, of which out-of-province 758.67亿 = 100.48% of target; 9 new
foreign-invested enterprises = 112.5%; 4,830万美元 foreign capital = 120.75%; 856 enterprises visited, 202 led
by city leaders and 654 by county leaders; 693 reception batches, 13,000 人次; 46% / 8% / 3% of the signed
projects at ≥ 1亿 / 5亿 / 10亿; 88 return-home (返乡创业) projects.

Targets are derived from the ratios: out-of-province funds 755.04亿 (758.67 ÷ 755.04 = 100.48%), 8 foreign
enterprises, 4,000万美元 foreign capital. Every record is made through the HTTP API (about 2,900 requests), so
the whole load lives in one test function (the fixtures are function-scoped). A little noise outside 2019 (and a
dropped project) checks that the report keeps to the year.

认定 (issue 15): the figures count verified signings and funds only. Until a city verifier (not the staff member
who entered the data) has checked each record's evidence, the report shows 0 and the whole year as pending; once
every record carries its contract or bank slip and is verified, the document's figures come back exactly.
"""
from __future__ import annotations

import io
from decimal import Decimal

import pytest

from tests.conftest import county_id

YEAR = 2019
SIGNED_COUNT = 458
SIGNED_INVESTMENT = Decimal("8078700.00")  # 807.87亿 in 万元
FUNDS_TOTAL = Decimal("7767800.00")  # 776.78亿
FUNDS_OUT_OF_PROVINCE = Decimal("7586700.00")  # 758.67亿
OUT_OF_PROVINCE_TARGET = Decimal("7550400")  # 755.04亿
FOREIGN_ENTERPRISES, FOREIGN_ENTERPRISES_TARGET = 9, 8
FOREIGN_CAPITAL, FOREIGN_CAPITAL_TARGET = Decimal("4830.00"), Decimal("4000")  # 万美元
VISITED, CITY_LED, COUNTY_LED = 856, 202, 654
RECEPTIONS, VISITORS = 693, 13_000
N_100M, N_500M, N_1B = 211, 37, 14  # 46.07% / 8.08% / 3.06% of 458
HOMETOWN = 88
COUNTIES = ["610902", "610921", "610924", "610925", "610929"]
# Two-character prefixes that differ from lead to lead, so no lead looks like a duplicate of another.
_CHARS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水火土风雷泽天星辰云霞松柏梅竹兰菊"
PDF = b"%PDF-1.4\n%%EOF\n"  # the evidence: any PDF, checked by its content
MONEY_TOLERANCE = 100  # 万元 = 0.01亿
RATIO_TOLERANCE = 0.0001  # 0.01%


def _investments() -> list[Decimal]:
    """458 amounts (万元) summing exactly to 807.87亿: 14 at ≥ 10亿, 23 more at ≥ 5亿, 174 more at ≥ 1亿."""
    amounts = ([Decimal("120000.25")] * N_1B + [Decimal("60000.50")] * (N_500M - N_1B)
               + [Decimal("20000.75")] * (N_100M - N_500M) + [Decimal("6229.55")] * (SIGNED_COUNT - N_100M - 1))
    amounts.append(SIGNED_INVESTMENT - sum(amounts))
    assert Decimal(0) < amounts[-1] < Decimal(10_000)
    return amounts


def _ok(response, status=201) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def _lead_name(n: int) -> str:
    return f"{_CHARS[n // len(_CHARS)]}{_CHARS[n % len(_CHARS)]}{n}号实业"


def _at(n: int, year: int = YEAR) -> str:
    """A moment of the year (Asia/Shanghai), spread over the months."""
    return f"{year}-{n % 12 + 1:02d}-{n % 28 + 1:02d}T10:00:00+08:00"


def _day(n: int, year: int = YEAR) -> str:
    return f"{year}-{n % 12 + 1:02d}-{n % 28 + 1:02d}"


@pytest.mark.slow
def test_annual_report_with_source_document_2019_dataset_shows_its_figures(app, api_client):
    app.config["REPORTS_COUNT_VERIFIED_ONLY"] = True
    staff, admin, viewer = api_client("city_staff", None), api_client("admin", None), api_client("viewer", None)
    verifier = api_client("city_staff", None, can_verify=True)
    counties = [county_id(app, code) for code in COUNTIES]

    # --- targets (考核目标) of 2019 for the city ------------------------------------------------------------
    _ok(admin.put(f"/api/v1/targets?year={YEAR}", json=[
        {"metric": "out_of_province_funds", "value": str(OUT_OF_PROVINCE_TARGET)},
        {"metric": "foreign_enterprises", "value": FOREIGN_ENTERPRISES_TARGET},
        {"metric": "foreign_capital", "value": str(FOREIGN_CAPITAL_TARGET)},
    ]), 200)

    # --- 458 projects signed in 2019; 9 foreign ones set up (started) in 2019; 88 brought by 乡贤 -----------
    project_ids = []
    for n, amount in enumerate(_investments()):
        foreign = n % 50 == 7 and len([i for i in range(n) if i % 50 == 7]) < FOREIGN_ENTERPRISES
        body = {"name": f"2019签约项目{n}", "county_id": counties[n % len(counties)], "stage": "signed",
                "investment_total": str(amount), "signed_on": _day(n), "is_foreign": foreign,
                "source_channel": "hometown" if n % 5 == 1 and n // 5 < HOMETOWN else "self"}
        if foreign:
            body |= {"stage": "started", "started_on": f"{YEAR}-12-{n % 28 + 1:02d}"}
        project_ids.append(_ok(staff.post("/api/v1/projects", json=body))["id"])

    # Noise: signed the year before / after, and a 2019 signing later dropped — none of them count.
    before = _ok(staff.post("/api/v1/projects", json={
        "name": "2018年底签约项目", "county_id": counties[0], "stage": "signed", "investment_total": "500000",
        "signed_on": "2018-12-31", "source_channel": "hometown"}))["id"]
    _ok(staff.post("/api/v1/projects", json={
        "name": "2020年签约外资项目", "county_id": counties[1], "stage": "started", "investment_total": "300000",
        "signed_on": "2020-01-01", "started_on": "2020-01-02", "is_foreign": True}))
    dropped = _ok(staff.post("/api/v1/projects", json={
        "name": "2019签约后终止项目", "county_id": counties[2], "stage": "signed", "investment_total": "200000",
        "signed_on": "2019-05-05", "source_channel": "hometown"}))["id"]
    _ok(staff.post(f"/api/v1/projects/{dropped}/stage", json={"stage": "dropped", "on": "2019-08-08"}), 200)

    # --- funds in place (到位资金) arriving in 2019: 19 out-of-province entries (one to the 2018 project —
    # continuing projects count), 3 of them carrying the foreign capital; 2 from inside the province ---------
    # The city's year sits on a few projects, each far beyond its investment: every arrival is confirmed, and
    # none arrives before its project's signing (project_ids[n - 1] was signed on _day(n - 1)).
    funded = [before] + project_ids[:18]
    funds_ids = []
    for n, pid in enumerate(funded):
        funds_ids.append(_ok(staff.post(f"/api/v1/projects/{pid}/funds", json={
            "amount": "399300.00", "arrived_on": max(_day(n), _day(n - 1)), "out_of_province": True,
            "foreign_amount": "1610.00" if n in (3, 9, 15) else None, "confirm": True}))["id"])
    for pid, amount in ((project_ids[20], "90550.45"), (project_ids[21], "90549.55")):
        funds_ids.append(_ok(staff.post(f"/api/v1/projects/{pid}/funds", json={
            "amount": amount, "arrived_on": "2019-11-30", "confirm": True}))["id"])
    for arrived_on in ("2018-12-31", "2020-01-01"):  # outside the year (the 2018 project, same county)
        funds_ids.append(_ok(staff.post(f"/api/v1/projects/{before}/funds", json={
            "amount": "12345.67", "arrived_on": arrived_on, "out_of_province": True, "foreign_amount": "99",
            "confirm": True}))["id"])

    # --- 叩门招商: 856 enterprises visited, 202 by city leaders and 654 by county leaders ------------------
    lead_ids = []
    for n in range(VISITED):
        lead_ids.append(_ok(staff.post("/api/v1/leads", json={  # numbered names look alike
            "name": _lead_name(n), "kind": "enterprise", "force": True}))["id"])
    for n, lead in enumerate(lead_ids):
        _ok(staff.post(f"/api/v1/leads/{lead}/interactions", json={
            "kind": "visit", "occurred_at": _at(n), "summary": "上门拜访",
            "leader_level": "city" if n < CITY_LED else "county"}))
    for lead in lead_ids[:30]:  # a second visit of the same firm, without a leader, adds no enterprise
        _ok(staff.post(f"/api/v1/leads/{lead}/interactions", json={
            "kind": "visit", "occurred_at": _at(5), "summary": "再次拜访"}))
    outsider = _ok(staff.post("/api/v1/leads", json={"name": "跨年拜访企业", "kind": "enterprise"}))["id"]
    _ok(staff.post(f"/api/v1/leads/{outsider}/interactions", json={  # 2018 in Shanghai time (UTC 15:00)
        "kind": "visit", "occurred_at": "2018-12-31T23:00:00+08:00", "summary": "年末拜访", "leader_level": "city"}))

    # --- 来访接待: 693 batches, 13,000 人次 ----------------------------------------------------------------
    for n in range(RECEPTIONS):
        _ok(staff.post(f"/api/v1/leads/{lead_ids[n % VISITED]}/interactions", json={
            "kind": "reception", "occurred_at": _at(n), "summary": "来访接待",
            "visitor_count": 19 if n < VISITORS - 18 * RECEPTIONS else 18}))
    _ok(staff.post(f"/api/v1/leads/{outsider}/interactions", json={
        "kind": "reception", "occurred_at": "2020-01-01T09:00:00+08:00", "summary": "新年接待", "visitor_count": 40}))

    # --- 认定: nothing counts until verified; then each record's evidence is attached and checked ----------
    unverified = _ok(viewer.get(f"/api/v1/reports/annual?year={YEAR}"), 200)
    assert unverified["signed_projects"]["count"] == 0 and unverified["funds_in_place"]["total"] == 0
    assert unverified["pending"]["signed_projects"]["count"] == SIGNED_COUNT
    assert unverified["pending"]["funds_in_place"]["total"] == pytest.approx(float(FUNDS_TOTAL), abs=0.005)
    refused = staff.post(f"/api/v1/projects/{project_ids[0]}/verification/verify")
    assert refused.status_code == 403  # city staff without the verifier flag
    assert verifier.post(f"/api/v1/projects/{project_ids[0]}/verification/verify").status_code == 422  # no evidence
    for pid in project_ids + [before]:
        _ok(staff.post(f"/api/v1/projects/{pid}/attachments", data={
            "kind": "contract", "file": (io.BytesIO(PDF), f"合同{pid}.pdf")}, content_type="multipart/form-data"))
        _ok(verifier.post(f"/api/v1/projects/{pid}/verification/verify"), 200)
    for fid, pid in zip(funds_ids, funded + project_ids[20:22] + [before, before], strict=True):
        _ok(staff.post(f"/api/v1/projects/{pid}/attachments", data={
            "kind": "bank_slip", "funds_id": str(fid), "file": (io.BytesIO(PDF), "进账单.pdf")},
            content_type="multipart/form-data"))
        _ok(verifier.post(f"/api/v1/funds/{fid}/verification/verify"), 200)

    # --- the report, as a leader sees it ------------------------------------------------------------------
    report = _ok(viewer.get(f"/api/v1/reports/annual?year={YEAR}"), 200)
    assert report["pending"]["signed_projects"] == {"count": 0, "investment": 0}
    assert report["pending"]["funds_in_place"] == {"total": 0, "out_of_province": 0}

    def money(value, expected):
        assert value == pytest.approx(float(expected), abs=MONEY_TOLERANCE)

    def share(value, expected):
        assert value == pytest.approx(expected, abs=RATIO_TOLERANCE)

    assert report["year"] == YEAR and report["county_id"] is None
    signed = report["signed_projects"]
    assert signed["count"] == SIGNED_COUNT
    money(signed["investment"], SIGNED_INVESTMENT)
    assert signed["investment"] == pytest.approx(807.87e4, abs=0.005)  # Decimal-exact, not just to 0.01亿
    assert signed["count_target"] is None and signed["count_ratio"] is None

    funds = report["funds_in_place"]
    money(funds["total"], FUNDS_TOTAL)
    money(funds["out_of_province"], FUNDS_OUT_OF_PROVINCE)
    assert funds["total"] == pytest.approx(7767800.00, abs=0.005)
    money(funds["out_of_province_target"], OUT_OF_PROVINCE_TARGET)
    share(funds["out_of_province_ratio"], 1.0048)
    assert funds["total_target"] is None and funds["total_ratio"] is None

    assert report["foreign_enterprises"]["count"] == FOREIGN_ENTERPRISES
    assert report["foreign_enterprises"]["target"] == FOREIGN_ENTERPRISES_TARGET
    share(report["foreign_enterprises"]["ratio"], 1.125)

    assert report["foreign_capital"]["amount"] == pytest.approx(float(FOREIGN_CAPITAL), abs=0.005)
    assert report["foreign_capital"]["target"] == float(FOREIGN_CAPITAL_TARGET)
    share(report["foreign_capital"]["ratio"], 1.2075)

    assert report["enterprises_visited"] == {"total": VISITED, "city_led": CITY_LED, "county_led": COUNTY_LED}
    assert report["receptions"] == {"batches": RECEPTIONS, "visitors": VISITORS}

    shares = report["size_shares"]
    share(shares["over_100m"], N_100M / SIGNED_COUNT)
    share(shares["over_500m"], N_500M / SIGNED_COUNT)
    share(shares["over_1b"], N_1B / SIGNED_COUNT)
    assert [round(shares[k], 2) for k in ("over_100m", "over_500m", "over_1b")] == [0.46, 0.08, 0.03]
    over_100m_investment = sum(a for a in _investments() if a >= 10_000)
    share(shares["investment_share_over_100m"], float(over_100m_investment / SIGNED_INVESTMENT))

    assert report["hometown_projects"] == HOMETOWN
    assert report["events"] == []
