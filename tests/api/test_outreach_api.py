"""Holidays and outreach over the JSON API: the calendar against published dates, campaign and item shapes,
idempotent creation, paging, marking done, permissions and errors."""
from __future__ import annotations

import pytest

from crm.extensions import db
from crm.models import Interaction, Lead
from tests.services.test_outreach import make_lead
from tests.unit.test_holidays import COLUMNS, PUBLISHED

KEYS = {"new_year", "new_years_eve", "spring_festival", "lantern", "qingming", "dragon_boat", "mid_autumn",
        "double_ninth", "national_day"}
CAMPAIGN_FIELDS = {"id", "holiday_key", "year", "holiday_date", "target_kinds", "remind_days_before"}
ITEM_FIELDS = {"id", "lead_id", "assignee_id", "status", "done_at"}


@pytest.mark.parametrize("year", [2020, 2023, 2025, 2027, 2033, 2034, 2035])
def test_holidays_for_year_match_published_dates(api_client, year):
    response = api_client("viewer", None).get(f"/api/v1/holidays?year={year}")
    assert response.status_code == 200
    body = response.get_json()
    assert {h["key"] for h in body} == KEYS and all({"key", "name", "date"} <= set(h) for h in body)
    dates = {h["key"]: h["date"] for h in body}
    for key, month_day in zip(COLUMNS, PUBLISHED[year], strict=True):
        assert dates[key] == f"{year}-{month_day}", key
    assert dates["new_year"] == f"{year}-01-01" and dates["national_day"] == f"{year}-10-01"


def test_holidays_2027_names_and_the_three_outreach_dates(api_client):
    body = api_client("county_staff").get("/api/v1/holidays?year=2027").get_json()
    by_key = {h["key"]: h for h in body}
    assert by_key["spring_festival"] == {"key": "spring_festival", "name": "春节", "name_en": "Spring Festival",
                                         "date": "2027-02-06"}
    assert (by_key["qingming"]["date"], by_key["mid_autumn"]["date"]) == ("2027-04-05", "2027-09-15")


@pytest.mark.parametrize("year", ["1949", "2101", "-5", "abc", "99999999999999999999"])
def test_holidays_outside_the_calendar_are_422_problem(api_client, year):
    response = api_client("viewer", None).get(f"/api/v1/holidays?year={year}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json" and "year" in response.get_json()["errors"]


def test_holidays_without_token_is_401(client):
    assert client.get("/api/v1/holidays?year=2027").status_code == 401


def test_create_campaign_then_again_returns_the_same_with_200(app, api_client):
    client = api_client("city_staff", None)
    make_lead(app)
    make_lead(app, kind="enterprise", name="普通企业")
    response = client.post("/api/v1/outreach/campaigns", json={"holiday_key": "spring_festival", "year": 2027})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert CAMPAIGN_FIELDS <= set(body)
    assert (body["holiday_date"], body["remind_days_before"]) == ("2027-02-06", 10)
    assert body["target_kinds"] == ["hometown_entrepreneur", "adviser", "chamber"]
    again = client.post("/api/v1/outreach/campaigns", json={"holiday_key": "spring_festival", "year": 2027})
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    listed = client.get("/api/v1/outreach/campaigns").get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]


def test_create_campaign_with_target_kinds_and_filters(app, api_client):
    client = api_client("admin", None)
    make_lead(app, kind="hometown_entrepreneur")
    chamber = make_lead(app, kind="chamber", name="商会")
    response = client.post("/api/v1/outreach/campaigns", json={
        "holiday_key": "mid_autumn", "year": 2027, "target_kinds": ["chamber"], "filters": {"include_key": False}})
    assert response.status_code == 201 and response.get_json()["target_kinds"] == ["chamber"]
    items = client.get(f"/api/v1/outreach/campaigns/{response.get_json()['id']}/items").get_json()
    assert [i["lead_id"] for i in items["items"]] == [chamber]


def test_create_campaign_with_bad_input_is_422(api_client):
    client = api_client("city_staff", None)
    response = client.post("/api/v1/outreach/campaigns", json={"holiday_key": "easter", "year": 2400,
                                                               "target_kinds": ["pirate"]})
    assert response.status_code == 422
    assert {"holiday_key", "year", "kinds"} <= set(response.get_json()["errors"])
    assert client.post("/api/v1/outreach/campaigns", json={"year": "x"}).status_code == 422


def test_create_campaign_by_county_staff_is_403(api_client):
    response = api_client("county_staff").post("/api/v1/outreach/campaigns",
                                               json={"holiday_key": "spring_festival", "year": 2027})
    assert response.status_code == 403


def test_items_paged_and_marked_done_writes_greeting(app, api_client):
    city = api_client("city_staff", None)
    staff = api_client("county_staff", "610902")
    leads = [make_lead(app, name=f"乡贤{n}", owner_id=staff.user.id) for n in range(3)]
    cid = city.post("/api/v1/outreach/campaigns", json={"holiday_key": "spring_festival", "year": 2027}
                    ).get_json()["id"]
    page = staff.get(f"/api/v1/outreach/campaigns/{cid}/items?mine=true&per_page=2").get_json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (3, 1, 2, 2)
    assert ITEM_FIELDS <= set(page["items"][0]) and page["items"][0]["assignee_id"] == staff.user.id
    item = page["items"][0]
    done = staff.post(f"/api/v1/outreach/items/{item['id']}/done", json={"status": "greeted", "note": "已电话拜年"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "greeted" and done.get_json()["done_at"]
    with app.app_context():
        interaction = db.session.get(Interaction, done.get_json()["interaction_id"])
        assert (interaction.lead_id, interaction.kind) == (item["lead_id"], "greeting")
        assert db.session.get(Lead, item["lead_id"]).last_contacted_at is not None
    assert set(leads) >= {item["lead_id"]}
    again = staff.post(f"/api/v1/outreach/items/{item['id']}/done", json={"status": "visited"})
    assert again.status_code == 409
    pending = staff.get(f"/api/v1/outreach/campaigns/{cid}/items?status=pending").get_json()
    assert pending["total"] == 2


def test_items_of_other_county_are_hidden_and_cannot_be_marked(app, api_client):
    city = api_client("city_staff", None)
    ziyang = api_client("county_staff", "610924")
    viewer = api_client("viewer", None)
    make_lead(app)  # 汉滨's
    cid = city.post("/api/v1/outreach/campaigns", json={"holiday_key": "spring_festival", "year": 2027}
                    ).get_json()["id"]
    assert ziyang.get(f"/api/v1/outreach/campaigns/{cid}/items").get_json()["total"] == 0
    item_id = viewer.get(f"/api/v1/outreach/campaigns/{cid}/items").get_json()["items"][0]["id"]
    assert ziyang.post(f"/api/v1/outreach/items/{item_id}/done", json={"status": "greeted"}).status_code == 404
    assert viewer.post(f"/api/v1/outreach/items/{item_id}/done", json={"status": "greeted"}).status_code == 403
    bad = city.post(f"/api/v1/outreach/items/{item_id}/done", json={"status": "pending"})
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]
    assert city.get("/api/v1/outreach/campaigns/999999/items").status_code == 404


def test_openapi_documents_outreach_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/holidays", "/api/v1/outreach/campaigns", "/api/v1/outreach/campaigns/{campaign_id}/items",
            "/api/v1/outreach/items/{item_id}/done"} <= set(paths)
