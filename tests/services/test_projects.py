"""Project rules: permissions, creation with history, stage changes (audited, no silent slide back), amounts
(exact, audited), funds, soft delete, filters, the kanban and 超时限未开工."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, FundsArrival, Industry, Lead, Project, Role, StageChange, User
from crm.services import projects
from crm.services.errors import InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can
from tests.conftest import county_id

COVERED_ACTIONS = {"project.view", "project.create", "project.edit", "project.delete"}
NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)
HANBIN, ZIYANG = "610902", "610924"


def _actor(role: str, county: int | None, uid: int = 1) -> User:
    return User(id=uid, username=role, display_name=role, role=role, county_id=county, is_active_user=True,
                password_hash="!")


@pytest.mark.parametrize("role,own,view,create,edit", [
    ("admin", False, True, True, True),
    ("city_staff", False, True, True, True),
    ("county_staff", True, True, True, True),
    ("county_staff", False, True, False, False),
    ("viewer", True, True, False, False),
])
def test_project_permission_matrix(role, own, view, create, edit):
    project = Project(county_id=1 if own else 2)
    actor = _actor(role, 1 if role in ("county_staff", "viewer") else None)
    assert can(actor, "project.view", project) is view
    assert can(actor, "project.create", project.county_id) is create
    assert can(actor, "project.edit", project) is edit
    assert can(actor, "project.delete", project) is edit


def test_inactive_user_cannot_even_view_projects():
    actor = _actor("admin", None)
    actor.is_active_user = False
    assert not can(actor, "project.view", Project(county_id=1))


@pytest.fixture
def staff(app, make_user):
    return {"hanbin": make_user("county_staff", HANBIN), "ziyang": make_user("county_staff", ZIYANG),
            "city": make_user("city_staff", None), "viewer": make_user("viewer", None)}


def _u(ref) -> User:
    return db.session.get(User, ref.id)


def _create(app, who, **data):
    data.setdefault("name", "富硒茶深加工")
    data.setdefault("county_id", county_id(app, HANBIN))
    with app.test_request_context():
        return projects.create_project(_u(who), data, now=NOW).id


def test_create_by_county_staff_defaults_to_own_county(app, staff):
    hanbin = county_id(app, HANBIN)
    with app.test_request_context():
        p = projects.create_project(_u(staff["hanbin"]), {"name": "毛绒玩具加工", "investment_total": "1234.56"},
                                    now=NOW)
        assert p.county_id == hanbin
        assert p.investment_total == Decimal("1234.56") and p.stage == "planned"
        assert [(c.from_stage, c.to_stage) for c in p.stage_changes] == [(None, "planned")]


def test_create_for_other_county_by_county_staff_is_forbidden(app, staff):
    with pytest.raises(PermissionDenied):
        _create(app, staff["hanbin"], county_id=county_id(app, ZIYANG))


def test_create_by_viewer_is_forbidden(app, staff):
    with pytest.raises(PermissionDenied):
        _create(app, staff["viewer"])


def test_create_started_project_records_history_from_before_the_system(app, staff):
    pid = _create(app, staff["city"], stage="started", signed_on="2018-03-01", started_on="2018-09-01")
    with app.test_request_context():
        p = db.session.get(Project, pid)
        assert (p.signed_on, p.started_on) == (date(2018, 3, 1), date(2018, 9, 1))
        assert [(c.from_stage, c.to_stage, c.changed_on) for c in p.stage_changes] == [
            (None, "signed", date(2018, 3, 1)), ("signed", "started", date(2018, 9, 1))]


@pytest.mark.parametrize("data,field", [
    ({"investment_total": "12亿"}, "investment_total"),
    ({"investment_total": "-5"}, "investment_total"),
    ({"investment_total": "1.234"}, "investment_total"),
    ({"investment_total": "NaN"}, "investment_total"),
    ({"investment_total": "1e20"}, "investment_total"),
    ({"name": "x" * 201}, "name"),
    ({"name": "bad\x00name"}, "name"),
    ({"stage": "won"}, "stage"),
    ({"signed_on": "2019-02-30", "stage": "signed"}, "signed_on"),
    ({"signed_on": "2030-01-01", "stage": "signed"}, "signed_on"),
    ({"stage": "started", "signed_on": "2019-05-01", "started_on": "2019-04-01"}, "started_on"),
    ({"stage": "negotiating", "signed_on": "2019-05-01"}, "stage"),
    ({"industry_id": 999999}, "industry_id"),
    ({"lead_ids": [999999]}, "lead_ids"),
    ({"source_channel": "friend"}, "source_channel"),
])
def test_create_with_bad_input_names_the_field(app, staff, data, field):
    with pytest.raises(InvalidInput) as info:
        _create(app, staff["city"], **data)
    assert field in info.value.errors


def test_money_is_exact_decimal_from_text_and_json_numbers(app, staff):
    pid = _create(app, staff["city"], investment_total=807.87, stage="signed", signed_on="2020-01-01")
    with app.test_request_context():
        projects.add_funds(_u(staff["city"]), pid, "0.10", "2020-01-02", now=NOW)
        projects.add_funds(_u(staff["city"]), pid, 0.2, "2020-01-03", now=NOW)
        total = sum(f.amount for f in db.session.get(Project, pid).funds)
        assert total == Decimal("0.30") and db.session.get(Project, pid).investment_total == Decimal("807.87")


def _audit(pid, action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "project",
                                                            AuditEntry.object_id == pid, AuditEntry.action == action)))


def test_change_stage_records_history_fills_dates_and_audits(app, staff):
    pid = _create(app, staff["hanbin"])
    with app.test_request_context():
        projects.change_stage(_u(staff["hanbin"]), pid, "negotiating", on="2020-01-05", now=NOW)
        projects.change_stage(_u(staff["hanbin"]), pid, "signed", on="2020-02-01", now=NOW)
        p = db.session.get(Project, pid)
        assert p.stage == "signed" and p.signed_on == date(2020, 2, 1) and p.started_on is None
        last = p.stage_changes[-1]
        assert (last.from_stage, last.to_stage, last.changed_on, last.actor_id) == (
            "negotiating", "signed", date(2020, 2, 1), staff["hanbin"].id)
        entry = _audit(pid, "stage_change")[-1]
        assert entry.before["stage"] == "negotiating" and entry.after["stage"] == "signed"
        assert entry.after["signed_on"] == "2020-02-01" and entry.actor_id == staff["hanbin"].id


def test_change_stage_skipping_forward_sets_both_dates(app, staff):
    pid = _create(app, staff["city"])
    with app.test_request_context():
        projects.change_stage(_u(staff["city"]), pid, "started", on="2020-03-01", now=NOW)
        p = db.session.get(Project, pid)
        assert (p.signed_on, p.started_on) == (date(2020, 3, 1), date(2020, 3, 1))


def test_change_stage_backwards_without_confirmation_is_refused(app, staff):
    pid = _create(app, staff["city"], stage="signed", signed_on="2020-01-10")
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        projects.change_stage(_u(staff["city"]), pid, "negotiating", on="2020-02-01", now=NOW)
    assert "stage" in info.value.errors
    with app.test_request_context():
        assert db.session.get(Project, pid).stage == "signed"


def test_change_stage_backwards_with_confirmation_clears_signing_and_keeps_history(app, staff):
    pid = _create(app, staff["city"], stage="signed", signed_on="2020-01-10")
    with app.test_request_context():
        projects.change_stage(_u(staff["city"]), pid, "negotiating", on="2020-02-01", now=NOW, allow_back=True)
        p = db.session.get(Project, pid)
        assert p.stage == "negotiating" and p.signed_on is None
        assert [c.to_stage for c in p.stage_changes] == ["signed", "negotiating"]
        assert _audit(pid, "stage_change")[-1].before["signed_on"] == "2020-01-10"


def test_reviving_a_dropped_project_needs_confirmation(app, staff):
    pid = _create(app, staff["city"], stage="negotiating")
    with app.test_request_context():
        projects.change_stage(_u(staff["city"]), pid, "dropped", now=NOW)
        with pytest.raises(InvalidInput):
            projects.change_stage(_u(staff["city"]), pid, "negotiating", now=NOW)
        projects.change_stage(_u(staff["city"]), pid, "negotiating", now=NOW, allow_back=True)
        assert db.session.get(Project, pid).stage == "negotiating"


@pytest.mark.parametrize("stage,on,field", [
    ("won", None, "stage"), ("signed", "2030-01-01", "on"), ("signed", "yesterday", "on"),
    ("planned", None, "stage"),
])
def test_change_stage_bad_input_is_refused(app, staff, stage, on, field):
    pid = _create(app, staff["city"])
    with app.test_request_context():
        with pytest.raises(InvalidInput) as info:
            projects.change_stage(_u(staff["city"]), pid, stage, on=on, now=NOW)
        assert field in info.value.errors
        assert len(db.session.get(Project, pid).stage_changes) == 1


def test_change_stage_dated_before_the_previous_change_is_refused(app, staff):
    pid = _create(app, staff["city"], stage="signed", signed_on="2020-01-10")
    with app.test_request_context():
        with pytest.raises(InvalidInput) as info:
            projects.change_stage(_u(staff["city"]), pid, "started", on="2020-01-09", now=NOW)
        assert "on" in info.value.errors
        projects.change_stage(_u(staff["city"]), pid, "started", on="2020-01-10", now=NOW)


def test_change_stage_by_other_county_is_forbidden(app, staff):
    pid = _create(app, staff["hanbin"])
    with app.test_request_context(), pytest.raises(PermissionDenied):
        projects.change_stage(_u(staff["ziyang"]), pid, "negotiating", now=NOW)


def test_update_amount_is_audited_with_before_and_after(app, staff):
    pid = _create(app, staff["hanbin"], investment_total="1000")
    with app.test_request_context():
        projects.update_project(_u(staff["hanbin"]), pid, {"investment_total": "1500.50"}, now=NOW)
        entry = _audit(pid, "update_amount")[-1]
        assert entry.before == {"investment_total": "1000.00"} and entry.after == {"investment_total": "1500.50"}


def test_update_stage_through_edit_is_refused(app, staff):
    pid = _create(app, staff["hanbin"])
    with app.test_request_context(), pytest.raises(InvalidInput):
        projects.update_project(_u(staff["hanbin"]), pid, {"stage": "signed"}, now=NOW)


def test_update_by_viewer_is_forbidden(app, staff):
    pid = _create(app, staff["hanbin"])
    with app.test_request_context(), pytest.raises(PermissionDenied):
        projects.update_project(_u(staff["viewer"]), pid, {"name": "x"}, now=NOW)


@pytest.mark.parametrize("amount,foreign,on,field", [
    ("abc", None, "2020-01-01", "amount"), ("-1", None, "2020-01-01", "amount"), ("0", None, "2020-01-01", "amount"),
    ("10", "-2", "2020-01-01", "foreign_amount"), ("10", None, "2030-01-01", "arrived_on"),
    ("10", None, None, "arrived_on"),
])
def test_add_funds_bad_input_is_refused(app, staff, amount, foreign, on, field):
    pid = _create(app, staff["hanbin"])
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        projects.add_funds(_u(staff["hanbin"]), pid, amount, on, foreign_amount=foreign, now=NOW)
    assert field in info.value.errors


@pytest.mark.parametrize("amount, foreign, field", [
    ("99999999999", None, "amount"),      # 99,999,999,999 万元 from issue 13
    ("10000000.01", None, "amount"),      # just above 1,000 亿元
    ("100", "99999", "foreign_amount"),   # 99,999 万美元 inside a 100 万元 arrival
    ("100", "14.09", "foreign_amount"),   # 14.09 万美元 × 7.1 = 100.04 万元 > 100 万元
])
def test_add_funds_implausible_amount_is_refused(app, staff, amount, foreign, field):
    pid = _create(app, staff["hanbin"])
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        projects.add_funds(_u(staff["hanbin"]), pid, amount, "2020-03-01", foreign_amount=foreign, now=NOW)
    assert field in info.value.errors


def test_add_funds_at_the_ceiling_with_fitting_foreign_part_is_accepted(app, staff):
    pid = _create(app, staff["hanbin"], stage="signed", signed_on="2020-01-01", investment_total="10000000")
    with app.test_request_context():
        funds = projects.add_funds(_u(staff["hanbin"]), pid, "10000000", "2020-03-01", foreign_amount="14.08",
                                   now=NOW)
        assert funds.amount == Decimal("10000000.00")


def test_add_funds_records_entry_and_audit(app, staff):
    pid = _create(app, staff["hanbin"], stage="signed", signed_on="2020-01-01", investment_total="5000")
    with app.test_request_context():
        funds = projects.add_funds(_u(staff["hanbin"]), pid, "2000.25", "2020-03-01", True, "100.5", now=NOW)
        assert (funds.amount, funds.out_of_province, funds.foreign_amount) == (
            Decimal("2000.25"), True, Decimal("100.50"))
        assert _audit(pid, "add_funds")[-1].after["amount"] == "2000.25"


def test_deleted_project_is_gone_from_lists_and_lookups(app, staff):
    pid = _create(app, staff["hanbin"])
    with app.test_request_context():
        projects.delete_project(_u(staff["hanbin"]), pid, now=NOW)
        assert pid not in [p.id for p in db.session.scalars(projects.projects_query())]
        with pytest.raises(NotFound):
            projects.get_project(_u(staff["city"]), pid)


def test_list_filters_by_stage_county_industry_tree_year_and_foreign(app, staff):
    with app.test_request_context():
        child = db.session.scalar(select(Industry).where(Industry.parent_id.is_not(None)))
        parent_id = child.parent_id
    a = _create(app, staff["city"], name="甲", industry_id=child.id, stage="signed", signed_on="2019-05-01",
                is_foreign=True)
    b = _create(app, staff["city"], name="乙", county_id=county_id(app, ZIYANG), stage="signed",
                signed_on="2020-01-02")
    ziyang = county_id(app, ZIYANG)
    with app.test_request_context():
        def ids(**kw):
            return {p.id for p in db.session.scalars(projects.projects_query(**kw))}
        assert ids(industry_id=parent_id) == {a}
        assert ids(year=2019) == {a} and ids(year=2020) == {b}
        assert ids(county_id=ziyang) == {b}
        assert ids(is_foreign=True) == {a} and ids(stage="signed") == {a, b} and ids(stage="planned") == set()
        assert ids(q="乙") == {b}


def test_kanban_puts_each_project_in_its_stage_column(app, staff):
    a = _create(app, staff["city"], investment_total="5")
    b = _create(app, staff["city"], stage="signed", signed_on="2020-01-01")
    with app.test_request_context():
        columns = {stage: ([p.id for p in items], total) for stage, items, total in projects.kanban()}
        assert list(columns) == ["planned", "negotiating", "signed", "started", "operating", "dropped"]
        assert columns["planned"] == ([a], 1) and columns["signed"] == ([b], 1) and columns["started"] == ([], 0)


def test_overdue_starts_lists_signed_projects_past_the_deadline(app, staff):
    # NOW is 2020-06-01: 180 days earlier is 2019-12-04
    late = _create(app, staff["city"], name="逾期", stage="signed", signed_on="2019-12-01")
    _create(app, staff["city"], name="未逾期", stage="signed", signed_on="2019-12-10")
    _create(app, staff["city"], name="已开工", stage="started", signed_on="2019-01-01", started_on="2019-03-01")
    with app.test_request_context():
        assert [(p.id, days) for p, days in projects.overdue_starts(NOW)] == [(late, 183)]
    app.config["PROJECT_START_DEADLINE_DAYS"] = 30
    ziyang = county_id(app, ZIYANG)
    with app.test_request_context():
        assert len(projects.overdue_starts(NOW)) == 2
        assert projects.overdue_starts(NOW, county_id=ziyang) == []


def test_project_leads_are_linked_and_audited(app, staff):
    hanbin = county_id(app, HANBIN)
    with app.test_request_context():
        lead = Lead(name="某乡贤", kind="hometown_entrepreneur", owner_county_id=hanbin)
        db.session.add(lead)
        db.session.commit()
        lead_id = lead.id
    pid = _create(app, staff["hanbin"], lead_ids=[lead_id])
    with app.test_request_context():
        assert [lead.id for lead in db.session.get(Project, pid).leads] == [lead_id]
        assert _audit(pid, "create")[0].after["lead_ids"] == [lead_id]
        assert db.session.scalar(select(db.func.count()).select_from(StageChange)) == 1
        assert db.session.scalar(select(db.func.count()).select_from(FundsArrival)) == 0
        assert Role.VIEWER  # roles exist for the matrix above
