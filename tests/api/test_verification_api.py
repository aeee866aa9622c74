"""API of 认定 and 月报 (issue 15): upload refused when the content is not what it claims, download only by the
city and the project's county (attachment headers), verify / return / resubmit, the queue, a frozen snapshot and
its diff, all described in the OpenAPI document."""
from __future__ import annotations

import io

from tests.conftest import county_id

PDF = b"%PDF-1.4\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20


def _project(app, client, **extra):
    body = {"name": "旬阳港物流园", "county_id": county_id(app, "610902"), "stage": "signed",
            "signed_on": "2026-02-01", "investment_total": "20000", **extra}
    response = client.post("/api/v1/projects", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _upload(client, pid, data, name, **form):
    return client.post(f"/api/v1/projects/{pid}/attachments", data={"kind": "contract", **form,
                                                                   "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_verification_through_the_api(app, api_client):
    app.config["REPORTS_COUNT_VERIFIED_ONLY"] = True
    county, other = api_client("county_staff", "610902"), api_client("county_staff", "610924")
    verifier, viewer = api_client("city_staff", None, can_verify=True), api_client("viewer", None)
    pid = _project(app, county)

    fake = _upload(county, pid, b"<html>not a pdf</html>", "合同.pdf")
    assert fake.status_code == 422 and fake.get_json()["errors"]["file"]
    mislabelled = _upload(county, pid, JPEG, "合同.pdf")
    assert mislabelled.status_code == 422 and "JPEG" in mislabelled.get_json()["errors"]["file"][0]
    assert _upload(other, pid, PDF, "合同.pdf").status_code == 403
    attachment = _upload(county, pid, PDF, "合同.pdf")
    assert attachment.status_code == 201
    aid = attachment.get_json()["id"]

    got = verifier.get(f"/api/v1/attachments/{aid}")
    assert got.status_code == 200 and got.data == PDF and got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert other.get(f"/api/v1/attachments/{aid}").status_code == 403
    assert viewer.get(f"/api/v1/attachments/{aid}").status_code == 403
    assert other.get(f"/api/v1/projects/{pid}/verification").get_json()["attachments"] == []

    queue = verifier.get("/api/v1/verifications?kind=signing").get_json()
    assert [(i["id"], i["evidence"], i["status"]) for i in queue] == [(pid, 1, "pending")]
    assert county.get("/api/v1/verifications").status_code == 403
    assert verifier.get("/api/v1/verifications?status=nonsense").status_code == 422

    returned = verifier.post(f"/api/v1/projects/{pid}/verification/return", json={"reason": "合同未盖章"})
    assert returned.status_code == 200 and returned.get_json()["status"] == "returned"
    assert county.post(f"/api/v1/projects/{pid}/verification/resubmit").get_json()["status"] == "pending"
    assert county.post(f"/api/v1/projects/{pid}/verification/verify").status_code == 403
    verified = verifier.post(f"/api/v1/projects/{pid}/verification/verify")
    assert verified.status_code == 200 and verified.get_json()["status"] == "verified"
    report = viewer.get("/api/v1/reports/annual?year=2026").get_json()
    assert report["signed_projects"]["count"] == 1 and report["pending"]["signed_projects"]["count"] == 0
    assert county.delete(f"/api/v1/attachments/{aid}").status_code == 422  # evidence of a verified record


def test_snapshots_through_the_api(app, api_client):
    county, city = api_client("county_staff", "610902"), api_client("city_staff", None)
    pid = _project(app, county)
    assert county.post("/api/v1/snapshots", json={"year": 2026, "month": 1}).status_code == 403
    assert city.post("/api/v1/snapshots", json={"year": 2026, "month": 0}).status_code == 422
    made = city.post("/api/v1/snapshots", json={"year": 2026, "month": 1, "note": "1月"})
    assert made.status_code == 201
    snap = made.get_json()
    assert snap["figures"]["report"]["signed_projects"]["count"] == 1
    assert county.get(f"/api/v1/snapshots/{snap['id']}/diff").get_json() == []
    assert county.patch(f"/api/v1/projects/{pid}", json={"investment_total": "25000"}).status_code == 200
    diff = {d["path"]: d for d in county.get(f"/api/v1/snapshots/{snap['id']}/diff").get_json()}
    assert diff["signed_projects.investment"]["snapshot"] == 20000 and diff["signed_projects.investment"]["live"] == 25000
    again = county.get(f"/api/v1/snapshots/{snap['id']}").get_json()
    assert again["figures"]["report"]["signed_projects"]["investment"] == "20000.00"
    assert [s["id"] for s in county.get("/api/v1/snapshots?year=2026").get_json()] == [snap["id"]]


def test_the_openapi_document_describes_verification(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/verifications", "/api/v1/projects/{project_id}/verification/verify",
                 "/api/v1/funds/{funds_id}/verification/return", "/api/v1/projects/{project_id}/attachments",
                 "/api/v1/attachments/{attachment_id}", "/api/v1/snapshots", "/api/v1/snapshots/{snapshot_id}/diff"):
        assert path in paths, path
