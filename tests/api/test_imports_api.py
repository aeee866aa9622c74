"""API: POST /imports (multipart) with row results, GET and DELETE (revert), GET /leads/export."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Contact, Lead
from tests.conftest import county_id


@pytest.fixture(autouse=True)
def _import_folder(app, tmp_path):
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")


def post(client, data: bytes, filename="leads.csv", **form):
    return client.post("/api/v1/imports", data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def test_post_import_returns_row_results_and_delete_reverts(app, api_client):
    client = api_client("county_staff", "610902")
    response = post(client, "企业名称,手机\n安康甲公司,13800000001\n,13800000002\n".encode("gbk"))
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["status"], body["created_count"], body["error_count"]) == ("done", 1, 1)
    assert body["results"] == [{"row_number": 3, "outcome": "rejected", "reason": "name_missing",
                                "message": "缺少名称。", "lead_id": None}]
    assert client.get(f"/api/v1/imports/{body['id']}").json["created_count"] == 1
    reverted = client.delete(f"/api/v1/imports/{body['id']}")
    assert reverted.status_code == 200 and reverted.json["status"] == "reverted"
    with app.app_context():
        assert db.session.scalar(select(Lead.id)) is None


def test_post_import_with_mapping_and_mode(app, api_client):
    client = api_client("county_staff", "610902")
    response = post(client, "甲,乙\n安康甲公司,备注一\n".encode(), mapping=json.dumps({"name": 0, "notes": 1}),
                    duplicate_mode="update")
    assert response.status_code == 201 and response.json["mapping"] == {"name": 0, "notes": 1}
    with app.app_context():
        assert db.session.scalar(select(Lead.notes)) == "备注一"


@pytest.mark.parametrize(("data", "filename"), [(b"PK\x03\x04broken", "x.xlsx"), (b"", "x.csv"),
                                                (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 64, "x.xls")])
def test_post_bad_file_is_422_problem(api_client, data, filename):
    response = post(api_client("county_staff", "610902"), data, filename)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"]["file"]


def test_post_without_file_is_422(api_client):
    response = api_client("county_staff", "610902").post("/api/v1/imports", data={},
                                                          content_type="multipart/form-data")
    assert response.status_code == 422


def test_viewer_cannot_import(api_client):
    assert post(api_client("viewer", None), "企业名称\n甲\n".encode()).status_code == 403


def test_other_countys_batch_is_404(api_client):
    owner = api_client("county_staff", "610902")
    batch_id = post(owner, "企业名称\n甲公司\n".encode()).json["id"]
    other = api_client("county_staff", "610924")
    assert other.get(f"/api/v1/imports/{batch_id}").status_code == 404
    assert other.delete(f"/api/v1/imports/{batch_id}").status_code == 404


def test_lead_export_csv_masks_and_does_not_clash_with_lead_ids(app, api_client):
    owner = county_id(app, "610924")
    with app.app_context():
        lead = Lead(name="紫阳甲公司", name_key="紫阳甲", owner_county_id=owner)
        lead.contacts.append(Contact(name="王总", mobile="13812345678", mobile_key="13812345678"))
        db.session.add(lead)
        db.session.commit()
    client = api_client("county_staff", "610902")
    response = client.get(f"/api/v1/leads/export?format=csv&county_id={owner}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    assert "紫阳甲公司" in text and "138****5678" in text and "13812345678" not in text
    assert client.get("/api/v1/leads/export?format=pdf").status_code == 422


def test_reading_row_results_through_the_api_is_audited_once_per_user_and_batch(app, api_client):
    from crm.models import AuditEntry

    client = api_client("county_staff", "610902")
    body = post(client, "企业名称,手机\n安康甲公司,1380000\n".encode()).json
    for _ in range(3):
        client.get(f"/api/v1/imports/{body['id']}")
    with app.app_context():
        traces = db.session.scalars(select(AuditEntry.summary).where(
            AuditEntry.action == "export", AuditEntry.object_type == "import_batch",
            AuditEntry.object_id == body["id"], AuditEntry.actor_id == client.user.id)).all()
        assert traces == ["rows.api (1)"]


def test_delete_import_keeps_a_lead_handed_to_another_county_and_says_why(app, api_client):
    client, city = api_client("county_staff", "610902"), api_client("city_staff", None)
    body = post(client, "企业名称\n安康甲公司\n安康乙公司\n".encode()).json
    with app.app_context():
        moved = db.session.scalar(select(Lead.id).where(Lead.name == "安康甲公司"))
    assert city.patch(f"/api/v1/leads/{moved}", json={"owner_county_id": county_id(app, "610924")}).status_code == 200
    reverted = client.delete(f"/api/v1/imports/{body['id']}").json
    assert reverted["status"] == "reverted"
    revert = reverted["revert"]
    assert (revert["deleted"], revert["restored"], revert["kept"]) == (1, 0, 1)
    assert revert["kept_leads"] == [{"lead_id": moved, "name": "安康甲公司", "was": "created", "reason": "transferred",
                                     "message": "导入后已移交给其他区县。"}]
    assert [r["name"] for r in revert["reverted_leads"]] == ["安康乙公司"]
    assert client.get(f"/api/v1/imports/{body['id']}").json["revert"] == revert
    ziyang = county_id(app, "610924")
    with app.app_context():
        assert db.session.get(Lead, moved).owner_county_id == ziyang
