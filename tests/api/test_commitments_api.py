"""Commitments through the API (issue 15 items 2, 3): create on a signed project (422 with the field on bad input,
nothing saved), actuals, status with a reason, the ETag / If-Match edit, the 三未 list, health, and the OpenAPI."""
from __future__ import annotations

import pytest

from tests.conftest import county_id


@pytest.fixture
def hb(app):
    return county_id(app, "610902")


@pytest.fixture
def staff(api_client):
    return api_client("county_staff", "610902")


def _project(client, hb, **data) -> int:
    body = {"name": "富硒茶深加工", "county_id": hb, "stage": "signed", "signed_on": "2019-03-01",
            "investment_total": "1000", **data}
    response = client.post("/api/v1/projects", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_create_record_mark_and_read_back(staff, hb):
    pid = _project(staff, hb)
    made = staff.post(f"/api/v1/projects/{pid}/commitments", json={"kind": "jobs", "due_on": "2019-12-31",
                                                                   "target_quantity": 200})
    assert made.status_code == 201, made.get_json()
    cid = made.get_json()["id"]
    assert made.get_json()["side"] == "investor" and made.get_json()["unit"] == "people"
    actual = staff.post(f"/api/v1/commitments/{cid}/actuals", json={"recorded_on": "2019-12-01", "quantity": 150})
    assert actual.status_code == 201, actual.get_json()
    got = staff.get(f"/api/v1/commitments/{cid}").get_json()
    assert (got["actual"], got["variance"], got["rate"], got["slipped"]) == (150.0, -50.0, 0.75, True)
    listed = staff.get(f"/api/v1/projects/{pid}/commitments").get_json()
    assert listed["rate"] == 0.75 and listed["slipped"] == 1 and [i["id"] for i in listed["items"]] == [cid]
    stale = staff.post(f"/api/v1/commitments/{cid}/status", json={"status": "met", "reason": "x", "version": 99})
    assert stale.status_code == 409
    marked = staff.post(f"/api/v1/commitments/{cid}/status", json={"status": "missed", "reason": "用工不足",
                                                                    "version": got["version"]})
    assert marked.status_code == 200 and marked.get_json()["status"] == "missed"
    health = staff.get(f"/api/v1/projects/{pid}/health").get_json()
    assert health["colour"] in ("green", "amber", "red") and health["slipped_commitments"] == 0


def test_bad_input_is_422_with_the_field_and_saves_nothing(staff, hb):
    pid = _project(staff, hb)
    planned = _project(staff, hb, name="在谈项目", stage="negotiating", signed_on=None)
    cases = [(pid, {"kind": "jobs", "due_on": "2019-01-01", "target_quantity": 5}, "due_on"),
             (pid, {"kind": "tax", "due_on": "2020-01-01", "target_quantity": "很多"}, "target_quantity"),
             (pid, {"kind": "tax", "due_on": "2020-01-01", "target_quantity": -3}, "target_quantity"),
             (pid, {"kind": "tax", "due_on": "2020-01-01", "target_quantity": 1e15}, "target_quantity"),
             (planned, {"kind": "land", "due_on": "2020-01-01"}, "project")]
    for project_id, body, field in cases:
        response = staff.post(f"/api/v1/projects/{project_id}/commitments", json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], response.get_json()
    assert staff.get(f"/api/v1/projects/{pid}/commitments").get_json()["items"] == []


def test_stale_if_match_is_412(staff, hb):
    pid = _project(staff, hb)
    cid = staff.post(f"/api/v1/projects/{pid}/commitments", json={
        "kind": "output", "due_on": "2020-12-31", "target_quantity": 5000}).get_json()["id"]
    etag = staff.get(f"/api/v1/commitments/{cid}").headers["ETag"]
    first = staff.patch(f"/api/v1/commitments/{cid}", json={"target_quantity": 6000}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.get_json()["target_quantity"] == 6000.0
    second = staff.patch(f"/api/v1/commitments/{cid}", json={"target_quantity": 1}, headers={"If-Match": etag})
    assert second.status_code == 412
    assert staff.get(f"/api/v1/commitments/{cid}").get_json()["target_quantity"] == 6000.0


def test_other_county_may_read_not_write(staff, hb, api_client):
    pid = _project(staff, hb)
    cid = staff.post(f"/api/v1/projects/{pid}/commitments", json={
        "kind": "land", "due_on": "2019-06-01"}).get_json()["id"]
    other = api_client("county_staff", "610924")
    assert other.get(f"/api/v1/commitments/{cid}").status_code == 200
    assert other.post(f"/api/v1/commitments/{cid}/actuals", json={"recorded_on": "2019-05-01"}).status_code == 403
    assert other.post(f"/api/v1/commitments/{cid}/status", json={"status": "met", "reason": "x"}).status_code == 403


def test_warnings_and_health_lists(staff, hb):
    pid = _project(staff, hb, signed_on="2018-01-01")
    warnings = staff.get("/api/v1/commitments/warnings?kind=signed_not_started").get_json()
    assert [(w["project_id"], w["kind"]) for w in warnings] == [(pid, "signed_not_started")]
    assert staff.get("/api/v1/commitments/warnings?county_id=99999").status_code == 422
    health = staff.get("/api/v1/projects/health?colour=red&colour=amber&colour=green").get_json()
    assert [h["project_id"] for h in health] == [pid]


def test_openapi_documents_the_commitment_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/projects/{project_id}/commitments", "/api/v1/commitments/{commitment_id}",
                 "/api/v1/commitments/{commitment_id}/actuals", "/api/v1/commitments/{commitment_id}/status",
                 "/api/v1/commitments/warnings", "/api/v1/projects/health", "/api/v1/projects/{project_id}/health"):
        assert path in paths, path
