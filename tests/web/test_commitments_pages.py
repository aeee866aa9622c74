"""履约 pages (issue 15 items 2, 3): a project's commitments (create with a Chinese message on bad input and nothing
saved, record an actual, mark with a reason), the 三未 list with its XLSX export, the needs-attention list, and the
health badge on the project list, kanban and dashboard."""
from __future__ import annotations

from datetime import UTC, datetime

from openpyxl import load_workbook

from crm.extensions import db
from crm.models import Commitment, User
from crm.services import projects
from tests.conftest import county_id


def _project(app, client, **data) -> int:
    hanbin = county_id(app, "610902")
    with app.test_request_context():
        me = db.session.get(User, client.user.id)
        return projects.create_project(me, {"name": "富硒茶深加工", "county_id": hanbin,
                                            "stage": "signed", "signed_on": "2019-03-01", "investment_total": "20000",
                                            **data}, now=datetime.now(UTC)).id


def _token(page: bytes) -> str:
    import re

    return re.search(rb'name="idempotency_key"[^>]*value="([^"]+)"', page).group(1).decode()


def test_create_commitment_and_record_an_actual(app, login_as):
    client = login_as("county_staff", "610902")
    pid = _project(app, client)
    page = client.get(f"/projects/{pid}/commitments")
    assert page.status_code == 200 and "履约承诺".encode() in page.data
    bad = client.post(f"/projects/{pid}/commitments", data={"kind": "jobs", "due_on": "2018-01-01",
                                                            "target_quantity": "很多", "idempotency_key": "key-first-1"})
    assert bad.status_code == 422
    assert "早于项目签约日期".encode() in bad.data and "请输入数字".encode() in bad.data
    with app.app_context():
        assert db.session.query(Commitment).count() == 0
    ok = client.post(f"/projects/{pid}/commitments", data={"kind": "jobs", "due_on": "2020-01-01",
                                                           "target_quantity": "300", "idempotency_key": "key-second-2"})
    assert ok.status_code == 302
    with app.app_context():
        cid = db.session.query(Commitment.id).scalar()
    page = client.get(f"/projects/{pid}/commitments")
    prefix = f"a{cid}-"
    done = client.post(f"/commitments/{cid}/actuals", data={f"{prefix}recorded_on": "2019-12-01",
                                                            f"{prefix}quantity": "240",
                                                            f"{prefix}idempotency_key": _token(page.data)})
    assert done.status_code == 302
    page = client.get(f"/projects/{pid}/commitments").data.decode()
    assert "80.00%" in page and "逾期" in page  # 240 / 300, past due
    marked = client.post(f"/commitments/{cid}/mark", data={f"m{cid}-status": "waived", f"m{cid}-reason": "企业缩减规模"})
    assert marked.status_code == 302
    with app.app_context():
        assert db.session.get(Commitment, cid).status == "waived"


def test_viewer_sees_but_may_not_add(app, login_as):
    staff = login_as("county_staff", "610902")
    pid = _project(app, staff)
    viewer = login_as("viewer", None)
    page = viewer.get(f"/projects/{pid}/commitments")
    assert page.status_code == 200 and "新增承诺".encode() not in page.data
    assert viewer.post(f"/projects/{pid}/commitments", data={"kind": "land"}).status_code == 403


def test_three_not_list_filters_and_exports(app, login_as):
    client = login_as("city_staff", None)
    _project(app, client, name="久未开工项目", signed_on="2018-01-01")
    page = client.get("/commitments/warnings").data.decode()
    assert "久未开工项目" in page and "签约未开工" in page
    other = county_id(app, "610924")
    assert "久未开工项目" not in client.get(f"/commitments/warnings?county_id={other}").data.decode()
    assert client.get("/commitments/warnings?county_id=abc&kind=zzz").status_code == 200
    export = client.get("/commitments/warnings/export")
    assert export.status_code == 200
    from io import BytesIO

    sheet = load_workbook(BytesIO(export.data)).active
    assert [c.value for c in sheet[2]][1] == "久未开工项目"


def test_health_on_list_kanban_dashboard_and_attention(app, login_as):
    client = login_as("city_staff", None)
    pid = _project(app, client, name="无人联系项目")
    with app.app_context():
        from datetime import timedelta

        from crm.models import Project

        db.session.get(Project, pid).created_at = datetime.now(UTC) - timedelta(days=400)
        db.session.commit()
    for url in ("/projects/", "/projects/kanban", f"/projects/{pid}"):
        page = client.get(url).data.decode()
        assert 'data-health="red"' in page and "从未联系" in page and "400 天未联系" in page, url
    assert "无人联系项目" in client.get("/projects/attention").data.decode()
    viewer = login_as("viewer", None)
    board = viewer.get("/").data.decode()
    assert 'data-tile="health"' in board and 'data-tile="landing"' in board



def test_edit_page_saves_and_refuses_a_stale_version(app, login_as):
    client = login_as("county_staff", "610902")
    pid = _project(app, client)
    with app.test_request_context():
        from crm.services import commitments

        cid = commitments.create_commitment(db.session.get(User, client.user.id), pid, {
            "kind": "tax", "due_on": "2020-12-31", "target_quantity": "100"}, now=datetime.now(UTC)).id
    assert client.get(f"/commitments/{cid}/edit").status_code == 200
    saved = client.post(f"/commitments/{cid}/edit", data={"due_on": "2021-06-30", "target_quantity": "150",
                                                          "version": "1"})
    assert saved.status_code == 302, saved.data.decode()[-2000:]
    stale = client.post(f"/commitments/{cid}/edit", data={"due_on": "2021-06-30", "target_quantity": "90",
                                                          "version": "1"})
    assert stale.status_code == 409
    with app.app_context():
        c = db.session.get(Commitment, cid)
        assert (str(c.target_quantity), c.version) == ("150.00", 2)
