"""Problem rules: raising with a deadline from the severity, routing (the city to any, a county to its own
departments), 办理/办结 by the department's contacts only, the enterprise's confirmation with a 1–5 rating, leaders'
批示, visibility by county and department, escalation of overdue problems, the digest, the 联席会议 and 督办单."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale

from crm.extensions import db
from crm.models import Followup, Notification, Problem, ProblemEntry, User
from crm.services import problem_oversight, problems, reminders
from crm.services.departments import department_by_code, load_reference_departments
from crm.services.errors import InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can
from crm.services.projects import create_project

NOW = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Ankang
TODAY = date(2027, 3, 10)
COVERED_ACTIONS = {"problem.list", "problem.view", "problem.raise", "problem.edit", "problem.route", "problem.handle",
                   "problem.confirm", "problem.instruct", "problem.oversee", "problem.decide", "department.manage"}


class City:
    """Ids of a small city: users per role, two departments' contacts, a project in 汉滨区."""

    def __init__(self, app, make_user):
        from crm.services.counties import county_by_code

        with app.app_context():
            load_reference_departments()
            self.land = department_by_code("CITY-ZRZY").id  # 市自然资源局
            self.power = department_by_code("CITY-GD").id  # 国网安康供电公司
            self.hanbin_land = department_by_code("610902-ZRZY").id
            self.ziyang_land = department_by_code("610924-ZRZY").id
            self.hanbin = county_by_code("610902").id
        self.county = make_user("county_staff", "610902").id
        self.other = make_user("county_staff", "610924").id
        self.city = make_user("city_staff", None).id
        self.admin = make_user("admin", None).id
        self.leader = make_user("viewer", None).id
        self.county_leader = make_user("viewer", None, county_id=self.hanbin).id
        self.land_contact = make_user("department", None, department_id=self.land).id
        self.power_contact = make_user("department", None, department_id=self.power).id
        with app.app_context():
            self.project = create_project(user(self.county), {"name": "富硒茶深加工项目", "county_id": self.hanbin},
                                          now=NOW).id


@pytest.fixture
def city(app, make_user):
    return City(app, make_user)


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def raise_one(city: City, *, now=NOW, **data) -> int:
    data = {"title": "二期用地未交付", "category": "land", "project_id": city.project, **data}
    return problems.raise_problem(user(city.county), data, now=now).id


def kinds(problem_id: int) -> list[str]:
    return list(db.session.scalars(db.select(ProblemEntry.kind).where(ProblemEntry.problem_id == problem_id)
                                   .order_by(ProblemEntry.id)))


def test_the_deadline_follows_the_severity_and_a_past_one_is_refused(app, city):
    with app.test_request_context():
        normal = db.session.get(Problem, raise_one(city))
        urgent = db.session.get(Problem, raise_one(city, severity="urgent"))
        assert normal.deadline_on == TODAY + timedelta(days=30) and urgent.deadline_on == TODAY + timedelta(days=7)
        assert normal.county_id == city.hanbin and normal.status == "pending" and kinds(normal.id) == ["raised"]
        with pytest.raises(InvalidInput) as error:
            raise_one(city, deadline_on="2027-03-09")
        with force_locale("zh"):
            assert "过去" in str(error.value.errors["deadline_on"][0])
        assert db.session.scalar(db.select(db.func.count(Problem.id))) == 2  # nothing half-saved


def test_a_county_raises_only_on_its_own_projects(app, city):
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            problems.raise_problem(user(city.other), {"title": "用电", "category": "utilities",
                                                      "project_id": city.project}, now=NOW)
        with pytest.raises(InvalidInput) as error:
            problems.raise_problem(user(city.county), {"title": "用电", "category": "nonsense"}, now=NOW)
        assert set(error.value.errors) == {"category", "project_id"}


def test_a_problem_raised_from_a_visit_takes_its_lead(app, city):
    from crm.services.interactions import log_interaction
    from crm.services.leads import create_lead

    with app.test_request_context():
        lead = create_lead(user(city.county), {"name": "安康富硒茶业有限公司", "kind": "enterprise"}, now=NOW)
        visit = log_interaction(user(city.county), {"kind": "visit", "summary": "企业反映用地问题"}, lead_id=lead.id,
                                now=NOW)
        problem = problems.raise_problem(user(city.county), {"title": "用地指标", "category": "land",
                                                             "source_interaction_id": visit.id}, now=NOW)
        assert problem.lead_id == lead.id and problem.county_id == city.hanbin


def test_the_city_routes_anywhere_a_county_only_to_its_own_departments(app, city):
    with app.test_request_context():
        pid = raise_one(city)
        with pytest.raises(InvalidInput):
            problems.route_problem(user(city.county), pid, city.land, now=NOW)  # a city department
        with pytest.raises(InvalidInput):
            problems.route_problem(user(city.county), pid, city.ziyang_land, now=NOW)  # another county's
        problems.route_problem(user(city.county), pid, city.hanbin_land, now=NOW)
        problems.route_problem(user(city.city), pid, city.land, "请市局协调", now=NOW)
        problem = db.session.get(Problem, pid)
        assert problem.department_id == city.land and kinds(pid) == ["raised", "routed", "routed"]
        assert db.session.scalar(db.select(Notification.title).where(Notification.user_id == city.land_contact))


def test_the_whole_loop_from_raised_to_confirmed(app, city):
    with app.test_request_context():
        pid = raise_one(city)
        problems.route_problem(user(city.city), pid, city.land, now=NOW)
        with pytest.raises(InvalidInput) as error:
            problems.confirm_problem(user(city.county), pid, 5, now=NOW)  # not resolved yet
        with force_locale("zh"):
            assert "已办结" in str(error.value.errors["status"][0])
        problems.advance_problem(user(city.land_contact), pid, "in_progress", "已现场踏勘，正在组卷报批", now=NOW)
        problems.advance_problem(user(city.land_contact), pid, "resolved", "用地批复已下达", now=NOW)
        for bad in (0, 6, "abc", "3.5", None, True):
            with pytest.raises(InvalidInput):
                problems.confirm_problem(user(city.county), pid, bad, now=NOW)
        assert db.session.get(Problem, pid).status == "resolved"
        problems.confirm_problem(user(city.county), pid, "4", "企业表示满意", now=NOW)
        problem = db.session.get(Problem, pid)
        assert (problem.status, problem.satisfaction) == ("confirmed", 4)
        assert kinds(pid) == ["raised", "routed", "progress", "resolved", "confirmed"]


def test_a_department_contact_acts_only_on_its_own_departments_problems(app, city):
    with app.test_request_context():
        pid = raise_one(city)
        problems.route_problem(user(city.city), pid, city.land, now=NOW)
        with pytest.raises(PermissionDenied) as error:  # another department's problem: refused, said why
            problems.advance_problem(user(city.power_contact), pid, "in_progress", "处理中", now=NOW)
        with force_locale("zh"):
            assert "其他部门" in str(error.value.message)
        assert not can(user(city.power_contact), "problem.handle", db.session.get(Problem, pid))
        assert db.session.get(Problem, pid).status == "pending" and kinds(pid) == ["raised", "routed"]
        problems.route_problem(user(city.city), pid, city.power, now=NOW)
        db.session.expire_all()
        # once it moved on, the land contact may not even read it
        with pytest.raises(PermissionDenied):
            problems.get_problem(user(city.land_contact), pid)


def test_visibility_by_county_and_department(app, city):
    with app.test_request_context():
        pid = raise_one(city)
        problem = db.session.get(Problem, pid)
        for who in (city.county, city.city, city.admin, city.leader, city.county_leader):
            assert problems.get_problem(user(who), pid).id == pid
        with pytest.raises(NotFound):
            problems.get_problem(user(city.other), pid)
        with pytest.raises(PermissionDenied):  # not routed to them (yet)
            problems.get_problem(user(city.land_contact), pid)
        assert problems.target_name(problem) == "富硒茶深加工项目"


def test_leaders_instruct_county_staff_do_not(app, city):
    with app.test_request_context():
        pid = raise_one(city)
        problems.instruct_problem(user(city.leader), pid, "请自然资源局本周内拿出方案", now=NOW)
        with pytest.raises(PermissionDenied):
            problems.instruct_problem(user(city.county), pid, "我来批示", now=NOW)
        assert kinds(pid) == ["raised", "instruction"]


def test_overdue_problems_escalate_to_the_county_head_then_the_city_once_each(app, city):
    with app.test_request_context():
        pid = raise_one(city, severity="urgent")  # deadline 2027-03-17
        problems.route_problem(user(city.city), pid, city.land, now=NOW)
        assert problem_oversight.escalate_overdue(NOW + timedelta(days=7), city_days=7) == 0  # due today: not late
        late = NOW + timedelta(days=8)
        assert problem_oversight.escalate_overdue(late, city_days=7) > 0
        assert db.session.get(Problem, pid).escalation_level == 1
        told = set(db.session.scalars(db.select(Notification.user_id).where(Notification.kind == "problem",
                                                                            Notification.title.contains("逾期")
                                                                            | Notification.title.contains("Overdue"))))
        assert {city.county, city.county_leader, city.land_contact} <= told and city.city not in told
        assert problem_oversight.escalate_overdue(late, city_days=7) == 0  # planned once
        assert problem_oversight.escalate_overdue(NOW + timedelta(days=15), city_days=7) > 0
        assert db.session.get(Problem, pid).escalation_level == 2
        assert db.session.scalar(db.select(Notification.id).where(Notification.user_id == city.city,
                                                                  Notification.kind == "problem"))
        assert kinds(pid).count("escalated") == 2
        digest = reminders.digest_for(user(city.county), late)
        assert [p.id for p in digest["problems"]] == [pid]
        assert [p.id for p in reminders.digest_for(user(city.city), NOW + timedelta(days=15))["problems"]] == [pid]
        assert problems.overdue_problems_by_project([city.project], now=late) == {city.project: 1}


def test_the_morning_digest_names_overdue_problems(app, city):
    with app.test_request_context():
        raise_one(city, severity="urgent")
        reminders.plan_morning_digests(NOW + timedelta(days=8))
        body = db.session.scalar(db.select(Notification.body).where(Notification.user_id == city.county,
                                                                     Notification.kind == "digest"))
        assert "二期用地未交付" in body


def test_the_joint_meeting_agenda_and_its_decisions_in_one_step(app, city):
    with app.test_request_context():
        first, second = raise_one(city, severity="urgent"), raise_one(city, title="变压器增容", category="utilities")
        problems.route_problem(user(city.city), first, city.land, now=NOW)
        groups = problem_oversight.agenda(user(city.city), TODAY + timedelta(days=8))
        assert [g["county"].id for g in groups] == [city.hanbin]
        items = [i for d in groups[0]["departments"] for i in d["items"]]
        assert {(i["problem"].id, i["is_overdue"]) for i in items} == {(first, True), (second, False)}
        with pytest.raises(PermissionDenied):
            problem_oversight.agenda(user(city.county), TODAY)
        problem_oversight.decide(user(city.city), first, {"decision": "followup", "text": "县上协调村组腾退",
                                                          "due_at": "2027-03-20T18:00"}, now=NOW)
        fu = db.session.scalar(db.select(Followup).where(Followup.title == "县上协调村组腾退"))
        assert fu.county_id == city.hanbin and fu.project_id == city.project
        assert db.session.scalar(db.select(ProblemEntry.followup_id).where(ProblemEntry.kind == "meeting")) == fu.id
        problem_oversight.decide(user(city.city), second, {"decision": "update", "text": "交供电公司办理",
                                                           "department_id": city.power, "deadline_on": "2027-03-31"},
                                 now=NOW)
        problem = db.session.get(Problem, second)
        assert (problem.department_id, problem.deadline_on) == (city.power, date(2027, 3, 31))
        with pytest.raises(InvalidInput):  # a past deadline: nothing changes
            problem_oversight.decide(user(city.city), second, {"decision": "update", "text": "x",
                                                               "deadline_on": "2027-03-01"}, now=NOW)
        assert kinds(second) == ["raised", "routed", "meeting"]


def test_the_supervision_sheet_lists_a_departments_unconfirmed_problems(app, city):
    from crm.web.problems.labels import label

    with app.test_request_context():
        pid = raise_one(city)
        problems.route_problem(user(city.city), pid, city.land, now=NOW)
        problems.advance_problem(user(city.land_contact), pid, "in_progress", "已组卷", now=NOW)
        department, rows = problem_oversight.sheet(user(city.city), city.land, NOW + timedelta(days=40))
        assert department.id == city.land and rows[0]["overdue"] == 10 and rows[0]["last"].text == "已组卷"
        headers, table = problem_oversight.sheet_table(rows, label)
        assert len(headers) == len(table[0]) and table[0][1] == "二期用地未交付"
        assert [r["department"].id for r in problem_oversight.sheet_counts(user(city.city), NOW)] == [city.land]


ROLES = ["admin", "city_staff", "county_staff", "other_county", "viewer", "department", "other_department"]
MATRIX = {  # action on a problem of 汉滨区 routed to 市自然资源局 → who may
    "problem.view": {"admin", "city_staff", "county_staff", "viewer", "department"},
    "problem.edit": {"admin", "city_staff", "county_staff"},
    "problem.route": {"admin", "city_staff", "county_staff"},
    "problem.handle": {"admin", "city_staff", "department"},
    "problem.confirm": {"admin", "city_staff", "county_staff"},
    "problem.instruct": {"admin", "city_staff", "viewer"},
    "problem.oversee": {"admin", "city_staff", "viewer"},
    "problem.decide": {"admin", "city_staff"},
    "department.manage": {"admin"},
}


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_permission_matrix(app, city, action):
    ids = {"admin": city.admin, "city_staff": city.city, "county_staff": city.county, "other_county": city.other,
           "viewer": city.leader, "department": city.land_contact, "other_department": city.power_contact}
    with app.test_request_context():
        pid = raise_one(city)
        problems.route_problem(user(city.city), pid, city.land, now=NOW)
        problem = db.session.get(Problem, pid)
        allowed = {who for who in ROLES if can(user(ids[who]), action, problem)}
        assert allowed == MATRIX[action]
        assert can(user(city.land_contact), "problem.list") and not can(user(city.land_contact), "problem.raise")


def test_a_department_contacts_digest_leads_to_their_problems(app, city):
    with app.test_request_context():
        pid = raise_one(city, severity="urgent")
        problems.route_problem(user(city.city), pid, city.land, now=NOW)
        reminders.plan_morning_digests(NOW + timedelta(days=8))
        note = db.session.scalar(db.select(Notification).where(Notification.user_id == city.land_contact,
                                                               Notification.kind == "digest"))
        assert note.link == "/problems/" and "二期用地未交付" in note.body
        assert not can(user(city.land_contact), "followup.create") and not can(user(city.land_contact), "lead.view")
