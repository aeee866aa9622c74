"""Outreach API after the list is made: change a recorded result, refresh a campaign's targets."""
from __future__ import annotations

from datetime import UTC, datetime

from crm import holidays
from crm.extensions import db
from crm.models import Interaction
from crm.services import outreach
from tests.services.test_outreach import make_lead


def _campaign(city) -> int:
    """The coming 春节's list: the API judges "until the holiday" by the real clock."""
    today = outreach.today_in_ankang(datetime.now(UTC))
    year = holidays.next_occurrence("spring_festival", today).date.year
    return city.post("/api/v1/outreach/campaigns", json={"holiday_key": "spring_festival", "year": year}
                     ).get_json()["id"]


def test_change_a_declined_item_to_visited_rewrites_its_interaction(app, api_client):
    city, staff = api_client("city_staff", None), api_client("county_staff", "610902")
    make_lead(app, owner_id=staff.user.id)
    cid = _campaign(city)
    item = staff.get(f"/api/v1/outreach/campaigns/{cid}/items").get_json()["items"][0]
    assert staff.post(f"/api/v1/outreach/items/{item['id']}/change", json={"status": "greeted"}).status_code == 409
    done = staff.post(f"/api/v1/outreach/items/{item['id']}/done", json={"status": "declined"}).get_json()
    changed = staff.post(f"/api/v1/outreach/items/{item['id']}/change", json={"status": "visited", "note": "上门了"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["status"], changed.get_json()["interaction_id"]) == ("visited", done["interaction_id"])
    with app.app_context():
        assert db.session.get(Interaction, done["interaction_id"]).kind == "visit"
    bad = staff.post(f"/api/v1/outreach/items/{item['id']}/change", json={"status": "pending"})
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]
    other = api_client("county_staff", "610924")
    assert other.post(f"/api/v1/outreach/items/{item['id']}/change", json={"status": "greeted"}).status_code == 404


def test_refresh_campaign_adds_newcomers_for_city_staff_only(app, api_client):
    city, staff = api_client("city_staff", None), api_client("county_staff", "610902")
    cid = _campaign(city)
    make_lead(app, name="王乡贤")
    assert staff.post(f"/api/v1/outreach/campaigns/{cid}/refresh").status_code == 403
    response = city.post(f"/api/v1/outreach/campaigns/{cid}/refresh")
    assert response.status_code == 200 and response.get_json() == {"added": 1, "removed": 0, "kept": 0}
    assert city.post(f"/api/v1/outreach/campaigns/{cid}/refresh").get_json() == {"added": 0, "removed": 0, "kept": 1}
    assert city.post("/api/v1/outreach/campaigns/999999/refresh").status_code == 404
    past = city.post("/api/v1/outreach/campaigns", json={"holiday_key": "new_year", "year": 2026}).get_json()["id"]
    assert city.post(f"/api/v1/outreach/campaigns/{past}/refresh").status_code == 409


def test_openapi_documents_change_and_refresh(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/outreach/items/{item_id}/change", "/api/v1/outreach/campaigns/{campaign_id}/refresh"} <= set(paths)
