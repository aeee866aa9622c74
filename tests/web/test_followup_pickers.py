"""Issue 14 follow-up pages through the client: leads picked beyond the first few hundred (follow-ups, events,
projects), a county inbox never silently kept with the default assignee, 领取 from the inbox, bulk assign with no
default person, 完成并安排下一步 errors that name their fields and keep the text, returning a hand-off, reminders
of closed tasks, and the calendar with its iCal feed."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from crm.extensions import db
from crm.models import Event, Followup, Lead, Notification, Project, User
from crm.services import reminders
from tests.conftest import county_id
from tests.services.test_followups import make_followup, make_lead


def now():
    return datetime.now(UTC)


@pytest.fixture
def many_leads(app):
    """403 live leads (as in the demo city) and one deleted; returns (last lead by name, deleted lead)."""
    with app.app_context():
        owner = county_id(app, "610902")
        db.session.add_all([Lead(name=f"测试企业{n:03d}", owner_county_id=owner) for n in range(403)])
        gone = Lead(name="已删除企业", owner_county_id=owner, deleted_at=now())
        db.session.add(gone)
        db.session.commit()
        last = db.session.scalar(db.select(Lead.id).where(Lead.name == "测试企业402"))
        return last, gone.id


def _new(client, lead, **extra):
    data = {"title": "寄送资料", "lead_id": lead, "due_at": "2030-05-01T09:00", "priority": "normal",
            "assignee_id": client.user.id, "county_id": 0}
    return client.post("/followups/new", data=data | extra)


# --- pickers: any live lead, never a deleted one ---------------------------------------------------------

def test_followup_form_is_a_searchable_picker_and_takes_the_403rd_lead(app, login_as, many_leads):
    last, gone = many_leads
    client = login_as("city_staff")
    page = client.get("/followups/new").get_data(as_text=True)
    assert 'class="form-select lead-picker' in page and "测试企业" not in page  # searched, not listed
    assert 'data-picker' in page and 'data-clears="#county_id"' in page
    assert _new(client, last).status_code == 302
    refused = _new(client, gone, title="不该保存")
    assert refused.status_code == 200 and "客商不存在" in refused.get_data(as_text=True)
    with app.app_context():
        assert [f.lead_id for f in db.session.scalars(db.select(Followup))] == [last]


def test_event_and_project_lead_lists_take_any_live_lead_and_refuse_others(app, login_as, many_leads):
    last, gone = many_leads
    city = login_as("city_staff")
    page = city.get("/events/new").get_data(as_text=True)
    assert page.count('data-lead-picker="multi"') == 2 and "测试企业" not in page
    ok = city.post("/events/new", data={"name": "深圳推介会", "held_on": "2030-04-01", "county_id": 0,
                                        "lead_ids": [last], "attended_ids": [last]})
    assert ok.status_code == 302
    bad = city.post("/events/new", data={"name": "坏推介会", "held_on": "2030-04-02", "county_id": 0,
                                         "lead_ids": [last, gone]})
    assert bad.status_code == 200 and "is-invalid" in bad.get_data(as_text=True)
    hanbin = login_as("county_staff", "610902")
    form = {"name": "富硒茶深加工", "county_id": county_id(app, "610902"), "industry_id": 0, "stage": "planned",
            "source_channel": "", "referrer_id": last, "event_id": 0, "lead_ids": [last]}
    assert hanbin.post("/projects/new", data=form).status_code == 302
    refused = hanbin.post("/projects/new", data=form | {"name": "坏项目", "lead_ids": [gone]})
    assert refused.status_code == 200 and "is-invalid" in refused.get_data(as_text=True)
    with app.app_context():
        assert [e.name for e in db.session.scalars(db.select(Event))] == ["深圳推介会"]
        project = db.session.scalar(db.select(Project))
        assert project.name == "富硒茶深加工" and project.referrer_id == last and [x.id for x in project.leads] == [last]
    edit = hanbin.get(f"/projects/{project.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{last}">测试企业402</option>' in edit  # the chosen ones stay in the picker


# --- a county inbox or a person ---------------------------------------------------------------------------

def test_county_inbox_with_the_default_assignee_is_refused_with_a_clear_message(app, login_as):
    city = login_as("city_staff")
    lead = make_lead(app)
    response = _new(city, lead, county_id=county_id(app, "610902"))
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "负责人和县区待领只能选一个" in text and "寄送资料" in text
    hanbin = county_id(app, "610902")
    assert _new(city, lead, assignee_id=0, county_id=hanbin).status_code == 302
    with app.app_context():
        fu = db.session.scalar(db.select(Followup))
        assert (fu.assignee_id, fu.county_id, fu.handoff) == (None, hanbin, "pending")


def test_inbox_items_have_a_claim_button_that_makes_them_yours(app, login_as, make_user):
    colleague = make_user("county_staff")
    lead = make_lead(app)
    fid = make_followup(app, colleague.id, lead, county_id=county_id(app, "610902"), now=now(),
                        due_at=now() + timedelta(days=2))
    client = login_as("county_staff")
    board = client.get("/followups/board").get_data(as_text=True)
    assert f'action="/followups/{fid}/claim"' in board and "领取" in board
    response = client.post(f"/followups/{fid}/claim", data={"next": "/followups/board"}, follow_redirects=True)
    assert "已领取" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Followup, fid).assignee_id == client.user.id
    second = login_as("county_staff")
    again = second.post(f"/followups/{fid}/claim", follow_redirects=True).get_data(as_text=True)
    assert "该任务已被" in again and "领取" in again
    with app.app_context():
        assert db.session.get(Followup, fid).assignee_id == client.user.id


def test_bulk_assign_has_no_default_person(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app)
    fid = make_followup(app, client.user.id, lead, assignee_id=client.user.id, now=now())
    page = client.get("/followups/mine").get_data(as_text=True)
    bar = page[page.index('id="bulk-assignee"'):]
    bar = bar[:bar.index("</select>")]
    assert "required" in bar and '<option value="" selected>' in bar and bar.count("selected") == 1
    response = client.post("/followups/bulk", data={"ids": [fid], "action": "assign", "assignee_id": ""},
                           follow_redirects=True)
    assert "请选择" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Followup, fid).assignee_id == client.user.id


# --- completing with a next step; returning a hand-off ----------------------------------------------------

def test_done_and_schedule_next_without_a_next_step_names_the_fields_and_keeps_the_outcome(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app)
    fid = make_followup(app, client.user.id, lead, assignee_id=client.user.id, now=now())
    response = client.post(f"/followups/{fid}/complete", data={
        "outcome": "客商同意下月来安康考察", "kind": "call", "schedule_next": "y", "next_title": "", "next_due_at": ""})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "客商同意下月来安康考察</textarea>" in text  # what was typed is still there
    banners = re.findall(r'class="alert alert-danger[^"]*"[^>]*>(.*?)</div>', text, re.S)
    assert len(banners) == 1 and "下一步" in banners[0] and "下一步截止时间" in banners[0]
    assert text.count("invalid-feedback d-block") == 2
    with app.app_context():
        assert db.session.get(Followup, fid).status == "open"
        assert db.session.scalar(db.select(db.func.count(Followup.id))) == 1


def test_returning_a_handoff_lands_on_the_board_with_the_message(app, login_as, make_user):
    city = make_user("city_staff")
    lead = make_lead(app)
    fid = make_followup(app, city.id, lead, county_id=county_id(app, "610902"), now=now())
    client = login_as("county_staff")
    response = client.post(f"/followups/{fid}/return", data={"reason": "不属于本区"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/followups/board")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "已退回市局" in page.get_data(as_text=True)


def test_a_reminder_of_a_task_done_since_no_longer_shows_as_overdue(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app)
    fid = make_followup(app, client.user.id, lead, assignee_id=client.user.id, now=now() - timedelta(days=3),
                        due_at=now() - timedelta(days=1), title="逾期回访")
    with app.test_request_context():
        reminders.plan_overdue_notices(now(), escalate_days=30)
    assert "list-group-item-primary" in client.get("/notifications/").get_data(as_text=True)
    client.post(f"/followups/{fid}/complete", data={"outcome": "已联系", "kind": "call"})
    page = client.get("/notifications/").get_data(as_text=True)
    row = page[page.index("逾期回访") - 900:page.index("逾期回访") + 50]
    assert "note-closed" in row and "已完成" in row and "<s>" in row and "list-group-item-primary" not in row
    with app.app_context():
        assert db.session.scalar(db.select(Notification.read_at).where(Notification.kind == "overdue")) is not None


# --- the calendar and the feed ----------------------------------------------------------------------------

def test_calendar_week_and_month_show_my_followups_and_the_feed_serves_them(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app)
    due = now() + timedelta(hours=2)
    make_followup(app, client.user.id, lead, assignee_id=client.user.id, now=now(), due_at=due, title="日历里的回访")
    day = due.astimezone().date().isoformat()
    for view in ("week", "month"):
        page = client.get(f"/followups/calendar?view={view}&day={day}").get_data(as_text=True)
        phone, desktop = page.split('<div class="d-none d-md-block">')
        assert "日历里的回访" in phone.split('class="d-md-none cal-list"')[1] and "日历里的回访" in desktop
    assert "生成我的日历订阅链接" in page and ".ics" not in page
    assert client.get("/followups/calendar?day=not-a-day&view=x").status_code == 200
    client.post("/followups/calendar/token", data={"view": "week"})
    page = client.get("/followups/calendar").get_data(as_text=True)
    url = re.search(r'value="(http://[^"]+/followups/calendar/[^"/]+\.ics)"', page).group(1)
    anonymous = app.test_client()
    feed = anonymous.get(url.split("localhost", 1)[1])
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert [str(e["summary"]) for e in Calendar.from_ical(feed.data).walk("VEVENT")] == ["日历里的回访"]
    old = url.split("localhost", 1)[1]
    client.post("/followups/calendar/token", data={})
    assert anonymous.get(old).status_code == 404  # the replaced link finds nothing


def test_wrong_feed_tokens_are_404_then_throttled(app):
    app.config["API_TOKEN_IP_MAX_FAILURES"] = 3
    anonymous = app.test_client()
    statuses = [anonymous.get(f"/followups/calendar/wrong{n}.ics").status_code for n in range(4)]
    assert statuses == [404, 404, 404, 429]
    with app.app_context():  # bad feed tokens are not counted as failed sign-ins of the address
        from crm.services.auth import _address_failures

        assert _address_failures("127.0.0.1", now()) == 0


def test_the_feed_token_never_reaches_the_access_log(app, login_as):
    import io
    import logging

    client = login_as("county_staff")
    client.post("/followups/calendar/token", data={})
    with app.app_context():
        token = db.session.get(User, client.user.id).calendar_token
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("crm.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        assert app.test_client().get(f"/followups/calendar/{token}.ics").status_code == 200
    finally:
        logger.removeHandler(handler)
    assert "/followups/calendar/***.ics" in stream.getvalue() and token not in stream.getvalue()
