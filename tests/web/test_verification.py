"""认定 and 月报 pages (issue 15, items 4–5): the queue, a project's evidence page (upload refused with a clear
message, download with attachment headers, never to another county), verify in one step, monthly snapshots
shown as frozen with the changed cells highlighted against the live figures, and their XLSX in the annual layout."""
from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from crm.extensions import db
from crm.models import EvidenceAttachment, User
from crm.services import projects, snapshots
from tests.conftest import county_id

PDF = b"%PDF-1.4\n%%EOF\n"
NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def _project(app, user_ref, **data):
    cid = county_id(app, "610902")
    with app.test_request_context():
        actor = db.session.get(User, user_ref.id)
        return projects.create_project(actor, {"name": "富硒茶深加工项目", "county_id": cid, "stage": "signed",
                                               "signed_on": "2026-03-01", "investment_total": "12000", **data},
                                       now=NOW).id


def test_upload_verify_and_download_through_the_pages(app, login_as):
    app.config["REPORTS_COUNT_VERIFIED_ONLY"] = True
    county = login_as("county_staff", "610902")
    verifier = login_as("city_staff", None, can_verify=True)
    other = login_as("county_staff", "610924")
    pid = _project(app, county.user)

    page = county.get(f"/verification/projects/{pid}")
    assert page.status_code == 200 and "待认定" in page.get_data(as_text=True)
    fake = county.post(f"/verification/projects/{pid}/attachments", data={
        "kind": "contract", "funds_id": "", "file": (io.BytesIO(b"GIF89a not a pdf"), "合同.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "PDF、JPEG" in fake.get_data(as_text=True) or "PDF" in fake.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(EvidenceAttachment).count() == 0
    ok = county.post(f"/verification/projects/{pid}/attachments", data={
        "kind": "contract", "funds_id": "", "file": (io.BytesIO(PDF), "合同.pdf")}, content_type="multipart/form-data")
    assert ok.status_code == 302
    with app.app_context():
        aid = db.session.query(EvidenceAttachment.id).scalar()

    got = county.get(f"/verification/attachments/{aid}")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert other.get(f"/verification/attachments/{aid}").status_code == 403
    assert "合同.pdf" not in other.get(f"/verification/projects/{pid}").get_data(as_text=True)

    assert county.get("/verification/").status_code == 403
    queue = verifier.get("/verification/")
    assert queue.status_code == 200 and "富硒茶深加工项目" in queue.get_data(as_text=True)
    assert county.post(f"/verification/signings/{pid}/verify").status_code == 403
    assert verifier.post(f"/verification/signings/{pid}/verify", data={"next": "queue"}).status_code == 302
    report = verifier.get("/reports/annual?year=2026").get_data(as_text=True)
    assert 'id="pending"' in report
    assert "已认定" in verifier.get(f"/verification/projects/{pid}").get_data(as_text=True)


def test_monthly_snapshot_pages_show_the_frozen_figures_and_highlight_changes(app, login_as):
    city = login_as("city_staff", None)
    county = login_as("county_staff", "610902")
    pid = _project(app, county.user)
    assert county.post("/reports/snapshots/freeze", data={"year": 2026, "month": 5}).status_code == 403
    made = city.post("/reports/snapshots/freeze", data={"year": 2026, "month": 5, "note": "报市政府"})
    assert made.status_code == 302
    sid = int(made.headers["Location"].rsplit("/", 1)[-1])
    bad = city.post("/reports/snapshots/freeze", data={"year": 2026, "month": 13}, follow_redirects=True)
    assert "1–12" in bad.get_data(as_text=True) or "月份" in bad.get_data(as_text=True)

    with app.test_request_context():
        projects.update_project(db.session.get(User, county.user.id), pid, {"investment_total": "15000"}, now=NOW)
    page = county.get(f"/reports/snapshots/{sid}?diff=1").get_data(as_text=True)
    assert "table-warning" in page and "signed_projects.investment" in page
    assert "报市政府" in county.get("/reports/snapshots/").get_data(as_text=True)

    sheet = load_workbook(io.BytesIO(county.get(f"/reports/snapshots/{sid}.xlsx?table=figures").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    live = load_workbook(io.BytesIO(county.get("/reports/annual.xlsx?year=2026&table=figures").data)).active
    assert rows[0] == next(live.iter_rows(values_only=True))  # the annual report's layout
    assert rows[2][1] == 12000 and list(live.iter_rows(values_only=True))[2][1] == 15000
    assert county.get(f"/reports/snapshots/{sid}.xlsx?table=nope").status_code == 404
    with app.app_context():
        assert snapshots.figures(db.session.get(snapshots.ReportSnapshot, sid))["report"]["year"] == 2026


def test_a_project_signed_again_by_another_county_warns_on_its_page(app, login_as):
    hanbin, ziyang = login_as("county_staff", "610902"), login_as("county_staff", "610924")
    first = _project(app, hanbin.user, name="汉江生态旅游度假区项目")
    again = _project(app, ziyang.user, name="汉江生态旅游度假区项目", county_id=county_id(app, "610924"))
    page = ziyang.get(f"/projects/{again}").get_data(as_text=True)
    assert "疑似与以下项目重复签约" in page and f"/projects/{first}" in page
    other = _project(app, hanbin.user, name="汉江生态旅游度假区二期2项目")
    assert "疑似与以下项目重复签约" not in hanbin.get(f"/projects/{other}").get_data(as_text=True)
