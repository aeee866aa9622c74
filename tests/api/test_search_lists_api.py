"""Saved searches and bulk actions over the API: the same rules as the search page (sharing by role, the refused
leads listed with the reason), problem+json for bad input."""
from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.models import Lead, SavedSearch
from tests.web.test_search import add_leads


def test_saved_searches_over_the_api(app, api_client):
    hanbin = api_client("county_staff", "610902")
    response = hanbin.post("/api/v1/saved-searches", json={"name": "本县富硒", "query": {"q": "富硒", "is_key": True},
                                                           "scope": "county"})
    assert response.status_code == 201, response.json
    saved = response.json
    assert saved["query"] == {"q": "富硒", "is_key": True} and saved["scope"] == "county"
    colleague = api_client("county_staff", "610902")
    assert [s["name"] for s in colleague.get("/api/v1/saved-searches").json] == ["本县富硒"]
    assert api_client("county_staff", "610924").get("/api/v1/saved-searches").json == []
    refused = hanbin.post("/api/v1/saved-searches", json={"name": "全市", "query": {"q": "茶"}, "scope": "city"})
    assert refused.status_code == 403
    bad = hanbin.post("/api/v1/saved-searches", json={"name": "", "query": {}})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert colleague.delete(f"/api/v1/saved-searches/{saved['id']}").status_code == 403
    assert hanbin.delete(f"/api/v1/saved-searches/{saved['id']}").status_code == 204
    with app.app_context():
        assert db.session.scalar(select(SavedSearch)) is None


def test_bulk_tag_over_the_api_lists_the_refused(app, api_client):
    ids = add_leads(app, ("汉滨富硒茶业", None, "610902", []), ("紫阳富硒茶厂", None, "610924", []))
    hanbin = api_client("county_staff", "610902")
    response = hanbin.post("/api/v1/leads/bulk", json={"action": "tag", "tag": "春节", "lead_ids": ids})
    assert response.status_code == 200, response.json
    assert [x["id"] for x in response.json["done"]] == [ids[0]]
    assert response.json["refused"][0]["id"] == ids[1] and "紫阳县" in response.json["refused"][0]["reason"]
    with app.app_context():
        assert db.session.get(Lead, ids[0]).tags == ["春节"] and db.session.get(Lead, ids[1]).tags == []
    for body in ({"action": "tag", "tag": "x", "lead_ids": []}, {"action": "tag", "tag": "x", "lead_ids": [-1]},
                 {"action": "tag", "tag": "x", "lead_ids": [2**40]}, {"action": "fly", "lead_ids": ids},
                 {"action": "owner", "lead_ids": ids}):
        response = hanbin.post("/api/v1/leads/bulk", json=body)
        assert response.status_code == 422, (body, response.status_code)
    assert api_client("viewer", None).post("/api/v1/leads/bulk", json={"action": "tag", "tag": "x",
                                                                         "lead_ids": ids}).status_code == 403
