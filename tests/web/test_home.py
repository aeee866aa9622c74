"""The start page: the leaders' dashboard for viewers and city staff (the year against target, pipeline, ranking,
overdue follow-ups, recent signings); the quick "log a visit" button and today's follow-up counts for staff."""
from __future__ import annotations

from datetime import UTC, datetime

from crm.extensions import db
from crm.models import User
from crm.services import projects, targets
from tests.conftest import county_id

NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)


def _seed(app, admin_id):
    hb = county_id(app, "610902")
    with app.test_request_context():
        actor = db.session.get(User, admin_id)
        pid = projects.create_project(actor, {"name": "沣康医药", "county_id": hb, "stage": "signed",
                                              "signed_on": "2019-05-12", "investment_total": "1191000"}, now=NOW).id
        # the city's whole year on one project: more than its investment, so confirmed
        projects.add_funds(actor, pid, "7767800", "2019-06-01", True, "4830", confirm_over=True, now=NOW)
        projects.create_project(actor, {"name": "旧年项目", "county_id": hb, "stage": "signed",
                                        "signed_on": "2020-02-01", "investment_total": "100"}, now=NOW)
        targets.set_targets(actor, 2019, [{"metric": "signed_count", "value": 2},
                                          {"metric": "funds_in_place", "value": "7730700"},
                                          {"county_id": hb, "metric": "signed_count", "value": 1}], now=NOW)


def test_home_for_county_staff_offers_log_a_visit_and_counts(login_as):
    page = login_as("county_staff").get("/").get_data(as_text=True)
    assert "登记接洽" in page and "已逾期" in page and "今天到期" in page
    assert "目标完成情况" not in page and "完整年度报表" not in page


def test_home_for_admin_is_the_start_page_not_the_dashboard(login_as):
    page = login_as("admin", None).get("/").get_data(as_text=True)
    assert "目标完成情况" not in page and "登记接洽" in page


def test_dashboard_for_a_leader_shows_the_year_against_target(app, login_as):
    viewer = login_as("viewer", None)
    _seed(app, login_as("admin", None).user.id)
    response = viewer.get("/?year=2019")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2019 年目标完成情况" in page
    assert "登记接洽" not in page and "已逾期" not in page  # leaders log nothing and have no follow-ups of their own
    # one project signed of a target of 2; 119.10亿 signed; funds 776.78亿 of 773.07亿 = 100.48%
    assert "50.00%" in page and "119.10 亿元" in page and "776.78 亿元" in page and "100.48%" in page
    assert "4,830.00 万美元" in page and "未设目标" in page  # foreign capital has no target
    assert "县区考核排名前五" in page and "汉滨区" in page and "各县区逾期跟进任务" in page
    assert "沣康医药" in page and "旧年项目" not in page  # signed in 2020: not among 2019's recent signings
    assert "/reports/annual?year=2019" in page


def test_dashboard_for_city_staff_keeps_log_a_visit_and_follow_up_counts(app, login_as):
    city = login_as("city_staff", None)
    _seed(app, login_as("admin", None).user.id)
    page = city.get("/?year=2019").get_data(as_text=True)
    assert "2019 年目标完成情况" in page and "119.10 亿元" in page and "沣康医药" in page
    assert "登记接洽" in page and "已逾期" in page and "今天到期" in page


def test_dashboard_of_a_county_leader_has_no_city_wide_follow_up_overview(app, login_as):
    page = login_as("viewer", None, county_id=county_id(app, "610924")).get("/").get_data(as_text=True)
    assert "目标完成情况" in page and "各县区逾期跟进任务" not in page


def test_dashboard_survives_bad_years(login_as):
    viewer = login_as("viewer", None)
    for query in ("year=abc", "year=99999", "year=-1", "year=1999"):
        response = viewer.get(f"/?{query}")
        assert response.status_code == 200 and "目标完成情况" in response.get_data(as_text=True)
