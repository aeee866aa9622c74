"""GET /api/v1/search per API.md: {total, items: [{type, id, name, score, highlights}], facets}."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Contact, Industry, Lead, LeadTag
from crm.services import indexing
from crm.services.counties import county_by_code

NOW = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def leads(app):
    def industry(code):
        return db.session.scalar(select(Industry.id).where(Industry.code == code))

    with app.app_context():
        rows = [
            Lead(name="安康生物医药有限公司", industry_id=industry("bio_pharma"),
                 owner_county_id=county_by_code("610902").id, is_key=True),
            Lead(name="平利绞股蓝种植合作社", industry_id=industry("tcm_herbs"),
                 owner_county_id=county_by_code("610926").id, kind="chamber"),
            Lead(name="紫阳县绿源公司", industry_id=industry("selenium_food"),
                 owner_county_id=county_by_code("610924").id, tag_rows=[LeadTag(tag="茶")],
                 contacts=[Contact(name="张世波", mobile="13800138000")]),
        ]
        for lead in rows:
            lead.created_at = lead.updated_at = NOW
            db.session.add(lead)
        db.session.commit()
        indexing.leads_changed([lead.id for lead in rows])
        return {"bio": rows[0].id, "herbs": rows[1].id, "tea": rows[2].id, "bio_industry": industry("bio_pharma"),
                "herbs_industry": industry("tcm_herbs")}


def test_search_returns_the_api_shape(api_client, leads):
    body = api_client("viewer", None).get("/api/v1/search?q=医药").get_json()
    assert body["total"] == 2
    assert {i["id"] for i in body["items"]} == {leads["bio"], leads["herbs"]}
    item = body["items"][0]
    assert set(item) >= {"type", "id", "name", "score", "highlights"} and item["type"] == "lead"
    assert set(body["facets"]) >= {"industry", "county", "kind", "status"}
    industry = {f["id"]: (f["name"], f["count"]) for f in body["facets"]["industry"]}
    assert industry == {leads["bio_industry"]: ("生物医药", 2), leads["herbs_industry"]: ("中药材", 1)}
    assert {f["name"]: f["count"] for f in body["facets"]["county"]} == {"汉滨区": 1, "平利县": 1}
    assert {f["id"]: f["count"] for f in body["facets"]["kind"]} == {"enterprise": 1, "chamber": 1}
    assert all(set(f) == {"id", "name", "count"} for f in body["facets"]["kind"] + body["facets"]["status"])


def test_filters_narrow(api_client, leads, app):
    from crm.services.counties import county_by_code as by_code

    client = api_client("county_staff", "610902")
    with app.app_context():
        pingli = by_code("610926").id
    body = client.get(f"/api/v1/search?q=医药&county_id={pingli}").get_json()
    assert [i["id"] for i in body["items"]] == [leads["herbs"]]
    body = client.get(f"/api/v1/search?industry_id={leads['bio_industry']}&kind=enterprise").get_json()
    assert [i["id"] for i in body["items"]] == [leads["bio"]]
    assert client.get("/api/v1/search?q=医药&status=signed").get_json()["total"] == 0


def test_synonym_tag_and_pinyin(api_client, leads):
    client = api_client("city_staff", None)
    assert [i["id"] for i in client.get("/api/v1/search?q=富硒茶").get_json()["items"]] == [leads["tea"]]
    assert [i["id"] for i in client.get("/api/v1/search?q=zsb").get_json()["items"]] == [leads["tea"]]
    assert client.get("/api/v1/search?q=13800138000").get_json()["total"] == 0  # contact details are not indexed


def test_highlights_are_escaped_html(api_client, app):
    with app.app_context():
        lead = Lead(name="<b>硒谷</b>公司", owner_county_id=county_by_code("610902").id, created_at=NOW,
                    updated_at=NOW)
        db.session.add(lead)
        db.session.commit()
        indexing.leads_changed([lead.id])
    item = api_client("viewer", None).get("/api/v1/search?q=硒谷").get_json()["items"][0]
    assert item["name"] == "<b>硒谷</b>公司"
    assert item["highlights"]["name"] == "&lt;b&gt;<mark>硒谷</mark>&lt;/b&gt;公司"


@pytest.mark.parametrize("q", ['"', "AND", "*:*", "name:x", "医药" * 900, "\u0000", "😀", "[1 TO 9]"])
def test_hostile_queries_answer_200(api_client, leads, q):
    response = api_client("viewer", None).get("/api/v1/search", query_string={"q": q})
    assert response.status_code == 200
    assert response.get_json()["total"] >= 0


def test_bad_parameters_are_422_not_500(api_client, leads):
    client = api_client("viewer", None)
    assert client.get("/api/v1/search?q=x&page=0").status_code == 422
    assert client.get("/api/v1/search?q=x&industry_id=abc").status_code == 422
    assert client.get("/api/v1/search?q=x&q=" + "y" * 3000).status_code in (200, 422)


def test_search_needs_a_token(client):
    assert client.get("/api/v1/search?q=医药").status_code == 401


def test_search_by_mobile_finds_own_countys_lead_and_answers_another_county_as_a_miss(api_client, app):
    with app.app_context():
        lead = Lead(name="紫阳魔芋公司", owner_county_id=county_by_code("610924").id, created_at=NOW, updated_at=NOW,
                    contacts=[Contact(name="李强", mobile="139-1234-5678", mobile_key="13912345678")])
        db.session.add(lead)
        db.session.commit()
        indexing.leads_changed([lead.id])
        lead_id = lead.id
    own = api_client("county_staff", "610924").get("/api/v1/search?q=13912345678").get_json()
    assert [i["id"] for i in own["items"]] == [lead_id] and own["total"] == 1
    other = api_client("county_staff", "610902")
    masked = other.get("/api/v1/search?q=13912345678").get_json()
    miss = other.get("/api/v1/search?q=13987654321").get_json()
    masked.pop("terms", None), miss.pop("terms", None)
    assert masked == miss and masked["total"] == 0
