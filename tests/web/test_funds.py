"""Funds pages: the over-investment warning with its confirmation keeping the input, correcting and withdrawing
a row (reason, permissions), withdrawn rows shown apart and left out of totals and exports, the 续建 checkbox."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from crm.extensions import db
from crm.models import FundsArrival, Project, User
from crm.services import funds, projects
from tests.conftest import county_id

NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def hanbin(login_as):
    return login_as("county_staff", "610902")


def _project(app, user, **data):
    data = {"name": "富硒茶深加工", "county_id": county_id(app, "610902"), "stage": "signed",
            "signed_on": "2019-03-01", "investment_total": "1000", **data}
    with app.test_request_context():
        return projects.create_project(db.session.get(User, user.id), data, now=NOW).id


def _funds(app, user, pid, amount="600", on="2019-05-01", **kw):
    with app.test_request_context():
        return funds.add_funds(db.session.get(User, user.id), pid, amount, on, now=NOW, **kw).id


def test_arrival_over_the_remaining_investment_asks_to_confirm_and_keeps_the_input(app, hanbin):
    pid = _project(app, hanbin.user)
    form = {"amount": "1500", "arrived_on": "2019-05-01", "foreign_amount": "", "note": "第一笔"}
    warned = hanbin.post(f"/projects/{pid}/funds", data=form)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 422
    assert "超过项目剩余投资 1,000.00 万元" in page and 'name="confirm_over"' in page
    assert 'value="1500"' in page and 'value="第一笔"' in page and 'value="2019-05-01"' in page
    with app.app_context():
        assert db.session.query(FundsArrival).count() == 0
    assert hanbin.post(f"/projects/{pid}/funds", data={**form, "confirm_over": "y"}).status_code == 302
    with app.app_context():
        assert db.session.query(FundsArrival).one().amount == 1500


def test_funds_form_states_the_rate_and_refuses_a_project_in_talks(app, hanbin):
    pid = _project(app, hanbin.user, stage="negotiating", signed_on=None)
    page = hanbin.get(f"/projects/{pid}").get_data(as_text=True)
    assert "1 美元 = 7.1 元" in page and "项目签约后方可登记到位资金" in page
    refused = hanbin.post(f"/projects/{pid}/funds", data={"amount": "10", "arrived_on": "2019-05-01"})
    assert refused.status_code == 422 and "本项目尚未签约" in refused.get_data(as_text=True)


def test_correct_a_row_with_a_reason(app, hanbin):
    pid = _project(app, hanbin.user)
    fid = _funds(app, hanbin.user, pid)
    form = hanbin.get(f"/funds/{fid}/edit")
    assert form.status_code == 200 and 'value="600.00"' in form.get_data(as_text=True)
    data = {"amount": "60", "arrived_on": "2019-05-01", "foreign_amount": "", "note": ""}
    missing = hanbin.post(f"/funds/{fid}/edit", data=data)
    assert missing.status_code == 422 and "invalid-feedback" in missing.get_data(as_text=True)
    done = hanbin.post(f"/funds/{fid}/edit", data={**data, "reason": "多输了一个零"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/projects/{pid}#funds")
    detail = hanbin.get(f"/projects/{pid}").get_data(as_text=True)
    assert "60.00 万元" in detail and "600.00 万元" not in detail


def test_withdraw_a_row_shows_it_apart_and_leaves_the_totals(app, hanbin, login_as):
    pid = _project(app, hanbin.user)
    _funds(app, hanbin.user, pid, "100")
    fid = _funds(app, hanbin.user, pid, "800", on="2019-06-01")
    assert hanbin.post(f"/funds/{fid}/withdraw", data={"withdraw-reason": ""}).status_code == 422
    assert hanbin.post(f"/funds/{fid}/withdraw", data={"withdraw-reason": "重复录入"}).status_code == 302
    detail = hanbin.get(f"/projects/{pid}").get_data(as_text=True)
    assert "已撤回（不计入统计）：1 笔" in detail and "撤回：重复录入" in detail
    assert "<s>2019-06-01 800.00 万元</s>" in detail
    assert hanbin.get(f"/funds/{fid}/edit").get_data(as_text=True).count("撤回：重复录入") == 1
    admin = login_as("admin", None)
    sheet = load_workbook(io.BytesIO(admin.get("/reports/annual.xlsx?year=2019&table=figures").data)).active
    funds_row = [row for row in sheet.iter_rows(values_only=True) if row[0] and "到位资金" in str(row[0])][0]
    assert funds_row[1] == 100
    ranking = load_workbook(io.BytesIO(admin.get("/reports/annual.xlsx?year=2019&table=ranking").data)).active
    cells = [cell for row in ranking.iter_rows(values_only=True) for cell in row]
    assert 100 in cells and 900 not in cells


def test_other_county_and_viewer_cannot_correct_or_withdraw(app, hanbin, login_as):
    pid = _project(app, hanbin.user)
    fid = _funds(app, hanbin.user, pid)
    for other in (login_as("county_staff", "610924"), login_as("viewer", None)):
        assert other.get(f"/funds/{fid}/edit").status_code == 403
        assert other.post(f"/funds/{fid}/edit", data={"amount": "1", "arrived_on": "2019-05-01",
                                                      "reason": "x"}).status_code == 403
        assert other.post(f"/funds/{fid}/withdraw", data={"withdraw-reason": "x"}).status_code == 403
        assert "/funds/" not in other.get(f"/projects/{pid}").get_data(as_text=True)
    with app.app_context():
        row = db.session.get(FundsArrival, fid)
        assert row.amount == 600 and row.withdrawn_at is None


def test_project_form_marks_a_continuing_project(app, hanbin):
    pid = _project(app, hanbin.user, stage="negotiating", signed_on=None)
    page = hanbin.get(f"/projects/{pid}/edit").get_data(as_text=True)
    assert 'name="is_continuing"' in page
    response = hanbin.post(f"/projects/{pid}/edit", data={
        "name": "富硒茶深加工", "county_id": county_id(app, "610902"), "industry_id": 0, "investment_total": "1000",
        "source_channel": "", "referrer_id": 0, "event_id": 0, "is_continuing": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Project, pid).is_continuing is True
    assert "续建" in hanbin.get(f"/projects/{pid}").get_data(as_text=True)
    assert hanbin.post(f"/projects/{pid}/funds", data={"amount": "10", "arrived_on": "2018-05-01"}).status_code == 302
