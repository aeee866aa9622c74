"""Commitments (履约, issue 15 item 2): only on signed projects, bounded quantities with clear messages and nothing
half-saved, variance and 履约率 per commitment and per project (funds in place read as the investment's
actuals), met / missed / waived with a reason, optimistic concurrency, reminders once per threshold, and the 三未
warnings at their limits."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import AuditEntry, Commitment, CommitmentActual, Notification, Project, User
from crm.services import commitments, funds, landing_warnings, projects
from crm.services.errors import EditConflict, InvalidInput, PermissionDenied
from crm.services.permissions import can
from tests.conftest import county_id

COVERED_ACTIONS = {"commitment.view", "commitment.edit"}
NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)  # 2020-06-01 12:00 in Ankang
TODAY = date(2020, 6, 1)
HANBIN, ZIYANG = "610902", "610924"


def _actor(role: str, county: int | None) -> User:
    return User(id=1, username=role, display_name=role, role=role, county_id=county, is_active_user=True,
                password_hash="!")


@pytest.mark.parametrize("role,own,edit", [
    ("admin", False, True), ("city_staff", False, True), ("county_staff", True, True),
    ("county_staff", False, False), ("viewer", True, False),
])
def test_commitment_permission_matrix(role, own, edit):
    project = Project(county_id=1 if own else 2)
    commitment = Commitment(project=project)
    actor = _actor(role, 1 if role in ("county_staff", "viewer") else None)
    assert can(actor, "commitment.view", commitment) is True
    assert can(actor, "commitment.edit", commitment) is edit
    assert can(actor, "commitment.edit", project) is edit


@pytest.fixture
def staff(app, make_user):
    return {"hanbin": make_user("county_staff", HANBIN), "ziyang": make_user("county_staff", ZIYANG),
            "city": make_user("city_staff", None), "viewer": make_user("viewer", None)}


def _u(ref) -> User:
    return db.session.get(User, ref.id)


def _project(app, who, **data) -> int:
    data = {"name": "富硒茶深加工", "county_id": county_id(app, HANBIN), "stage": "signed", "signed_on": "2020-01-10",
            "investment_total": "1000", **data}
    with app.test_request_context():
        return projects.create_project(_u(who), data, now=NOW).id


def _commit(app, who, pid, **data) -> int:
    with app.test_request_context():
        return commitments.create_commitment(_u(who), pid, data, now=NOW).id


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _progress(app, cid, day=TODAY):
    with app.test_request_context():
        c = db.session.get(Commitment, cid)
        p = commitments.progress(c, day)
        return p.actual, p.actual_on, p.variance, p.rate, p.kept, p.slipped


# --- bad input: a clear message each, nothing half-saved ----------------------------------------------------

@pytest.mark.parametrize("stage", ["planned", "negotiating"])
def test_commitment_on_unsigned_project_is_refused(app, staff, stage):
    pid = _project(app, staff["hanbin"], stage=stage, signed_on=None)
    with app.test_request_context(), pytest.raises(InvalidInput) as error:
        commitments.create_commitment(_u(staff["hanbin"]), pid, {"kind": "jobs", "due_on": "2021-01-01",
                                                                 "target_quantity": "200"}, now=NOW)
    assert "签约" in str(error.value.errors["project"][0])
    assert _count(app, Commitment) == 0


@pytest.mark.parametrize("data,field,words", [
    ({"kind": "jobs", "due_on": "2019-12-31", "target_quantity": "200"}, "due_on", "Before the project was signed"),
    ({"kind": "jobs", "due_on": "2080-01-01", "target_quantity": "200"}, "due_on", "More than 30 years"),
    ({"kind": "jobs", "due_on": "2021-13-01", "target_quantity": "200"}, "due_on", "Not a valid date"),
    ({"kind": "jobs", "due_on": "2021-01-01", "target_quantity": "-5"}, "target_quantity", "greater than zero"),
    ({"kind": "jobs", "due_on": "2021-01-01", "target_quantity": "0"}, "target_quantity", "greater than zero"),
    ({"kind": "jobs", "due_on": "2021-01-01", "target_quantity": "两百"}, "target_quantity", "Not a number"),
    ({"kind": "jobs", "due_on": "2021-01-01", "target_quantity": "NaN"}, "target_quantity", "Not a number"),
    ({"kind": "jobs", "due_on": "2021-01-01", "target_quantity": "12.5"}, "target_quantity", "whole number"),
    ({"kind": "jobs", "due_on": "2021-01-01", "target_quantity": "5000000"}, "target_quantity", "At most"),
    ({"kind": "output", "due_on": "2021-01-01", "target_quantity": "1e12"}, "target_quantity", "At most"),
    ({"kind": "tax", "due_on": "2021-01-01", "target_quantity": "1.234"}, "target_quantity", "two decimal"),
    ({"kind": "tax", "due_on": "2021-01-01"}, "target_quantity", "required"),
    ({"kind": "land", "due_on": "2021-01-01", "target_quantity": "30"}, "target_quantity", "no quantity"),
    ({"kind": "service", "due_on": "2021-01-01"}, "title", "required"),
    ({"kind": "teleport", "due_on": "2021-01-01"}, "kind", "valid choice"),
    ({"kind": "land", "side": "investor", "due_on": "2021-01-01"}, "side", "made by"),
])
def test_bad_commitment_input_names_its_field(app, staff, data, field, words):
    pid = _project(app, staff["hanbin"])
    with app.test_request_context(), pytest.raises(InvalidInput) as error:
        commitments.create_commitment(_u(staff["hanbin"]), pid, data, now=NOW)
    assert words in " ".join(str(m) for m in error.value.errors[field])
    assert _count(app, Commitment) == 0 and _count(app, AuditEntry) == 1  # the project's own creation only


def test_bad_input_reads_in_chinese(app, staff):
    pid = _project(app, staff["hanbin"])
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        with pytest.raises(InvalidInput) as error:
            commitments.create_commitment(_u(staff["hanbin"]), pid, {"kind": "jobs", "due_on": "2019-01-01",
                                                                     "target_quantity": "abc"}, now=NOW)
        messages = {k: [str(m) for m in v] for k, v in error.value.errors.items()}
    assert "签约" in messages["due_on"][0] and "数字" in messages["target_quantity"][0]


def test_another_county_may_not_add_a_commitment(app, staff):
    pid = _project(app, staff["hanbin"])
    with app.test_request_context(), pytest.raises(PermissionDenied):
        commitments.create_commitment(_u(staff["ziyang"]), pid, {"kind": "jobs", "due_on": "2021-01-01",
                                                                 "target_quantity": "10"}, now=NOW)


# --- variance and 履约率 -------------------------------------------------------------------------------------

def test_investment_actuals_are_the_funds_in_place_not_copies(app, staff):
    pid = _project(app, staff["hanbin"])
    cid = _commit(app, staff["hanbin"], pid, kind="investment", due_on="2020-05-01", target_quantity="1000")
    with app.test_request_context():
        funds.add_funds(_u(staff["hanbin"]), pid, "600", "2020-02-01", now=NOW)
        with pytest.raises(InvalidInput) as error:
            commitments.add_actual(_u(staff["hanbin"]), cid, {"recorded_on": "2020-03-01", "quantity": "1"},
                                   now=NOW)
    assert "funds in place" in str(error.value.errors["quantity"][0])
    assert _count(app, CommitmentActual) == 0
    actual, _on, variance, rate, kept, slipped = _progress(app, cid)
    assert (actual, variance, rate, kept, slipped) == (Decimal("600.00"), Decimal("-400.00"), Decimal("0.6"),
                                                       False, True)
    with app.test_request_context():
        funds.add_funds(_u(staff["hanbin"]), pid, "400", "2020-05-20", now=NOW)
    assert _progress(app, cid)[3:] == (Decimal(1), True, False)


def test_yearly_figures_count_the_latest_entry_and_incentives_add_up(app, staff):
    pid = _project(app, staff["hanbin"])
    output = _commit(app, staff["hanbin"], pid, kind="output", due_on="2020-12-31", target_quantity="5000")
    incentive = _commit(app, staff["hanbin"], pid, kind="incentive", title="设备补贴", due_on="2020-05-31",
                        target_quantity="300")
    with app.test_request_context():
        me = _u(staff["hanbin"])
        commitments.add_actual(me, output, {"recorded_on": "2020-03-31", "quantity": "6000"}, now=NOW)
        commitments.add_actual(me, output, {"recorded_on": "2020-05-31", "quantity": "4000"}, now=NOW)
        commitments.add_actual(me, incentive, {"recorded_on": "2020-03-01", "quantity": "100"}, now=NOW)
        commitments.add_actual(me, incentive, {"recorded_on": "2020-04-01", "quantity": "50"}, now=NOW)
    assert _progress(app, output)[0::2] == (Decimal("4000.00"), Decimal("-1000.00"), False)  # not due: not slipped
    assert _progress(app, output)[3] == Decimal("0.8")
    actual, _on, variance, rate, kept, slipped = _progress(app, incentive)
    assert (actual, variance, rate, kept, slipped) == (Decimal("150.00"), Decimal("-150.00"), Decimal("0.5"),
                                                       False, True)


def test_date_commitments_read_the_project_and_count_days_late(app, staff):
    pid = _project(app, staff["hanbin"])
    start = _commit(app, staff["hanbin"], pid, kind="start", due_on="2020-03-01")
    land = _commit(app, staff["hanbin"], pid, kind="land", due_on="2020-04-01")
    assert _progress(app, start)[1:] == (None, 92, Decimal(0), False, True)  # not started, 92 days past due
    with app.test_request_context():
        me = _u(staff["hanbin"])
        projects.change_stage(me, pid, "started", on="2020-03-11", now=NOW)
        commitments.add_actual(me, land, {"recorded_on": "2020-03-25", "note": "净地交付"}, now=NOW)
    assert _progress(app, start)[1:] == (date(2020, 3, 11), 10, Decimal(0), False, False)  # late but done
    assert _progress(app, land)[1:] == (date(2020, 3, 25), -7, Decimal(1), True, False)


def test_project_rate_leaves_out_waived_and_not_yet_due(app, staff):
    pid = _project(app, staff["hanbin"])
    me = staff["hanbin"]
    jobs = _commit(app, me, pid, kind="jobs", due_on="2020-05-01", target_quantity="100")
    _commit(app, me, pid, kind="tax", due_on="2021-05-01", target_quantity="100")  # not due: not counted
    service = _commit(app, me, pid, kind="service", title="代办环评", due_on="2020-04-01")
    land = _commit(app, me, pid, kind="land", due_on="2020-02-01")
    with app.test_request_context():
        u = _u(me)
        commitments.add_actual(u, jobs, {"recorded_on": "2020-05-01", "quantity": "50"}, now=NOW)
        commitments.mark_commitment(u, service, "met", reason="环评批复已取得", now=NOW)
        commitments.mark_commitment(u, land, "waived", reason="企业改用标准厂房", now=NOW)
        summary = commitments.project_progress(db.session.get(Project, pid), TODAY)
    # jobs 0.5, service 1 (met); land waived and tax not due are left out
    assert summary["rate"] == Decimal("0.75")
    assert summary["investor_rate"] == Decimal("0.5") and summary["government_rate"] == Decimal(1)
    assert summary["slipped"] == 1  # the jobs; the waived land is closed


def test_actual_bad_input(app, staff):
    pid = _project(app, staff["hanbin"])
    jobs = _commit(app, staff["hanbin"], pid, kind="jobs", due_on="2020-12-01", target_quantity="100")
    with app.test_request_context():
        me = _u(staff["hanbin"])
        for data, field in (({"recorded_on": "2020-07-01", "quantity": "5"}, "recorded_on"),
                            ({"recorded_on": "2019-07-01", "quantity": "5"}, "recorded_on"),
                            ({"recorded_on": "2020-05-01", "quantity": "-1"}, "quantity"),
                            ({"recorded_on": "2020-05-01", "quantity": "x"}, "quantity"),
                            ({"recorded_on": "2020-05-01"}, "quantity")):
            with pytest.raises(InvalidInput) as error:
                commitments.add_actual(me, jobs, data, now=NOW)
            assert field in error.value.errors
    assert _count(app, CommitmentActual) == 0


# --- marking and editing ------------------------------------------------------------------------------------

def test_mark_needs_a_reason_and_is_audited(app, staff):
    pid = _project(app, staff["hanbin"])
    cid = _commit(app, staff["hanbin"], pid, kind="jobs", due_on="2020-05-01", target_quantity="100")
    with app.test_request_context():
        me = _u(staff["hanbin"])
        with pytest.raises(InvalidInput) as error:
            commitments.mark_commitment(me, cid, "missed", reason="  ", now=NOW)
        assert "reason" in error.value.errors
        commitments.mark_commitment(me, cid, "missed", reason="企业用工不足", now=NOW)
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "commitment",
                                                            AuditEntry.action == "mark")).one()
        assert entry.after == {"status": "missed", "status_reason": "企业用工不足"}
        assert db.session.get(Commitment, cid).status == "missed"


def test_stale_edit_is_refused_and_changes_nothing(app, staff):
    pid = _project(app, staff["hanbin"])
    cid = _commit(app, staff["hanbin"], pid, kind="jobs", due_on="2020-12-01", target_quantity="100")
    with app.test_request_context():
        me = _u(staff["hanbin"])
        commitments.update_commitment(me, cid, {"target_quantity": "120"}, now=NOW, expected_version=1)
        with pytest.raises(EditConflict):
            commitments.update_commitment(me, cid, {"target_quantity": "80"}, now=NOW, expected_version=1)
        with pytest.raises(InvalidInput):
            commitments.update_commitment(me, cid, {"due_on": "2019-01-01"}, now=NOW, expected_version=2)
        c = db.session.get(Commitment, cid)
        assert (c.target_quantity, c.version, c.due_on) == (Decimal("120.00"), 2, date(2020, 12, 1))


# --- reminders ---------------------------------------------------------------------------------------------

def test_reminders_once_per_threshold_to_the_manager(app, staff):
    pid = _project(app, staff["hanbin"], manager_id=staff["hanbin"].id)
    cid = _commit(app, staff["hanbin"], pid, kind="jobs", due_on="2020-06-25", target_quantity="100")
    _commit(app, staff["hanbin"], pid, kind="tax", due_on="2020-09-01", target_quantity="100")  # too far off

    def run(now):
        with app.test_request_context():
            return commitments.plan_commitment_reminders(now, days=[30, 7])

    assert run(NOW) == 1  # 24 days left: the 30-day reminder
    assert run(NOW + timedelta(days=1)) == 0  # not repeated
    assert run(NOW + timedelta(days=18)) == 1  # 6 days left: the 7-day reminder
    assert run(NOW + timedelta(days=19)) == 0
    assert run(NOW + timedelta(days=30)) == 0  # past due: no "due in" reminder
    with app.app_context():
        notes = db.session.scalars(select(Notification).where(Notification.user_id == staff["hanbin"].id)).all()
        assert [n.dedupe_key for n in notes] == [f"commitment:{cid}:2020-06-25:30", f"commitment:{cid}:2020-06-25:7"]


def test_remind_days_config(app):
    with app.app_context():
        assert commitments.remind_days({"COMMITMENT_REMIND_DAYS": "60, 14,3"}) == [60, 14, 3]
        assert commitments.remind_days({"COMMITMENT_REMIND_DAYS": "soon"}) == [30, 7]
        assert commitments.remind_days({}) == [30, 7]


# --- 三未 -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("days,listed", [(180, False), (181, True)])
def test_signed_not_started_beyond_the_limit(app, staff, days, listed):
    signed = (TODAY - timedelta(days=days)).isoformat()
    pid = _project(app, staff["hanbin"], signed_on=signed)
    with app.test_request_context():
        found = landing_warnings.landing_warnings(NOW)
    assert [(w.project.id, w.kind, w.days) for w in found] == (
        [(pid, landing_warnings.NOT_STARTED, days)] if listed else [])


def test_started_not_producing_and_below_target(app, staff):
    app.config.update(WARN_STARTED_NOT_PRODUCING_DAYS=100, WARN_PRODUCING_BELOW_TARGET_DAYS=30)
    me = staff["hanbin"]
    started = _project(app, me, name="开工项目", stage="started", signed_on="2019-12-01", started_on="2020-02-01")
    producing = _project(app, me, name="投产项目", signed_on="2019-06-01")
    reached = _project(app, me, name="达产项目", signed_on="2019-06-01")
    with app.test_request_context():
        u = _u(me)
        for pid in (producing, reached):
            projects.change_stage(u, pid, "started", on="2019-08-01", now=NOW)
            projects.change_stage(u, pid, "operating", on="2020-01-02", now=NOW)
        assert db.session.get(Project, producing).producing_on == date(2020, 1, 2)
    short = _commit(app, me, producing, kind="output", due_on="2020-03-01", target_quantity="8000")
    done = _commit(app, me, reached, kind="output", due_on="2020-03-01", target_quantity="8000")
    ziyang = county_id(app, ZIYANG)
    with app.test_request_context():
        u = _u(me)
        commitments.add_actual(u, short, {"recorded_on": "2020-04-01", "quantity": "3000"}, now=NOW)
        commitments.add_actual(u, done, {"recorded_on": "2020-04-01", "quantity": "9000"}, now=NOW)
        found = landing_warnings.landing_warnings(NOW)
        rows = [(w.project.id, w.kind, w.days, [p.commitment.id for p in w.shortfalls]) for w in found]
        assert rows == [(started, landing_warnings.NOT_PRODUCING, 121, []),
                        (producing, landing_warnings.BELOW_TARGET, 151, [short])]
        assert landing_warnings.counts(NOW) == {"signed_not_started": 0, "started_not_producing": 1,
                                                "producing_below_target": 1}
        assert landing_warnings.landing_warnings(NOW, county_id=ziyang) == []


def test_warning_filters_refuse_unknown_values(app):
    with app.test_request_context(), pytest.raises(InvalidInput) as error:
        landing_warnings.clean_filters("abc", "late")
    assert set(error.value.errors) == {"county_id", "kind"}


def test_export_is_an_xlsx_and_audited(app, staff):
    _project(app, staff["hanbin"], signed_on="2019-01-01")
    with app.test_request_context():
        name, content, mime = landing_warnings.export_warnings(_u(staff["viewer"]), now=NOW)
        assert name.endswith(".xlsx") and content[:2] == b"PK" and "spreadsheet" in mime
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "export", AuditEntry.summary.like("three_un%"))) == 1
