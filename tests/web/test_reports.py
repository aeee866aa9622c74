"""The annual report page, its XLSX export and the admin targets grid."""
from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, Industry, Interaction, Lead, Project, Target, User
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
    assert "chart-levels" in page and "chart-industries" in page and "部门负责人带队" in page
    assert viewer.get("/reports/targets").status_code == 403


def test_annual_report_page_survives_bad_arguments(app, login_as):
    viewer = login_as("viewer", None)
    assert viewer.get("/reports/annual?year=abc&county_id=x").status_code == 200
    assert viewer.get("/reports/annual?year=99999").status_code == 200


def test_annual_page_charts_visits_by_leader_level_and_projects_by_industry(app, login_as):
    admin = login_as("admin", None)
    _seed(app, admin.user)
    hb = county_id(app, "610902")
    with app.test_request_context():
        lead = Lead(name="叩门企业", kind="enterprise", owner_county_id=hb)
        db.session.add(lead)
        db.session.flush()
        db.session.add(Interaction(lead_id=lead.id, kind="visit", leader_level="city", summary="x",
                                   occurred_at=datetime(2019, 3, 1, 2, 0, tzinfo=UTC)))
        project = db.session.scalars(select(Project).where(Project.name == "沣康医药")).one()
        project.industry_id = db.session.scalars(select(Industry.id).where(Industry.code == "tcm_herbs")).one()
        db.session.commit()
    page = admin.get("/reports/annual?year=2019").get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="annual-charts">(.*?)</script>', page, re.S).group(1))
    assert data["levels"][0] == {"name": "市级领导带队", "leads": 1, "visits": 1}
    assert [lv["leads"] for lv in data["levels"][1:]] == [0, 0, 0]
    assert data["industries"] == [{"name": "生物医药", "count": 1, "investment": 1191000.0}]


def test_export_of_the_chart_tables(app, login_as):
    admin = login_as("admin", None)
    _seed(app, admin.user)
    rows = _sheet(admin.get("/reports/annual.xlsx?year=2019&table=industries"))
    assert rows == [("所属行业", "签约项目数", "投资额（万元）"), ("未填行业", 1, 1191000)]
    rows = _sheet(admin.get("/reports/annual.xlsx?year=2019&table=visits"))
    assert rows[0][1:] == ("叩门考察企业", "拜访次数") and [r[1] for r in rows[1:]] == [0, 0, 0, 0]


def _sheet(response) -> list[tuple]:
    assert response.status_code == 200
    return list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))


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
