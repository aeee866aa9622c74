"""Project health (issue 15 item 3): the colour at its boundaries (exactly at the cadence is green, at twice the
cadence amber, a day more red; one slipped commitment amber, two red), the tiers by investment, the last contact
taken from the investors and from interactions on the project, the needs-attention list and the weekly digest."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Interaction, Lead, Notification, Project, User
from crm.services import commitments, leads, project_health, projects
from crm.services.project_health import AMBER, GREEN, RED, cadence_for, colour_of

NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)  # Monday 2020-06-01 12:00 in Ankang
HANBIN, ZIYANG = "610902", "610924"


@pytest.mark.parametrize("days,colour", [(0, GREEN), (14, GREEN), (15, AMBER), (28, AMBER), (29, RED)])
def test_contact_colour_at_the_cadence_boundaries(days, colour):
    assert colour_of(days, 14, 0, 0)[0] == colour


@pytest.mark.parametrize("slipped,problems,colour", [(0, 0, GREEN), (1, 0, AMBER), (2, 0, RED), (0, 1, AMBER),
                                                     (0, 2, RED), (1, 1, AMBER)])
def test_commitment_and_problem_counts(slipped, problems, colour):
    assert colour_of(3, 14, slipped, problems)[0] == colour


def test_worst_of_the_three_with_every_reason():
    colour, reasons = colour_of(20, 14, 2, 0)
    assert colour == RED
    assert [str(r) for r in reasons] == ["20 days without contact (every 14 days)", "2 commitments overdue"]


@pytest.mark.parametrize("investment,days", [("100000", 14), ("99999.99", 30), ("10000", 30), ("9999.99", 60),
                                             ("0", 60)])
def test_tiers_by_investment(app, investment, days):
    with app.app_context():
        assert cadence_for(Decimal(investment)) == days


def test_tiers_from_config_and_a_broken_one_falls_back(app):
    with app.app_context():
        app.config["HEALTH_TIERS"] = [[50000, 7], [0, 21]]
        assert (cadence_for(Decimal(60000)), cadence_for(Decimal(1))) == (7, 21)
        app.config["HEALTH_TIERS"] = [[50000, "x"]]
        assert cadence_for(Decimal(60000)) == 30  # the default tiers: ≥ 1亿 every 30 days




@pytest.fixture
def staff(app, make_user):
    return {"hanbin": make_user("county_staff", HANBIN), "ziyang": make_user("county_staff", ZIYANG)}


def _u(ref) -> User:
    return db.session.get(User, ref.id)


def _project(app, who, *, contacted_days_ago: int | None, investment="5000", **data) -> int:
    """A signed project whose investor was last contacted `contacted_days_ago` (None: never, and the project
    was entered 100 days ago)."""
    with app.test_request_context():
        me = _u(who)
        lead = leads.create_lead(me, {"name": f"企业{data.get('name', '')}{investment}", "kind": "enterprise"},
                                 now=NOW - timedelta(days=100), force=True)
        lead_id = lead.id
        project = projects.create_project(me, {"name": data.pop("name", "富硒茶"), "county_id": me.county_id,
                                               "stage": "signed", "signed_on": "2020-01-10",
                                               "investment_total": investment, "lead_ids": [lead_id], **data},
                                          now=NOW - timedelta(days=100))
        project.created_at = NOW - timedelta(days=100)
        lead = db.session.get(Lead, lead_id)
        lead.last_contacted_at = None if contacted_days_ago is None else NOW - timedelta(days=contacted_days_ago)
        db.session.commit()
        return project.id


def _health(app, pid, now=NOW):
    with app.test_request_context():
        return project_health.health_for([db.session.get(Project, pid)], now)[pid]


@pytest.mark.parametrize("days,colour", [(30, GREEN), (31, AMBER), (60, AMBER), (61, RED)])
def test_project_colour_from_its_investors_last_contact(app, staff, days, colour):
    pid = _project(app, staff["hanbin"], contacted_days_ago=days, investment="10000")  # 1亿: every 30 days
    health = _health(app, pid)
    assert (health.colour, health.days_since, health.cadence) == (colour, days, 30)


def test_an_interaction_on_the_project_counts_as_contact(app, staff):
    pid = _project(app, staff["hanbin"], contacted_days_ago=90)
    with app.app_context():
        db.session.add(Interaction(project_id=pid, kind="meeting", occurred_at=NOW - timedelta(days=3),
                                   summary="现场调度"))
        db.session.commit()
    assert _health(app, pid).colour == GREEN


def test_never_contacted_counts_from_entry(app, staff):
    pid = _project(app, staff["hanbin"], contacted_days_ago=None)
    health = _health(app, pid)
    assert health.colour == AMBER and health.days_since == 100 and health.reasons[0] == "从未联系"


def test_slipped_commitments_turn_it_amber_then_red(app, staff):
    pid = _project(app, staff["hanbin"], contacted_days_ago=1)
    with app.test_request_context():
        me = _u(staff["hanbin"])
        first = commitments.create_commitment(me, pid, {"kind": "land", "due_on": "2020-05-31"}, now=NOW).id
        commitments.create_commitment(me, pid, {"kind": "jobs", "due_on": "2020-06-01", "target_quantity": "5"},
                                      now=NOW)  # due today: not slipped yet
    assert _health(app, pid).colour == AMBER
    assert _health(app, pid).reasons == ["1 项承诺逾期"]
    assert _health(app, pid, NOW + timedelta(days=1)).colour == RED
    with app.test_request_context():
        commitments.mark_commitment(_u(staff["hanbin"]), first, "waived", reason="改用标准厂房", now=NOW)
    assert _health(app, pid, NOW + timedelta(days=1)).colour == AMBER


def test_attention_list_and_counts(app, staff):
    red = _project(app, staff["hanbin"], name="红", contacted_days_ago=200)
    amber = _project(app, staff["hanbin"], name="黄", contacted_days_ago=70)
    _project(app, staff["hanbin"], name="绿", contacted_days_ago=2)
    other = _project(app, staff["ziyang"], name="紫阳", contacted_days_ago=300)
    dropped = _project(app, staff["hanbin"], name="终止", contacted_days_ago=300)
    with app.test_request_context():
        projects.change_stage(_u(staff["hanbin"]), dropped, "dropped", now=NOW)
        hanbin = _u(staff["hanbin"]).county_id
        assert [p.id for p, _h in project_health.attention(NOW, county_id=hanbin)] == [red, amber]
        assert [p.id for p, _h in project_health.attention(NOW)] == [other, red, amber]
        assert project_health.colour_counts(NOW) == {GREEN: 1, AMBER: 1, RED: 2}


def test_weekly_digest_once_a_week_to_the_county(app, staff):
    _project(app, staff["hanbin"], contacted_days_ago=200)
    _project(app, staff["ziyang"], contacted_days_ago=1)

    def run(now):
        with app.test_request_context():
            return project_health.plan_weekly_digests(now, weekday=0)

    assert run(NOW - timedelta(days=1)) == 1  # Sunday 31 May: the last day of the week before
    assert run(NOW) == 1  # Monday: 汉滨区 has a red project; 紫阳县 is all green
    assert run(NOW + timedelta(days=2)) == 0  # the same week
    assert run(NOW + timedelta(days=7)) == 1  # next Monday
    with app.app_context():
        notes = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        assert {n.user_id for n in notes} == {staff["hanbin"].id}
        assert "天未联系" in notes[0].body and "红灯" in notes[0].body
        assert notes[0].link.startswith("/projects/attention")


def test_open_overdue_problems_turn_it_amber_then_red(app, staff, make_user):
    """Open problems (诉求) past their deadline count like slipped commitments: two of them make the project red
    the day after the deadline, not on it."""
    from crm.models import Problem
    from crm.services import departments
    from crm.services import problems as problem_service

    pid = _project(app, staff["hanbin"], contacted_days_ago=1)
    city = make_user("city_staff")
    with app.test_request_context():
        departments.load_reference_departments()
        land = departments.department_by_code("CITY-ZRZY").id
        me = _u(staff["hanbin"])
        ids = [problem_service.raise_problem(me, {"title": f"用地{n}", "category": "land", "project_id": pid,
                                                   "severity": "urgent"}, now=NOW).id for n in (1, 2)]
        for problem_id in ids:
            problem_service.route_problem(_u(city), problem_id, land, now=NOW)
        deadline = db.session.get(Problem, ids[0]).deadline_on
    due_day = datetime(deadline.year, deadline.month, deadline.day, 4, 0, tzinfo=UTC)
    assert _health(app, pid, due_day).colour == GREEN  # due today: not overdue yet
    late = _health(app, pid, due_day + timedelta(days=1))
    assert late.colour == RED and any("问题" in reason for reason in late.reasons), late.reasons
