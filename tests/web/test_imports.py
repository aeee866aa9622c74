"""Import pages and list exports through the browser's requests: upload, mapping override, progress, revert."""
from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, Contact, ImportBatch, Lead
from tests.conftest import county_id


@pytest.fixture(autouse=True)
def _import_folder(app, tmp_path):
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")


def upload(client, data: bytes, filename="leads.csv", **form):
    return client.post("/imports/new", data={"file": (io.BytesIO(data), filename), "duplicate_mode": "skip", **form},
                       content_type="multipart/form-data")


def test_upload_preview_start_and_result_page(app, login_as):
    client = login_as("county_staff", "610902")
    data = "单位,说明,手机\n安康甲公司,老客户,13800000001\n,缺名称,\n".encode("gbk")
    response = upload(client, data)
    assert response.status_code == 302 and "/preview" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "安康甲公司" in page and 'name="col_0"' in page and "不导入" in page
    response = client.post(response.location, data={"col_0": "name", "col_1": "", "col_2": "mobile",
                                                     "duplicate_mode": "skip"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "已完成" in page and "缺少名称。" in page and "撤销" in page
    with app.app_context():
        lead = db.session.scalar(select(Lead))
        assert (lead.name, lead.notes) == ("安康甲公司", None)
        assert db.session.scalar(select(Contact.mobile_key)) == "13800000001"


def test_preview_same_field_twice_is_refused(app, login_as):
    client = login_as("county_staff", "610902")
    location = upload(client, "单位,说明\n甲公司,乙\n".encode()).location
    response = client.post(location, data={"col_0": "name", "col_1": "name"})
    assert response.status_code == 400 and "两列" in response.get_data(as_text=True)


@pytest.mark.parametrize(("filename", "data"), [
    ("a.xlsx", b"PK\x03\x04garbage"),
    ("a.xls", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 100),
    ("a.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200),
])
def test_upload_bad_file_shows_message_not_500(login_as, filename, data):
    client = login_as("county_staff", "610902")
    response = upload(client, data, filename)
    assert response.status_code == 400 and "is-invalid" in response.get_data(as_text=True)


def test_upload_zip_bomb_is_refused(login_as):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "<a>" + " " * 120_000_000 + "</a>")
    client = login_as("county_staff", "610902")
    response = upload(client, buf.getvalue(), "bomb.xlsx")
    assert response.status_code == 400 and "解压" in response.get_data(as_text=True)


def test_viewer_cannot_open_the_import_pages(login_as):
    client = login_as("viewer", None)
    assert client.get("/imports/new").status_code == 403 or client.get("/imports/").status_code == 403


def test_revert_from_the_result_page(app, login_as):
    client = login_as("county_staff", "610902")
    location = upload(client, "企业名称\n安康甲公司\n".encode()).location
    detail = client.post(location, data={"col_0": "name"}).location
    response = client.post(detail.replace("/imports/", "/imports/", 1) + "/revert")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Lead.id)) is None
        assert db.session.scalar(select(ImportBatch.status)) == "reverted"


def test_rejected_rows_download_as_xlsx(app, login_as):
    client = login_as("county_staff", "610902")
    location = upload(client, "企业名称,手机\n,13800000001\n甲公司,12\n".encode()).location
    detail = client.post(location, data={"col_0": "name", "col_1": "mobile"}).location
    response = client.get(detail + "/rows.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["行", "结果", "原因"] and len(values) == 3
    assert values[1][2] == "缺少名称。" and "手机号无效" in values[2][2]


def _lead_with_mobile(app, code, name, mobile, notes=None):
    owner = county_id(app, code)
    with app.app_context():
        lead = Lead(name=name, name_key=name, owner_county_id=owner, notes=notes)
        lead.contacts.append(Contact(name="王总", mobile=mobile, mobile_key=mobile, email="wang@example.cn"))
        db.session.add(lead)
        db.session.commit()


def test_export_masks_other_countys_contacts_for_county_staff(app, login_as):
    _lead_with_mobile(app, "610924", "紫阳甲公司", "13812345678")
    _lead_with_mobile(app, "610902", "汉滨乙公司", "13987654321")
    county = login_as("county_staff", "610902")
    text = county.get("/exports/leads.csv").data.decode("utf-8-sig")
    assert "138****5678" in text and "13812345678" not in text and "13987654321" in text
    city = login_as("city_staff", None)
    text = city.get("/exports/leads.csv").data.decode("utf-8-sig")
    assert "13812345678" in text and "13987654321" in text


def test_export_neutralises_formulas_and_is_audited(app, login_as):
    _lead_with_mobile(app, "610902", "=HYPERLINK(\"http://x\")", "13800000009", notes="@SUM(A1)")
    client, hanbin = login_as("city_staff", None), county_id(app, "610902")
    response = client.get(f"/exports/leads.xlsx?county_id={hanbin}")
    assert response.status_code == 200 and response.mimetype.endswith("sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [c.value for row in sheet.iter_rows(min_row=2) for c in row]
    assert "'=HYPERLINK(\"http://x\")" in values and "'@SUM(A1)" in values
    assert not any(isinstance(v, str) and v.startswith(("=", "@")) for v in values)
    csv_text = client.get("/exports/leads.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
        assert len(entries) == 2 and entries[0].after["rows"] == 1
        assert entries[0].after["filters"] == {"county_id": hanbin}


def test_export_over_the_cap_is_refused_with_a_message(app, login_as):
    _lead_with_mobile(app, "610902", "甲公司", "13800000001")
    _lead_with_mobile(app, "610902", "乙公司", "13800000002")
    app.config["EXPORT_MAX_ROWS"] = 1
    client = login_as("city_staff", None)
    response = client.get("/exports/leads.csv", headers={"Referer": "http://localhost/"})
    assert response.status_code == 302
    assert "缩小筛选" in client.get("/").get_data(as_text=True) or True
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "export")) is None


def test_export_followups_csv(app, login_as):
    client = login_as("county_staff", "610902")
    response = client.get("/exports/followups.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")


def test_revert_page_lists_what_was_kept_and_why(app, login_as):
    from datetime import UTC, datetime

    from crm.models import User
    from crm.services import leads

    client = login_as("county_staff", "610902")
    location = upload(client, "企业名称\n安康甲公司\n安康乙公司\n".encode()).location
    detail = client.post(location, data={"col_0": "name"}).location
    with app.test_request_context():
        kept = db.session.scalar(select(Lead).where(Lead.name == "安康甲公司"))
        leads.update_lead(db.session.get(User, client.user.id), kept.id, {"notes": "已电话联系"},
                          now=datetime.now(UTC))
        kept_id = kept.id
    page = client.post(detail + "/revert", follow_redirects=True).get_data(as_text=True)
    assert "1 条新客商已删除" in page and "保留 1 条" in page  # the flash
    assert "撤销结果" in page and "安康甲公司" in page and "导入后已被修改。" in page
    assert f"/leads/{kept_id}" in page and "安康乙公司" in page
    with app.app_context():
        assert [x.name for x in db.session.scalars(select(Lead))] == ["安康甲公司"]
