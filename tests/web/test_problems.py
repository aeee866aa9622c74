"""Problem pages through the client: raising from a visit, the department contact's narrow world, bad input sent
back in Chinese with nothing saved, the 联席会议 agenda on a later day, its one-step decisions, the 督办单 in print and
XLSX, the departments admin, the dashboard tile."""
from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from crm.extensions import db
from crm.models import Followup, Problem, User
from crm.services import problems
from crm.services.departments import department_by_code, load_reference_departments
from tests.conftest import login


@pytest.fixture
def world(app, make_user):
    from crm.services.counties import county_by_code
    from crm.services.interactions import log_interaction
    from crm.services.leads import create_lead
    from crm.services.projects import create_project

    with app.app_context():
        load_reference_departments()
        land, power = department_by_code("CITY-ZRZY").id, department_by_code("CITY-GD").id
        hanbin = county_by_code("610902").id
    county = make_user("county_staff", "610902")
    city = make_user("city_staff", None)
    contact = make_user("department", None, department_id=land)
    other_contact = make_user("department", None, department_id=power)
    now = datetime.now(UTC)
    with app.test_request_context():
        actor = db.session.get(User, county.id)
        lead = create_lead(actor, {"name": "安康富硒茶业有限公司", "kind": "enterprise"}, now=now)
        visit = log_interaction(actor, {"kind": "visit", "summary": "企业反映二期用地问题"}, lead_id=lead.id, now=now)
        project = create_project(actor, {"name": "富硒茶深加工项目", "county_id": hanbin}, now=now)
        ids = {"lead": lead.id, "visit": visit.id, "project": project.id, "land": land, "power": power}
    return {"county": county, "city": city, "contact": contact, "other_contact": other_contact, **ids}


def client_for(app, user):
    c = app.test_client()
    assert login(c, user).status_code == 302
    return c


def raise_via_form(client, world, **extra):
    page = client.get(f"/problems/new?interaction_id={world['visit']}")
    assert page.status_code == 200 and "反映问题" in page.get_data(as_text=True)
    assert re.search(rf'<option selected value="{world["lead"]}">', page.get_data(as_text=True))  # the visit's lead
    data = {"title": "二期用地未交付", "category": "land", "severity": "pressing", "project_id": 0,
            "lead_id": world["lead"], "department_id": 0, "detail": "企业急需", "source_interaction_id": world["visit"],
            "source_followup_id": "", **extra}
    return client.post("/problems/new", data=data)


def test_a_county_raises_a_problem_from_a_visit(app, world):
    client = client_for(app, world["county"])
    response = raise_via_form(client, world)
    assert response.status_code == 302 and "/problems/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "二期用地未交付" in page and "待受理" in page and "安康富硒茶业有限公司" in page
    with app.app_context():
        problem = db.session.scalar(db.select(Problem))
        assert problem.source_interaction_id == world["visit"] and problem.lead_id == world["lead"]
        assert problem.deadline_on == datetime.now(UTC).astimezone(problems.TZ).date() + timedelta(days=15)
    lead_page = client.get(f"/leads/{world['lead']}").get_data(as_text=True)
    assert f"/problems/new?interaction_id={world['visit']}" in lead_page


def test_a_past_deadline_is_refused_in_chinese_and_nothing_is_saved(app, world):
    client = client_for(app, world["county"])
    response = raise_via_form(client, world, deadline_on="2020-01-01")
    assert response.status_code == 200 and "办结时限不能早于今天" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Problem.id))) == 0


def _routed(app, world) -> int:
    with app.test_request_context():
        pid = problems.raise_problem(db.session.get(User, world["county"].id),
                                     {"title": "二期用地未交付", "category": "land", "project_id": world["project"]},
                                     now=datetime.now(UTC)).id
        problems.route_problem(db.session.get(User, world["city"].id), pid, world["land"], now=datetime.now(UTC))
    return pid


def test_a_department_contact_sees_only_their_problems_and_the_project_by_name(app, world):
    pid = _routed(app, world)
    client = client_for(app, world["contact"])
    assert client.get("/").headers["Location"].endswith("/problems/")
    listing = client.get("/problems/").get_data(as_text=True)
    assert "二期用地未交付" in listing
    detail = client.get(f"/problems/{pid}").get_data(as_text=True)
    assert "富硒茶深加工项目" in detail and f'href="/projects/{world["project"]}"' not in detail
    navbar = listing.split("<main")[0]
    assert "问题督办" in navbar and 'href="/leads/"' not in navbar and 'href="/projects/"' not in navbar
    for url in (f"/projects/{world['project']}", f"/leads/{world['lead']}", "/followups/mine", "/search",
                "/problems/meeting", "/problems/new"):
        assert client.get(url).status_code == 403, url
    response = client.post(f"/problems/{pid}/advance", data={"status": "in_progress", "text": "已现场踏勘"})
    assert response.status_code == 302
    other = client_for(app, world["other_contact"])
    refused = other.post(f"/problems/{pid}/advance", data={"status": "resolved", "text": "办结"})
    assert refused.status_code == 403 and "该问题属于其他部门" in refused.get_data(as_text=True)
    assert "二期用地未交付" not in other.get(f"/problems/{pid}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Problem, pid).status == "in_progress"


def test_a_rating_outside_one_to_five_and_a_confirmation_before_resolution_are_refused(app, world):
    pid = _routed(app, world)
    county = client_for(app, world["county"])
    response = county.post(f"/problems/{pid}/confirm", data={"satisfaction": "5"}, follow_redirects=True)
    assert "须先由部门办结" in response.get_data(as_text=True)
    client_for(app, world["contact"]).post(f"/problems/{pid}/advance", data={"status": "resolved", "text": "已批复"})
    response = county.post(f"/problems/{pid}/confirm", data={"satisfaction": "7"}, follow_redirects=True)
    assert "1–5" in response.get_data(as_text=True) or "1 到 5" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Problem, pid).status == "resolved"
    response = county.post(f"/problems/{pid}/confirm", data={"satisfaction": "4", "text": "满意"},
                           follow_redirects=True)
    assert "企业确认" in response.get_data(as_text=True)
    with app.app_context():
        problem = db.session.get(Problem, pid)
        assert (problem.status, problem.satisfaction) == ("confirmed", 4)


def test_the_joint_meeting_shows_overdue_on_a_later_day_and_decides_in_one_step(app, world):
    pid = _routed(app, world)
    city = client_for(app, world["city"])
    with app.app_context():
        deadline = db.session.get(Problem, pid).deadline_on
    today = city.get("/problems/meeting").get_data(as_text=True)
    assert f'id="agenda-{pid}" data-overdue="0"' in today
    later = city.get(f"/problems/meeting?on={(deadline + timedelta(days=3)).isoformat()}").get_data(as_text=True)
    assert f'id="agenda-{pid}" data-overdue="1"' in later and "逾期 3 天" in later
    response = city.post(f"/problems/{pid}/decide", data={f"p{pid}-decision": "followup",
                                                          f"p{pid}-text": "汉滨区协调村组腾退",
                                                          f"p{pid}-due_at": (date.today() + timedelta(days=5))
                                                          .isoformat()})
    assert response.status_code == 302
    with app.app_context():
        fu = db.session.scalar(db.select(Followup).where(Followup.title == "汉滨区协调村组腾退"))
        assert fu is not None and fu.project_id == world["project"]
    assert client_for(app, world["county"]).get("/problems/meeting").status_code == 403


def test_the_supervision_sheet_prints_and_downloads(app, world):
    _routed(app, world)
    city = client_for(app, world["city"])
    assert "市自然资源局" in city.get("/problems/sheets").get_data(as_text=True)
    page = city.get(f"/problems/sheets/{world['land']}").get_data(as_text=True)
    assert "招商项目问题督办单" in page and "@media print" in page and "二期用地未交付" in page
    response = city.get(f"/problems/sheets/{world['land']}.xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[2]][1] == "二期用地未交付"


def test_admins_edit_the_departments(app, world, make_user):
    admin = client_for(app, make_user("admin", None))
    assert "市自然资源局" in admin.get("/admin/departments").get_data(as_text=True)
    response = admin.post("/admin/departments/new", data={"code": "CITY-WJ", "name": "市文化和旅游局", "county_id": 0,
                                                          "sort_order": 50, "is_active": "y"})
    assert response.status_code == 302
    again = admin.post("/admin/departments/new", data={"code": "CITY-WJ", "name": "重复", "county_id": 0})
    assert "该编码已被使用" in again.get_data(as_text=True)
    assert client_for(app, world["city"]).get("/admin/departments").status_code == 403


def test_the_home_page_shows_the_problem_tile(app, world):
    _routed(app, world)
    page = client_for(app, world["county"]).get("/").get_data(as_text=True)
    assert 'id="problem-tile"' in page and "问题督办" in page
