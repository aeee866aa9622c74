"""Funds through the API: the 422 with a code over the remaining investment and the `confirm` field, corrections
and withdrawals of a row (reason, permissions, problem+json), and withdrawn rows left out of totals and reports."""
from __future__ import annotations

import pytest

from crm.services import funds
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


def _funds(client, pid, **data) -> dict:
    response = client.post(f"/api/v1/projects/{pid}/funds", json={"amount": "600", "arrived_on": "2019-05-01",
                                                                  **data})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_over_the_remaining_investment_is_422_with_a_code_until_confirmed(staff, hb):
    pid = _project(staff, hb)
    _funds(staff, pid)
    over = staff.post(f"/api/v1/projects/{pid}/funds", json={"amount": "500", "arrived_on": "2019-06-01"})
    body = over.get_json()
    assert over.status_code == 422 and over.mimetype == "application/problem+json"
    assert body["code"] == funds.OVER_REMAINING and body["remaining"] == 400.0
    assert (body["investment_total"], body["funds_in_place"]) == (1000.0, 600.0) and "amount" in body["errors"]
    assert _funds(staff, pid, amount="500", arrived_on="2019-06-01", confirm=True)["amount"] == 500.0


def test_funds_on_a_project_in_talks_are_refused_unless_continuing(staff, hb):
    pid = _project(staff, hb, stage="negotiating", signed_on=None)
    refused = staff.post(f"/api/v1/projects/{pid}/funds", json={"amount": "10", "arrived_on": "2019-05-01"})
    assert refused.status_code == 422 and "stage" in refused.get_json()["errors"]
    patched = staff.patch(f"/api/v1/projects/{pid}", json={"is_continuing": True})
    assert patched.status_code == 200 and patched.get_json()["is_continuing"] is True
    assert _funds(staff, pid, amount="10")["amount"] == 10.0


def test_patch_a_row_with_a_reason(staff, hb):
    pid = _project(staff, hb)
    fid = _funds(staff, pid)["id"]
    missing = staff.patch(f"/api/v1/funds/{fid}", json={"amount": "60"})
    assert missing.status_code == 422 and "reason" in missing.get_json()["errors"]
    response = staff.patch(f"/api/v1/funds/{fid}", json={"amount": "60", "reason": "多输了一个零"})
    assert response.status_code == 200 and response.get_json()["amount"] == 60.0
    assert staff.get(f"/api/v1/funds/{fid}").get_json()["amount"] == 60.0
    over = staff.patch(f"/api/v1/funds/{fid}", json={"amount": "1001", "reason": "补录"})
    assert over.status_code == 422 and over.get_json()["code"] == funds.OVER_REMAINING
    assert staff.patch(f"/api/v1/funds/{fid}", json={"amount": "1001", "reason": "补录", "confirm": True}
                       ).status_code == 200


def test_withdraw_a_row_leaves_the_totals_and_the_report(staff, hb, api_client):
    pid = _project(staff, hb)
    _funds(staff, pid, amount="100")
    fid = _funds(staff, pid, amount="800", arrived_on="2019-06-01", out_of_province=True)["id"]
    assert staff.post(f"/api/v1/funds/{fid}/withdraw", json={}).status_code == 422
    done = staff.post(f"/api/v1/funds/{fid}/withdraw", json={"reason": "重复录入"})
    assert done.status_code == 200 and done.get_json()["withdrawn_reason"] == "重复录入"
    assert done.get_json()["withdrawn_at"] is not None
    again = staff.post(f"/api/v1/funds/{fid}/withdraw", json={"reason": "再撤"})
    assert again.status_code == 422
    detail = staff.get(f"/api/v1/projects/{pid}").get_json()
    assert detail["funds_total"] == 100.0 and [f["amount"] for f in detail["funds"]] == [100.0]
    assert [f["id"] for f in detail["withdrawn_funds"]] == [fid]
    listed = staff.get(f"/api/v1/projects?county_id={hb}").get_json()["items"]
    assert [p["funds_total"] for p in listed if p["id"] == pid] == [100.0]
    report = api_client("viewer", None).get("/api/v1/reports/annual?year=2019").get_json()
    assert report["funds_in_place"]["total"] == 100.0 and report["funds_in_place"]["out_of_province"] == 0.0


def test_another_county_cannot_patch_or_withdraw(staff, hb, api_client):
    pid = _project(staff, hb)
    fid = _funds(staff, pid)["id"]
    for other in (api_client("county_staff", "610924"), api_client("viewer", None)):
        assert other.get(f"/api/v1/funds/{fid}").status_code == 200
        assert other.patch(f"/api/v1/funds/{fid}", json={}).status_code == 403
        assert other.patch(f"/api/v1/funds/{fid}", json={"amount": "1", "reason": "x"}).status_code == 403
        assert other.post(f"/api/v1/funds/{fid}/withdraw", json={"reason": "x"}).status_code == 403
    assert staff.get(f"/api/v1/funds/{fid}").get_json()["amount"] == 600.0
    assert staff.get("/api/v1/funds/999999").status_code == 404


def test_openapi_documents_the_funds_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "patch"} <= set(paths["/api/v1/funds/{funds_id}"])
    assert "post" in paths["/api/v1/funds/{funds_id}/withdraw"]
