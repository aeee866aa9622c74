"""Funds in place (到位资金) rules: bounds with clear messages, the foreign part at the configured rate, the
confirmation over the remaining investment, funds only from 签约 on unless 续建, corrections and withdrawals
(reason, audit, permissions) and withdrawn rows left out of every figure (issue 13, funds item)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, FundsArrival, Project, User
from crm.services import dashboard, funds, projects, reports, targets
from crm.services.errors import ConfirmationNeeded, InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can
from tests.conftest import county_id

COVERED_ACTIONS = {"funds.edit", "funds.withdraw"}
NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)
LATER = datetime(2020, 6, 2, 4, 0, tzinfo=UTC)
HANBIN, ZIYANG = "610902", "610924"


def _actor(role: str, county: int | None) -> User:
    return User(id=1, username=role, display_name=role, role=role, county_id=county, is_active_user=True,
                password_hash="!")


@pytest.mark.parametrize("role,own,allowed", [
    ("admin", False, True), ("city_staff", False, True), ("county_staff", True, True),
    ("county_staff", False, False), ("viewer", True, False),
])
def test_funds_permission_matrix(role, own, allowed):
    row = FundsArrival(project=Project(county_id=1 if own else 2))
    actor = _actor(role, 1 if role in ("county_staff", "viewer") else None)
    assert can(actor, "funds.edit", row) is allowed
    assert can(actor, "funds.withdraw", row) is allowed


@pytest.fixture
def staff(app, make_user):
    return {"hanbin": make_user("county_staff", HANBIN), "ziyang": make_user("county_staff", ZIYANG),
            "city": make_user("city_staff", None), "viewer": make_user("viewer", None)}


def _u(ref) -> User:
    return db.session.get(User, ref.id)


def _project(app, who, **data):
    data = {"name": "富硒茶深加工", "county_id": county_id(app, HANBIN), "stage": "signed", "signed_on": "2020-01-10",
            "investment_total": "1000", **data}
    with app.test_request_context():
        return projects.create_project(_u(who), data, now=NOW).id


def _add(app, who, pid, amount="600", on="2020-02-01", **kw):
    with app.test_request_context():
        return funds.add_funds(_u(who), pid, amount, on, now=NOW, **kw).id


def _errors(call) -> dict:
    with pytest.raises(InvalidInput) as info:
        call()
    return {k: [str(m) for m in v] for k, v in info.value.errors.items()}


# --- bounds and the rate ------------------------------------------------------------------------------

def test_add_funds_above_the_ceiling_names_the_bound_and_the_unit(app, staff):
    pid = _project(app, staff["hanbin"])
    with app.test_request_context():
        errors = _errors(lambda: funds.add_funds(_u(staff["hanbin"]), pid, "99999999999", "2020-03-01", now=NOW))
    assert "10,000,000" in errors["amount"][0] and "万元" in errors["amount"][0]  # Chinese by default


def test_foreign_part_message_names_the_rate_and_the_converted_amount(app, staff):
    pid = _project(app, staff["hanbin"])
    with app.test_request_context():
        errors = _errors(lambda: funds.add_funds(_u(staff["hanbin"]), pid, "100", "2020-03-01",
                                                 foreign_amount="99999", now=NOW))
    message = errors["foreign_amount"][0]
    assert "7.1" in message and "709,992.90" in message and "100.00" in message


def test_foreign_part_is_judged_at_the_configured_rate(app, staff):
    pid = _project(app, staff["hanbin"])
    with app.test_request_context():  # 15 万美元 × 7.1 = 106.5 > 100 万元
        assert "foreign_amount" in _errors(lambda: funds.add_funds(
            _u(staff["hanbin"]), pid, "100", "2020-03-01", foreign_amount="15", now=NOW))
    app.config["USD_CNY_RATE"] = "6.5"  # CRM_USD_CNY_RATE: 15 × 6.5 = 97.5 ≤ 100
    with app.test_request_context():
        assert funds.add_funds(_u(staff["hanbin"]), pid, "100", "2020-03-01", foreign_amount="15",
                               now=NOW).foreign_amount == Decimal("15.00")
        assert funds.usd_cny_rate() == Decimal("6.5")


@pytest.mark.parametrize("raw", ["abc", "0", "-7", "NaN", "1000"])
def test_an_unusable_configured_rate_falls_back_to_the_default(app, raw):
    app.config["USD_CNY_RATE"] = raw
    with app.test_request_context():
        assert funds.usd_cny_rate() == Decimal("7.1")


# --- the remaining investment ---------------------------------------------------------------------------

def test_arrival_over_the_remaining_investment_needs_a_confirmation(app, staff):
    pid = _project(app, staff["hanbin"])  # total investment 1,000 万元
    _add(app, staff["hanbin"], pid, "600")
    with app.test_request_context(), pytest.raises(ConfirmationNeeded) as info:
        funds.add_funds(_u(staff["hanbin"]), pid, "400.01", "2020-03-01", now=NOW)
    assert info.value.code == funds.OVER_REMAINING and info.value.extra["remaining"] == Decimal("400.00")
    assert "400.00" in str(info.value.errors["amount"][0]) and "1,000.00" in str(info.value.errors["amount"][0])
    _add(app, staff["hanbin"], pid, "400")  # exactly the rest: no question
    fid = _add(app, staff["hanbin"], pid, "50", confirm_over=True)
    with app.test_request_context():
        assert funds.funds_in_place(pid) == Decimal("1050.00")
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "add_funds")
                                   .order_by(AuditEntry.id.desc())).first()
        assert entry.after["funds_id"] == fid and entry.after["confirmed_over"] is True


def test_withdrawn_funds_free_the_remaining_investment(app, staff):
    pid = _project(app, staff["hanbin"])
    fid = _add(app, staff["hanbin"], pid, "900")
    with app.test_request_context():
        funds.withdraw_funds(_u(staff["hanbin"]), fid, reason="重复录入", now=LATER)
    assert _add(app, staff["hanbin"], pid, "1000")


# --- from 签约 on, unless 续建 ---------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["planned", "negotiating"])
def test_funds_on_a_project_not_yet_signed_are_refused(app, staff, stage):
    pid = _project(app, staff["hanbin"], stage=stage, signed_on=None)
    with app.test_request_context():
        errors = _errors(lambda: funds.add_funds(_u(staff["hanbin"]), pid, "10", "2020-03-01", now=NOW))
    assert "续建" in errors["stage"][0]


def test_funds_arriving_before_the_signing_are_refused(app, staff):
    pid = _project(app, staff["hanbin"], signed_on="2020-01-10")
    with app.test_request_context():
        errors = _errors(lambda: funds.add_funds(_u(staff["hanbin"]), pid, "10", "2020-01-09", now=NOW))
    assert "2020-01-10" in errors["arrived_on"][0]
    assert _add(app, staff["hanbin"], pid, "10", on="2020-01-10")  # the signing day itself counts


def test_a_continuing_project_takes_funds_before_signing(app, staff):
    pid = _project(app, staff["hanbin"], stage="negotiating", signed_on=None, is_continuing=True)
    assert _add(app, staff["hanbin"], pid, "10", on="2019-03-01")
    signed = _project(app, staff["hanbin"], signed_on="2020-01-10", is_continuing=True)
    assert _add(app, staff["hanbin"], signed, "10", on="2018-05-01")


def test_continuing_flag_is_edited_and_audited(app, staff):
    pid = _project(app, staff["hanbin"], stage="negotiating", signed_on=None)
    with app.test_request_context():
        projects.update_project(_u(staff["hanbin"]), pid, {"is_continuing": True}, now=NOW)
        assert db.session.get(Project, pid).is_continuing is True
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update",
                                                            AuditEntry.object_id == pid)).one()
        assert (entry.before, entry.after) == ({"is_continuing": False}, {"is_continuing": True})


# --- corrections -------------------------------------------------------------------------------------

def test_update_funds_needs_a_reason_and_is_audited_with_before_and_after(app, staff):
    pid = _project(app, staff["hanbin"])
    fid = _add(app, staff["hanbin"], pid, "600")
    with app.test_request_context():
        assert "reason" in _errors(lambda: funds.update_funds(_u(staff["hanbin"]), fid, {"amount": "60"},
                                                              reason="  ", now=LATER))
        row = funds.update_funds(_u(staff["hanbin"]), fid, {"amount": "60", "out_of_province": True},
                                 reason="多输了一个零", now=LATER)
        assert (row.amount, row.out_of_province, row.arrived_on.isoformat()) == (Decimal("60.00"), True, "2020-02-01")
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update_funds")).one()
        assert entry.object_type == "project" and entry.object_id == pid
        assert entry.before == {"funds_id": fid, "amount": "600.00", "out_of_province": False}
        assert entry.after == {"funds_id": fid, "amount": "60.00", "out_of_province": True, "reason": "多输了一个零"}


def test_update_funds_keeps_the_rules_of_recording(app, staff):
    pid = _project(app, staff["hanbin"])  # 1,000 万元, signed 2020-01-10
    fid = _add(app, staff["hanbin"], pid, "600")
    with app.test_request_context():
        user = _u(staff["hanbin"])
        assert "amount" in _errors(lambda: funds.update_funds(user, fid, {"amount": "99999999999"}, reason="x",
                                                              now=LATER))
        assert "arrived_on" in _errors(lambda: funds.update_funds(user, fid, {"arrived_on": "2020-01-01"},
                                                                  reason="x", now=LATER))
        assert "foreign_amount" in _errors(lambda: funds.update_funds(user, fid, {"foreign_amount": "99999"},
                                                                      reason="x", now=LATER))
        # its own 600 is not "so far": up to 1,000 needs no confirmation, beyond does
        assert funds.update_funds(user, fid, {"amount": "1000"}, reason="补录", now=LATER).amount == Decimal("1000")
        with pytest.raises(ConfirmationNeeded):
            funds.update_funds(user, fid, {"amount": "1000.01"}, reason="x", now=LATER)
        assert funds.update_funds(user, fid, {"amount": "1200"}, reason="核实", confirm_over=True,
                                  now=LATER).amount == Decimal("1200")
        assert "funds" in _errors(lambda: funds.update_funds(user, fid, {"amount": "1200"}, reason="x", now=LATER))


def test_a_correction_stays_possible_after_the_project_was_dropped(app, staff):
    pid = _project(app, staff["hanbin"])
    fid = _add(app, staff["hanbin"], pid, "600")
    with app.test_request_context():
        projects.change_stage(_u(staff["hanbin"]), pid, "dropped", on="2020-05-01", now=NOW)
        assert funds.update_funds(_u(staff["hanbin"]), fid, {"amount": "60"}, reason="多输了一个零",
                                  now=LATER).amount == Decimal("60")
        assert "stage" in _errors(lambda: funds.add_funds(_u(staff["hanbin"]), pid, "1", "2020-05-02", now=NOW))


@pytest.mark.parametrize("who", ["ziyang", "viewer"])
def test_other_county_or_viewer_cannot_correct_or_withdraw(app, staff, who):
    pid = _project(app, staff["hanbin"])
    fid = _add(app, staff["hanbin"], pid, "600")
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            funds.update_funds(_u(staff[who]), fid, {"amount": "1"}, reason="x", now=LATER)
        with pytest.raises(PermissionDenied):
            funds.withdraw_funds(_u(staff[who]), fid, reason="x", now=LATER)
        assert db.session.get(FundsArrival, fid).amount == Decimal("600.00")
        assert db.session.get(FundsArrival, fid).withdrawn_at is None


def test_city_staff_corrects_a_county_row(app, staff):
    pid = _project(app, staff["hanbin"])
    fid = _add(app, staff["hanbin"], pid, "600")
    with app.test_request_context():
        assert funds.withdraw_funds(_u(staff["city"]), fid, reason="县区误报", now=LATER).withdrawn_by_id == \
            staff["city"].id


# --- withdrawals --------------------------------------------------------------------------------------

def test_withdraw_keeps_the_row_with_who_when_why_and_audits_it(app, staff):
    pid = _project(app, staff["hanbin"])
    fid = _add(app, staff["hanbin"], pid, "600")
    with app.test_request_context():
        assert "reason" in _errors(lambda: funds.withdraw_funds(_u(staff["hanbin"]), fid, reason="", now=LATER))
        funds.withdraw_funds(_u(staff["hanbin"]), fid, reason="项目方撤资", now=LATER)
        row = db.session.get(FundsArrival, fid)
        assert (row.withdrawn_at, row.withdrawn_by_id, row.withdrawn_reason) == (LATER, staff["hanbin"].id,
                                                                                 "项目方撤资")
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "withdraw_funds")).one()
        assert entry.before["amount"] == "600.00" and entry.after["reason"] == "项目方撤资"
        assert "funds" in _errors(lambda: funds.withdraw_funds(_u(staff["hanbin"]), fid, reason="再撤", now=LATER))
        assert "funds" in _errors(lambda: funds.update_funds(_u(staff["hanbin"]), fid, {"amount": "1"},
                                                             reason="x", now=LATER))
        live, withdrawn = funds.project_funds(db.session.get(Project, pid))
        assert (live, [f.id for f in withdrawn]) == ([], [fid])


def test_funds_of_a_deleted_project_are_not_found(app, staff):
    pid = _project(app, staff["hanbin"])
    fid = _add(app, staff["hanbin"], pid, "600")
    with app.test_request_context():
        projects.delete_project(_u(staff["hanbin"]), pid, now=NOW)
        with pytest.raises(NotFound):
            funds.withdraw_funds(_u(staff["hanbin"]), fid, reason="x", now=LATER)


def test_withdrawn_funds_leave_every_figure(app, staff, make_user):
    """The issue's 11,764,766.83%: one absurd row, withdrawn, must leave the dashboard, the annual report, the
    county ranking, the monthly chart and the project's own total."""
    hb = county_id(app, HANBIN)
    pid = _project(app, staff["city"], signed_on="2019-03-01", investment_total="100000")
    _add(app, staff["city"], pid, "91000", on="2019-05-01", out_of_province=True, foreign_amount="100")
    wrong = _add(app, staff["city"], pid, "9000000", on="2019-06-01", out_of_province=True, foreign_amount="9000",
                 confirm_over=True)
    admin = make_user("admin", None)
    with app.test_request_context():
        targets.set_targets(_u(admin), 2019, [{"metric": "funds_in_place", "value": "91000"},
                                              {"county_id": hb, "metric": "funds_in_place", "value": "91000"}],
                            now=NOW)
        assert reports.annual_report(2019)["funds_in_place"]["total_ratio"] > 99
        funds.withdraw_funds(_u(staff["city"]), wrong, reason="单位错填为元", now=LATER)

        report = reports.annual_report(2019)
        assert report["funds_in_place"]["total"] == Decimal("91000.00") and report["funds_in_place"]["total_ratio"] == 1
        assert report["funds_in_place"]["out_of_province"] == Decimal("91000.00")
        assert report["foreign_capital"]["amount"] == Decimal("100.00")
        assert reports.annual_report(2019, hb)["funds_in_place"]["total"] == Decimal("91000.00")
        row = next(r for r in reports.county_ranking(2019) if r["county_id"] == hb)
        assert row["metrics"]["funds_in_place"]["actual"] == Decimal("91000.00")
        assert row["metrics"]["funds_in_place"]["ratio"] == 1.0
        months = {m["month"]: m["total"] for m in reports.funds_by_month(2019)}
        assert (months[5], months[6]) == (Decimal("91000.00"), Decimal("0.00"))
        board = dashboard.leaders_dashboard(_u(admin), 2019, now=NOW)
        figure = next(f for f in board["figures"] if f["metric"] == "funds_in_place")
        assert (figure["actual"], figure["ratio"]) == (Decimal("91000.00"), 1.0)
        assert funds.live_total(db.session.get(Project, pid)) == Decimal("91000.00")
        assert funds.funds_in_place(pid) == Decimal("91000.00")


# --- investment totals and targets --------------------------------------------------------------------

def test_investment_total_above_the_ceiling_names_the_bound(app, staff):
    hb = county_id(app, HANBIN)
    with app.test_request_context():
        errors = _errors(lambda: projects.create_project(_u(staff["city"]), {
            "name": "x", "county_id": hb, "investment_total": "99999999999"}, now=NOW))
    assert "10,000,000" in errors["investment_total"][0]
    pid = _project(app, staff["city"])
    with app.test_request_context():
        assert "investment_total" in _errors(lambda: projects.update_project(
            _u(staff["city"]), pid, {"investment_total": "10000000.01"}, now=NOW))
        assert projects.update_project(_u(staff["city"]), pid, {"investment_total": "10000000"},
                                       now=NOW).investment_total == Decimal("10000000")


@pytest.mark.parametrize("metric,value,bound", [
    ("signed_count", "100001", "100,000"), ("foreign_enterprises", "9999999", "100,000"),
    ("funds_in_place", "100000000.01", "100,000,000"), ("signed_investment", "99999999999", "100,000,000"),
    ("foreign_capital", "10000001", "10,000,000"),
])
def test_targets_above_their_ceiling_are_refused_naming_it(app, make_user, metric, value, bound):
    admin = make_user("admin", None)
    with app.test_request_context():
        errors = _errors(lambda: targets.set_targets(_u(admin), 2019, [{"metric": metric, "value": value}],
                                                     now=NOW))
    assert bound in errors["0.value"][0]


def test_targets_at_their_ceiling_are_accepted(app, make_user):
    admin = make_user("admin", None)
    with app.test_request_context():
        saved = targets.set_targets(_u(admin), 2019, [{"metric": "signed_count", "value": "100000"},
                                                      {"metric": "funds_in_place", "value": "100000000"},
                                                      {"metric": "foreign_capital", "value": "10000000"}], now=NOW)
    assert len(saved) == 3
