"""Project and event pages: list, kanban, detail, forms, stage and funds posts, permissions, phone width."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.extensions import db
from crm.models import Project, User
from crm.services import projects
from tests.conftest import county_id

NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)


def _project(app, user, **data):
    data.setdefault("county_id", county_id(app, "610902"))
    with app.test_request_context():
        return projects.create_project(db.session.get(User, user.id), {"name": "富硒茶深加工", **data}, now=NOW).id


@pytest.fixture
def hanbin(login_as):
    return login_as("county_staff", "610902")


def test_list_kanban_and_detail_render_for_a_viewer(app, hanbin, login_as):
    pid = _project(app, hanbin.user, stage="signed", signed_on="2019-01-05", investment_total="123456.78")
    viewer = login_as("viewer", None)
    page = viewer.get("/projects/").get_data(as_text=True)
    assert "富硒茶深加工" in page and "12.35 亿元" in page and "超" in page  # 超时限未开工 warning
    kanban = viewer.get("/projects/kanban").get_data(as_text=True)
    assert "kanban-col" in kanban and "富硒茶深加工" in kanban and "签约" in kanban
    detail = viewer.get(f"/projects/{pid}").get_data(as_text=True)
    assert "2019-01-05" in detail and "/stage" not in detail  # read-only: no stage form
    assert viewer.get("/projects/new").status_code == 403


def test_list_filters_by_stage_and_year(app, hanbin):
    _project(app, hanbin.user, name="甲项目", stage="signed", signed_on="2019-01-05")
    _project(app, hanbin.user, name="乙项目")
    page = hanbin.get("/projects/?stage=signed&year=2019").get_data(as_text=True)
    assert "甲项目" in page and "乙项目" not in page
    assert hanbin.get("/projects/?year=abc&stage=bogus&industry_id=x").status_code == 200


def test_create_project_through_the_form(app, hanbin):
    response = hanbin.post("/projects/new", data={"name": "毛绒玩具加工", "county_id": county_id(app, "610902"),
                                                  "industry_id": 0, "investment_total": "5000", "stage": "planned",
                                                  "source_channel": "", "referrer_id": 0, "event_id": 0})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.query(Project).filter_by(name="毛绒玩具加工").one().investment_total == 5000


def test_create_project_with_bad_amount_shows_the_error(app, hanbin):
    response = hanbin.post("/projects/new", data={"name": "x", "county_id": county_id(app, "610902"), "industry_id": 0,
                                                  "investment_total": "很多", "stage": "planned", "source_channel": "",
                                                  "referrer_id": 0, "event_id": 0})
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)


def test_stage_change_and_funds_forms(app, hanbin):
    pid = _project(app, hanbin.user, investment_total="1000")
    assert hanbin.post(f"/projects/{pid}/stage", data={"stage": "signed", "on": "2020-01-05"}).status_code == 302
    bad = hanbin.post(f"/projects/{pid}/stage", data={"stage": "planned", "on": "2020-02-01"})
    assert bad.status_code == 422 and "invalid-feedback" in bad.get_data(as_text=True)
    ok = hanbin.post(f"/projects/{pid}/funds", data={"amount": "100.5", "arrived_on": "2020-02-01",
                                                     "out_of_province": "y"})
    assert ok.status_code == 302
    assert hanbin.post(f"/projects/{pid}/funds", data={"amount": "-1", "arrived_on": "2020-02-01"}).status_code == 422
    detail = hanbin.get(f"/projects/{pid}").get_data(as_text=True)
    assert "100.50 万元" in detail and "2020-01-05" in detail


def test_other_county_cannot_post_stage_or_edit(app, hanbin, login_as):
    pid = _project(app, hanbin.user)
    other = login_as("county_staff", "610924")
    assert other.post(f"/projects/{pid}/stage", data={"stage": "signed"}).status_code == 403
    assert other.get(f"/projects/{pid}/edit").status_code == 403
    assert other.post(f"/projects/{pid}/delete").status_code == 403
    assert hanbin.get(f"/projects/{pid}/edit").status_code == 200


def test_pages_fit_a_phone(app, hanbin):
    _project(app, hanbin.user, stage="signed", signed_on="2020-01-05")
    page = hanbin.get("/projects/kanban").get_data(as_text=True)
    assert "overflow-x: auto" in page and "82vw" in page  # columns scroll sideways on a 390-px phone
    listing = hanbin.get("/projects/").get_data(as_text=True)
    assert "table-responsive" in listing and "d-none d-md-table-cell" in listing


def test_events_pages(app, login_as):
    city = login_as("city_staff", None)
    response = city.post("/events/new", data={"name": "雄安推介会", "held_on": "2019-03-19", "city": "雄安",
                                              "county_id": 0})
    assert response.status_code == 302
    detail = city.get(response.headers["Location"]).get_data(as_text=True)
    assert "雄安推介会" in detail and "市局" in detail
    assert "雄安推介会" in city.get("/events/?year=2019").get_data(as_text=True)
    viewer = login_as("viewer", None)
    assert viewer.get("/events/new").status_code == 403 and viewer.get("/events/").status_code == 200


def test_list_exports_the_filtered_projects(app, hanbin, login_as):
    import csv
    import io

    _project(app, hanbin.user, name="甲项目", stage="signed", signed_on="2019-01-05", is_foreign=True)
    _project(app, hanbin.user, name="乙项目", stage="signed", signed_on="2019-03-05")
    _project(app, hanbin.user, name="丙项目")
    page = hanbin.get("/projects/?stage=signed&year=2019&foreign=1&page=1").get_data(as_text=True)
    link = "/exports/projects.csv?stage=signed&amp;year=2019&amp;foreign=1"  # the list's filters, not its page
    assert f'href="{link}"' in page and "/exports/projects.xlsx?stage=signed" in page
    viewer = login_as("viewer", None)
    response = viewer.get("/exports/projects.csv?stage=signed&year=2019&foreign=1")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["甲项目"] and rows[1][2] == "已签约"
    everything = viewer.get("/exports/projects.xlsx")
    assert everything.status_code == 200 and everything.data.startswith(b"PK")
    for query in ("foreign=maybe", "stage=bogus", "year=abc"):
        assert viewer.get(f"/exports/projects.csv?{query}").status_code == 302  # refused with a flash, not a 500
