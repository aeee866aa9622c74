"""Two people editing one record from stale forms: the second save gets a 409 "changed by X meanwhile" page that
keeps their input, shows saved vs. theirs, and lets them save again on purpose; the first save survives."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from crm.extensions import db
from crm.models import Event, Followup, Lead, Project, Target, User
from crm.services import events, followups, leads, projects
from tests.conftest import county_id

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)


def _version_on(page: str) -> str:
    return re.search(r'name="version" type="hidden" value="(\d+)"|type="hidden" name="version" value="(\d+)"|'
                     r'id="version" name="version" type="hidden" value="(\d+)"', page).group(0).rsplit('"', 2)[-2]


def _lead(app, ref) -> int:
    with app.test_request_context():
        return leads.create_lead(db.session.get(User, ref.id), {"name": "恒信建设工程有限公司"}, now=NOW).id


def _lead_form(**extra) -> dict:
    data = {"name": "恒信建设工程有限公司", "kind": "enterprise", "status": "new", "industry_id": 0, "owner_county_id": 0,
            "owner_id": 0, "home_county_id": 0, "source_channel": "", "referrer_id": 0, "tags": ""}
    data.update(extra)
    return data


def test_edit_form_carries_the_version_it_was_filled_from(app, login_as):
    c = login_as("county_staff")
    lead_id = _lead(app, c.user)
    assert _version_on(c.get(f"/leads/{lead_id}/edit").get_data(as_text=True)) == "1"


def test_second_save_from_stale_lead_form_shows_conflict_and_keeps_input(app, login_as):
    first = login_as("county_staff", display_name="王芳")
    second = login_as("county_staff")
    lead_id = _lead(app, first.user)
    assert first.post(f"/leads/{lead_id}/edit", data=_lead_form(notes="王芳的备注", version="1")).status_code == 302

    response = second.post(f"/leads/{lead_id}/edit", data=_lead_form(notes="第二人的备注", status="interested",
                                                                      version="1"))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "此记录已被 王芳 于" in page and "您的修改尚未保存" in page
    assert "第二人的备注" in page  # their input is still in the form
    assert "王芳的备注" in page and "当前已保存" in page  # the saved value shown beside theirs
    assert _version_on(page) == "2"
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.notes, lead.status, lead.version) == ("王芳的备注", "new", 2)

    again = second.post(f"/leads/{lead_id}/edit", data=_lead_form(notes="第二人的备注", version="2"))
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Lead, lead_id).notes == "第二人的备注"


def test_project_edit_form_opened_before_a_stage_change_conflicts(app, login_as):
    c = login_as("county_staff", "610902")
    hanbin = county_id(app, "610902")
    with app.test_request_context():
        pid = projects.create_project(db.session.get(User, c.user.id), {"name": "富硒茶深加工", "county_id": hanbin},
                                      now=NOW).id
    page = c.get(f"/projects/{pid}/edit").get_data(as_text=True)
    assert _version_on(page) == "1"
    assert c.post(f"/projects/{pid}/stage", data={"stage": "negotiating"}).status_code == 302
    response = c.post(f"/projects/{pid}/edit", data={"name": "富硒茶深加工二期", "county_id": hanbin,
                                                     "industry_id": 0, "referrer_id": 0, "event_id": 0,
                                                     "source_channel": "", "version": "1"})
    assert response.status_code == 409 and "富硒茶深加工二期" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Project, pid).name == "富硒茶深加工"


def test_stale_followup_form_conflicts(app, login_as):
    c = login_as("county_staff")
    lead_id = _lead(app, c.user)
    with app.test_request_context():
        fu_id = followups.create_followup(db.session.get(User, c.user.id), {
            "title": "回访", "due_at": "2027-03-20T09:00", "lead_id": lead_id, "assignee_id": c.user.id}, now=NOW).id
    data = {"title": "电话回访", "lead_id": lead_id, "due_at": "2027-03-20T09:00", "priority": "normal",
            "assignee_id": c.user.id, "county_id": 0, "version": "1"}
    assert c.post(f"/followups/{fu_id}/edit", data=data).status_code == 302
    response = c.post(f"/followups/{fu_id}/edit", data={**data, "title": "上门回访"})
    assert response.status_code == 409 and "上门回访" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Followup, fu_id).title == "电话回访"


def test_stale_event_form_conflicts(app, login_as):
    c = login_as("city_staff", None)
    with app.test_request_context():
        event_id = events.create_event(db.session.get(User, c.user.id), {"name": "深圳推介会",
                                                                         "held_on": "2027-03-01"}, now=NOW).id
    data = {"name": "深圳推介会", "held_on": "2027-03-01", "county_id": 0, "city": "深圳", "version": "1"}
    assert c.post(f"/events/{event_id}/edit", data=data).status_code == 302
    response = c.post(f"/events/{event_id}/edit", data={**data, "city": "广州"})
    assert response.status_code == 409 and "广州" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Event, event_id).city == "深圳"


def test_stale_admin_user_form_conflicts(app, login_as, make_user):
    admin = login_as("admin", None)
    target = make_user("county_staff", "610902", display_name="李强")
    data = {"username": target.username, "display_name": "李强强", "role": "county_staff",
            "county_id": target.county_id, "language": "zh", "is_active_user": "y", "version": "1"}
    assert admin.post(f"/admin/users/{target.id}/edit", data=data).status_code == 302
    response = admin.post(f"/admin/users/{target.id}/edit", data={**data, "display_name": "李大强"})
    assert response.status_code == 409 and "李大强" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, target.id).display_name == "李强强"


def test_targets_grid_keeps_cells_saved_meanwhile_and_flags_a_cell_both_changed(app, login_as):
    first, second = login_as("admin", None, display_name="王芳"), login_as("admin", None)
    page = second.get("/reports/targets?year=2027").get_data(as_text=True)
    assert 'name="was-0-signed_count" value=""' in page
    assert first.post("/reports/targets", data={"year": 2027, "t-0-signed_count": "10", "was-0-signed_count": ""}
                      ).status_code == 302
    grid = {"year": 2027, "was-0-signed_count": "", "was-0-funds_in_place": "", "t-0-signed_count": "",
            "t-0-funds_in_place": "500"}
    assert second.post("/reports/targets", data=grid).status_code == 302  # the untouched cell keeps 王芳's 10
    with app.app_context():
        assert {t.metric: str(t.value) for t in db.session.query(Target)} == {"signed_count": "10.00",
                                                                             "funds_in_place": "500.00"}
    refused = second.post("/reports/targets", data={**grid, "t-0-signed_count": "15", "was-0-funds_in_place": "500.00"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "王芳" in page and 'name="was-0-signed_count" value="10"' in page
    assert 'name="t-0-signed_count"' in page and 'value="15"' in page
    again = second.post("/reports/targets", data={**grid, "t-0-signed_count": "15", "was-0-signed_count": "10",
                                                   "was-0-funds_in_place": "500.00"})
    assert again.status_code == 302
    with app.app_context():
        assert {t.metric: str(t.value) for t in db.session.query(Target)}["signed_count"] == "15.00"


def test_stale_admin_county_form_conflicts(app, login_as):
    admin = login_as("admin", None)
    hanbin = county_id(app, "610902")
    assert _version_on(admin.get(f"/admin/counties/{hanbin}/edit").get_data(as_text=True)) == "1"
    data = {"name": "汉滨区（新）", "kind": "district", "sort_order": 1, "is_active": "y", "version": "1"}
    assert admin.post(f"/admin/counties/{hanbin}/edit", data=data).status_code == 302
    response = admin.post(f"/admin/counties/{hanbin}/edit", data={**data, "name": "汉滨"})
    assert response.status_code == 409 and 'value="汉滨"' in response.get_data(as_text=True)


def test_stale_profile_form_conflicts_with_an_admin_edit(app, login_as):
    me = login_as("county_staff", display_name="李强")
    assert _version_on(me.get("/profile").get_data(as_text=True)) == "1"
    admin = login_as("admin", None)
    assert admin.post(f"/admin/users/{me.user.id}/edit", data={
        "username": me.user.username, "display_name": "李强（招商科）", "role": "county_staff",
        "county_id": me.user.county_id, "language": "zh", "is_active_user": "y", "version": "1"}).status_code == 302
    response = me.post("/profile", data={"display_name": "强", "language": "zh", "version": "1"})
    assert response.status_code == 409 and 'value="强"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, me.user.id).display_name == "李强（招商科）"
