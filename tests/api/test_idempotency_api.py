"""The Idempotency-Key header on the API's creates, and correcting / withdrawing a contact over the API."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Event, Followup, FundsArrival, Interaction, Lead, Project, Trip

KEY = "client-4d2c-0001"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _lead(client) -> int:
    response = client.post("/api/v1/leads", json={"name": "恒信建设工程有限公司", "kind": "enterprise"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _project(client) -> int:
    # 续建 with a stated investment: funds may arrive before signing and need no over-investment confirmation
    return client.post("/api/v1/projects", json={"name": "富硒茶深加工项目", "is_continuing": True,
                                                 "investment_total": "10000"}).get_json()["id"]


def _soon() -> str:
    return (datetime.now(UTC) + timedelta(days=5)).isoformat()


VISIT = {"kind": "visit", "summary": "介绍园区政策", "leader_level": "county", "leader_name": "张县长", "visitor_count": 3}
CREATES = {
    "interaction": (lambda c: (f"/api/v1/leads/{_lead(c)}/interactions",
                               dict(VISIT, followup={"title": "寄送资料", "due_at": _soon()})), [Interaction, Followup]),
    "trip": (lambda c: ("/api/v1/trips", {"title": "京津冀招商考察", "starts_on": "2027-03-15",
                                          "ends_on": "2027-03-19"}), [Trip]),
    "followup": (lambda c: ("/api/v1/followups", {"title": "电话回访", "due_at": _soon(), "lead_id": _lead(c),
                                              "assignee_id": c.user.id}),
                 [Followup]),
    "project": (lambda c: ("/api/v1/projects", {"name": "毛绒玩具加工", "investment_total": "5000"}), [Project]),
    "lead": (lambda c: ("/api/v1/leads", {"name": "秦巴生物药业有限公司", "kind": "enterprise"}), [Lead]),
    "event": (lambda c: ("/api/v1/events", {"name": "雄安推介会", "held_on": "2027-03-19"}), [Event]),
    "funds": (lambda c: (f"/api/v1/projects/{_project(c)}/funds", {"amount": "100.5", "arrived_on": "2026-02-01"}),
              [FundsArrival]),
}


@pytest.mark.parametrize("name", sorted(CREATES))
def test_a_repeated_idempotency_key_answers_with_the_first_record(app, api_client, name):
    client = api_client("city_staff" if name == "event" else "county_staff")
    build, models = CREATES[name]
    url, body = build(client)
    before = {m: count(app, m) for m in models}
    responses = [client.post(url, json=body, headers={"Idempotency-Key": KEY}) for _ in range(3)]
    assert [r.status_code for r in responses] == [201] * 3, responses[0].get_json()
    assert len({r.get_json()["id"] for r in responses}) == 1
    assert [r.headers.get("Idempotent-Replayed") for r in responses] == [None, "true", "true"]
    assert responses[1].get_json() == responses[0].get_json()
    assert {m.__name__: count(app, m) - before[m] for m in models} == {m.__name__: 1 for m in models}


def test_the_same_key_with_a_different_body_is_422_and_creates_nothing(app, api_client):
    client = api_client("county_staff")
    url = f"/api/v1/leads/{_lead(client)}/interactions"
    assert client.post(url, json=VISIT, headers={"Idempotency-Key": KEY}).status_code == 201
    response = client.post(url, json=dict(VISIT, summary="另一次拜访"), headers={"Idempotency-Key": KEY})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert "idempotency_key" in response.get_json()["errors"]
    other = client.post("/api/v1/trips", json={"title": "考察", "starts_on": "2027-03-15", "ends_on": "2027-03-16"},
                        headers={"Idempotency-Key": KEY})
    assert other.status_code == 422
    assert count(app, Interaction) == 1 and count(app, Trip) == 0


def test_keys_are_per_user_and_optional(app, api_client):
    one, two = api_client("county_staff"), api_client("county_staff")
    lead = _lead(one)
    url = f"/api/v1/leads/{lead}/interactions"
    ids = {one.post(url, json=VISIT, headers={"Idempotency-Key": KEY}).get_json()["id"],
           two.post(url, json=VISIT, headers={"Idempotency-Key": KEY}).get_json()["id"]}
    ids |= {one.post(url, json=VISIT).get_json()["id"] for _ in range(2)}
    assert len(ids) == 4 and count(app, Interaction) == 4


def test_a_malformed_key_is_422(app, api_client):
    client = api_client("county_staff")
    response = client.post("/api/v1/trips", json={"title": "考察", "starts_on": "2027-03-15", "ends_on": "2027-03-16"},
                           headers={"Idempotency-Key": "x"})
    assert response.status_code == 422 and "idempotency_key" in response.get_json()["errors"]
    assert count(app, Trip) == 0


def test_a_refused_create_leaves_the_key_free(app, api_client):
    client = api_client("county_staff")
    url = f"/api/v1/leads/{_lead(client)}/interactions"
    refused = client.post(url, json=dict(VISIT, visitor_count=10_000), headers={"Idempotency-Key": KEY})
    assert refused.status_code == 422 and "visitor_count" in refused.get_json()["errors"]
    assert client.post(url, json=VISIT, headers={"Idempotency-Key": KEY}).status_code == 201
    assert count(app, Interaction) == 1


def test_the_openapi_document_describes_the_header(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    post = doc["paths"]["/api/v1/leads/{lead_id}/interactions"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])


def test_correct_and_withdraw_a_visit_over_the_api(app, api_client):
    client, other = api_client("county_staff"), api_client("county_staff", "610924")
    lead = _lead(client)
    created = client.post(f"/api/v1/leads/{lead}/interactions", json=VISIT).get_json()
    url = f"/api/v1/interactions/{created['id']}"
    assert client.get(url).get_json()["summary"] == "介绍园区政策"
    patched = client.patch(url, json={"visitor_count": 5, "leader_level": "city", "leader_name": "王市长"})
    assert patched.status_code == 200, patched.get_json()
    assert (patched.get_json()["visitor_count"], patched.get_json()["leader_level"]) == (5, "city")
    bad = client.patch(url, json={"leader_level": "none"})
    assert bad.status_code == 422 and "leader_name" in bad.get_json()["errors"]
    assert other.patch(url, json={"summary": "x"}).status_code == 403
    assert other.post(f"{url}/withdraw", json={"reason": "x"}).status_code == 403
    done = client.post(f"{url}/withdraw", json={"reason": "重复录入"})
    assert done.status_code == 200 and done.get_json()["withdraw_reason"] == "重复录入"
    assert done.get_json()["withdrawn_at"]
    assert client.post(f"{url}/withdraw", json={"reason": "again"}).status_code == 409
    assert client.get(f"/api/v1/leads/{lead}/interactions").get_json()["total"] == 0


def test_trip_get_and_patch_over_the_api(app, api_client):
    client, other = api_client("county_staff"), api_client("county_staff", "610924")
    trip = client.post("/api/v1/trips", json={"title": "考察", "starts_on": "2027-03-15",
                                              "ends_on": "2027-03-16"}).get_json()
    url = f"/api/v1/trips/{trip['id']}"
    patched = client.patch(url, json={"cities": "北京、廊坊"})
    assert patched.status_code == 200 and patched.get_json()["cities"] == "北京、廊坊"
    assert client.get(url).get_json()["cities"] == "北京、廊坊"
    assert other.patch(url, json={"cities": "x"}).status_code == 403
