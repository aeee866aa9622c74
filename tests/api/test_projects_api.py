"""Projects, events, targets and the annual report through the API: shapes, money as numbers, validation."""
from __future__ import annotations

import pytest

from tests.conftest import county_id


@pytest.fixture
def city(api_client):
    return api_client("city_staff", None)


def _project(client, **data):
    data.setdefault("name", "沣康医药产业基地")
    data.setdefault("county_id", client.hb)
    response = client.post("/api/v1/projects", json=data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def hb(app):
    return county_id(app, "610902")


def test_create_project_returns_the_api_fields_with_money_as_numbers(city, hb):
    city.hb = hb
    body = _project(city, investment_total="119100.00", stage="started", signed_on="2019-05-12",
                    started_on="2019-08-01", is_foreign=True, source_channel="hometown")
    assert {"id", "name", "industry_id", "county_id", "lead_ids", "stage", "investment_total", "is_foreign",
            "source_channel", "referrer_id", "event_id", "signed_on", "started_on"} <= set(body)
    assert body["investment_total"] == 119100.0 and body["stage"] == "started"
    assert (body["signed_on"], body["started_on"]) == ("2019-05-12", "2019-08-01")
    assert [c["to_stage"] for c in body["stage_changes"]] == ["signed", "started"]


@pytest.mark.parametrize("data,field", [
    ({"investment_total": "十亿"}, "investment_total"), ({"investment_total": -1}, "investment_total"),
    ({"investment_total": "1.001"}, "investment_total"), ({"stage": "won"}, "stage"),
    ({"signed_on": "2019-13-01", "stage": "signed"}, "signed_on"), ({"county_id": "x"}, "county_id"),
    ({"name": ""}, "name"), ({"surprise": 1}, "surprise"), ({"name": "\x00"}, "name"),
])
def test_create_project_with_bad_input_is_422_naming_the_field(city, hb, data, field):
    response = city.post("/api/v1/projects", json={"name": "项目", "county_id": hb, **data})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_stage_change_and_funds_through_the_api(city, hb):
    city.hb = hb
    pid = _project(city, investment_total="5000")["id"]
    response = city.post(f"/api/v1/projects/{pid}/stage", json={"stage": "signed", "on": "2020-01-05"})
    assert response.status_code == 200 and response.get_json()["signed_on"] == "2020-01-05"
    assert city.post(f"/api/v1/projects/{pid}/stage", json={"stage": "bogus"}).status_code == 422
    back = city.post(f"/api/v1/projects/{pid}/stage", json={"stage": "planned"})
    assert back.status_code == 422 and "stage" in back.get_json()["errors"]
    funds = city.post(f"/api/v1/projects/{pid}/funds", json={"amount": "2000.25", "arrived_on": "2020-01-10",
                                                            "out_of_province": True, "foreign_amount": 100.5})
    assert funds.status_code == 201
    listed = ("project_id", "amount", "arrived_on", "out_of_province", "foreign_amount", "note", "withdrawn_at")
    assert {k: funds.get_json()[k] for k in listed} == {
        "project_id": pid, "amount": 2000.25, "arrived_on": "2020-01-10", "out_of_province": True,
        "foreign_amount": 100.5, "note": None, "withdrawn_at": None}
    for bad in ({"amount": "lots", "arrived_on": "2020-01-10"}, {"amount": -3, "arrived_on": "2020-01-10"},
                {"amount": 3, "arrived_on": "soon"}, {"amount": 3}):
        assert city.post(f"/api/v1/projects/{pid}/funds", json=bad).status_code == 422
    detail = city.get(f"/api/v1/projects/{pid}").get_json()
    assert detail["funds_total"] == 2000.25 and len(detail["funds"]) == 1


def test_patch_project_and_list_filters(city, hb):
    city.hb = hb
    pid = _project(city, stage="signed", signed_on="2019-03-19")["id"]
    _project(city, name="其他")
    response = city.patch(f"/api/v1/projects/{pid}", json={"investment_total": 8530})
    assert response.status_code == 200 and response.get_json()["investment_total"] == 8530.0
    page = city.get("/api/v1/projects?year=2019&stage=signed").get_json()
    assert page["total"] == 1 and page["items"][0]["id"] == pid
    assert city.get("/api/v1/projects?stage=bogus").status_code == 422


def test_county_staff_cannot_edit_another_countys_project_and_viewer_cannot_create(city, hb, api_client):
    city.hb = hb
    pid = _project(city)["id"]
    other = api_client("county_staff", "610924")
    assert other.patch(f"/api/v1/projects/{pid}", json={"name": "x"}).status_code == 403
    assert other.get(f"/api/v1/projects/{pid}").status_code == 200
    viewer = api_client("viewer", None)
    assert viewer.post("/api/v1/projects", json={"name": "x", "county_id": hb}).status_code == 403


def test_events_with_results(city, hb):
    city.hb = hb
    response = city.post("/api/v1/events", json={"name": "丝博会推介会", "held_on": "2019-05-11", "city": "西安"})
    assert response.status_code == 201
    event = response.get_json()
    _project(city, event_id=event["id"], stage="signed", signed_on="2019-05-12", investment_total="1191000")
    listed = city.get("/api/v1/events?year=2019").get_json()
    assert listed["total"] == 1 and listed["items"][0]["signed_count"] == 1
    assert listed["items"][0]["signed_investment"] == 1191000.0
    assert {"id", "name", "held_on", "city", "county_id", "lead_ids"} <= set(listed["items"][0])
    assert city.post("/api/v1/events", json={"name": "x", "held_on": "31/12/2019"}).status_code == 422


def test_targets_put_and_get_admin_only(api_client, hb):
    admin = api_client("admin", None)
    body = [{"county_id": None, "metric": "signed_count", "value": 458},
            {"county_id": hb, "metric": "funds_in_place", "value": "10000.5"}]
    response = admin.put("/api/v1/targets?year=2019", json=body)
    assert response.status_code == 200
    got = admin.get("/api/v1/targets?year=2019").get_json()
    assert sorted((t["county_id"] or 0, t["metric"], t["value"], t["year"]) for t in got) == sorted(
        [(0, "signed_count", 458.0, 2019), (hb, "funds_in_place", 10000.5, 2019)])
    assert api_client("city_staff", None).put("/api/v1/targets?year=2019", json=body).status_code == 403
    assert admin.put("/api/v1/targets?year=2019", json=[{"metric": "nope", "value": 1}]).status_code == 422
    assert admin.put("/api/v1/targets?year=2019", json=[{"metric": "signed_count", "value": "x"}]).status_code == 422
    assert admin.get("/api/v1/targets").status_code == 422


def test_annual_report_shape_and_numbers(api_client, hb):
    admin = api_client("admin", None)
    admin.hb = hb
    _project(admin, stage="signed", signed_on="2019-12-31", investment_total="120000")
    _project(admin, stage="signed", signed_on="2019-06-30", investment_total="8000.5")
    admin.put("/api/v1/targets?year=2019", json=[{"metric": "signed_count", "value": 4}])
    response = admin.get("/api/v1/reports/annual?year=2019")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"year", "county_id", "signed_projects", "funds_in_place", "foreign_enterprises",
                         "foreign_capital", "enterprises_visited", "receptions", "size_shares", "hometown_projects",
                         "events", "pending"}  # pending: 认定 (issue 15), what awaits verification beside the figures
    assert body["signed_projects"] == {"count": 2, "investment": 128000.5, "count_target": 4.0, "count_ratio": 0.5,
                                       "investment_target": None, "investment_ratio": None}
    assert set(body["funds_in_place"]) == {"total", "total_target", "total_ratio", "out_of_province",
                                           "out_of_province_target", "out_of_province_ratio"}
    assert body["size_shares"]["over_1b"] == 0.5 and body["county_id"] is None
    county = admin.get(f"/api/v1/reports/annual?year=2019&county_id={hb}").get_json()
    assert county["county_id"] == hb and county["signed_projects"]["count"] == 2
    assert admin.get("/api/v1/reports/annual?year=abc").status_code == 422
    assert admin.get("/api/v1/reports/annual").status_code == 422
    ranking = admin.get("/api/v1/reports/ranking?year=2019").get_json()
    assert ranking[0]["rank"] == 1 and "metrics" in ranking[0]
