"""The visit form (one phone screen: lead, contact, next step), correcting and withdrawing a visit, and trip
pages."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Followup, Interaction, Lead, User
from crm.services import leads

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
XSS = '<img src=x onerror=alert(1)>'


def make_lead(app, ref, name="恒信建设工程有限公司", **data) -> int:
    with app.test_request_context():
        return leads.create_lead(db.session.get(User, ref.id), {"name": name, **data}, now=NOW).id


def visit(**extra) -> dict:
    data = {"kind": "visit", "occurred_at": "2026-01-15T09:30", "location": "北京", "leader_level": "county",
            "leader_name": "张县长", "visitor_count": "3", "summary": "介绍园区政策", "outcome": "有意向考察",
            "trip_id": "0", "next_title": "", "next_due_at": "", "next_assignee_id": "0"}
    data.update(extra)
    return data


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_visit_form_renders_for_phone_with_lookup_and_next_step(login_as):
    c = login_as("county_staff")
    page = c.get("/interactions/new").get_data(as_text=True)
    assert 'name="viewport"' in page and "lead-picker" in page and "/leads/lookup" in page
    assert 'name="next_title"' in page and 'name="new_lead"' in page and "tom-select" in page


def test_log_visit_with_next_step_shows_on_timeline(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    response = c.post("/interactions/new", data=visit(lead_id=lead_id, participant_ids=[c.user.id],
                                                      next_title="寄送园区资料", next_due_at="2030-03-20T10:00",
                                                      next_assignee_id=c.user.id))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead_id}")
    page = c.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert "介绍园区政策" in page and "寄送园区资料" in page and "张县长" in page
    with app.app_context():
        i = db.session.scalar(select(Interaction))
        assert i.occurred_at == datetime(2026, 1, 15, 1, 30, tzinfo=UTC) and i.visitor_count == 3
        assert db.session.scalar(select(Followup)).source_interaction_id == i.id
        assert db.session.get(Lead, lead_id).status == "engaged"


def test_log_visit_from_lead_page_fixes_the_lead(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    assert "恒信建设工程有限公司" in c.get(f"/leads/{lead_id}/interactions/new").get_data(as_text=True)
    assert c.post(f"/leads/{lead_id}/interactions/new", data=visit()).status_code == 302
    assert count(app, Interaction) == 1


def test_log_visit_with_inline_new_lead(app, login_as):
    c = login_as("county_staff", "610924")
    response = c.post("/interactions/new", data=visit(new_lead="y", new_name="紫阳富硒茶厂", new_kind="enterprise",
                                                      new_industry_id="0", new_contact="李厂长",
                                                      new_mobile="13912345678"))
    assert response.status_code == 302
    with app.app_context():
        lead = db.session.scalar(select(Lead))
        assert lead.name == "紫阳富硒茶厂" and lead.owner_county_id == c.user.county_id
        assert lead.contacts[0].mobile_key == "13912345678"


def test_log_visit_without_lead_or_summary_shows_errors_and_saves_nothing(app, login_as):
    c = login_as("county_staff")
    response = c.post("/interactions/new", data=visit(summary=""))
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)
    response = c.post("/interactions/new", data=visit())
    assert response.status_code == 200 and "invalid-feedback" in response.get_data(as_text=True)
    assert count(app, Interaction) == 0


def test_log_visit_with_invalid_next_step_saves_nothing(app, login_as, make_user):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    response = c.post("/interactions/new", data=visit(lead_id=lead_id, next_title="x" * 300,
                                                      next_due_at="2030-03-20T10:00"))
    assert response.status_code == 200
    response = c.post("/interactions/new", data=visit(lead_id=lead_id, next_title="回访", next_due_at=""))
    assert response.status_code == 200 and "invalid-feedback" in response.get_data(as_text=True)
    assert count(app, Interaction) == 0 and count(app, Followup) == 0


def test_log_visit_with_oversized_summary_is_refused_cleanly(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    response = c.post("/interactions/new", data=visit(lead_id=lead_id, summary="长" * 6000, location="l" * 999))
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)
    assert count(app, Interaction) == 0


def test_summary_with_xss_is_rendered_escaped(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    c.post("/interactions/new", data=visit(lead_id=lead_id, summary=XSS, outcome=XSS, leader_name="<b>x</b>"))
    page = c.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "<b>x</b>" not in page


def test_viewer_cannot_open_visit_form(login_as):
    assert login_as("viewer", None).get("/interactions/new").status_code == 403


def test_trip_create_list_and_pick_on_visit_form(app, login_as):
    c = login_as("county_staff")
    response = c.post("/trips/new", data={"title": "京津冀招商考察", "leader_level": "city", "leader_name": "市长",
                                          "starts_on": datetime.now(UTC).date().isoformat(),
                                          "ends_on": datetime.now(UTC).date().isoformat(), "cities": "北京、廊坊",
                                          "participant_ids": [c.user.id]})
    assert response.status_code == 302
    assert "京津冀招商考察" in c.get("/trips").get_data(as_text=True)
    assert "京津冀招商考察" in c.get("/interactions/new").get_data(as_text=True)
    assert c.get(response.headers["Location"]).status_code == 200
    bad = c.post("/trips/new", data={"title": "", "starts_on": "2027-03-19", "ends_on": "2027-03-01"})
    assert bad.status_code == 200 and "is-invalid" in bad.get_data(as_text=True)


def _trip(c, **extra) -> int:
    today = datetime.now(UTC).date().isoformat()
    data = {"title": "京津冀招商考察", "leader_level": "city", "leader_name": "市长", "starts_on": today,
            "ends_on": today, "cities": "北京、廊坊", "participant_ids": [c.user.id], **extra}
    response = c.post("/trips/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_trip_page_lists_its_visits_with_their_leads(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    trip_id = _trip(c)
    assert c.post("/interactions/new", data=visit(lead_id=lead_id, trip_id=trip_id)).status_code == 302
    page = c.get(f"/trips/{trip_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "恒信建设工程有限公司" in text and "介绍园区政策" in text and f"/leads/{lead_id}" in text
    assert login_as("viewer", None).get(f"/trips/{trip_id}").status_code == 200


def test_trip_edit_saves_and_other_county_may_not(app, login_as):
    c = login_as("county_staff")
    trip_id = _trip(c)
    assert c.get(f"/trips/{trip_id}/edit").status_code == 200
    today = datetime.now(UTC).date().isoformat()
    response = c.post(f"/trips/{trip_id}/edit", data={"title": "京津冀招商考察（第二批）", "leader_level": "city",
                                                      "leader_name": "市长", "starts_on": today, "ends_on": today,
                                                      "participant_ids": [c.user.id]})
    assert response.status_code == 302
    assert "京津冀招商考察（第二批）" in c.get(f"/trips/{trip_id}").get_data(as_text=True)
    assert login_as("county_staff", "610924").get(f"/trips/{trip_id}/edit").status_code == 403


def _logged(app) -> Interaction:
    with app.app_context():
        return db.session.scalar(select(Interaction).order_by(Interaction.id.desc()))


def test_correct_a_visit_from_the_timeline(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    c.post("/interactions/new", data=visit(lead_id=lead_id, participant_ids=[c.user.id]))
    iid = _logged(app).id
    page = c.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert f"/interactions/{iid}/edit" in page
    form = c.get(f"/interactions/{iid}/edit").get_data(as_text=True)
    assert "张县长" in form and "2026-01-15T09:30" in form and 'name="next_title"' not in form
    data = visit(visitor_count="5", summary="介绍园区政策和用地", participant_ids=[c.user.id])
    response = c.post(f"/interactions/{iid}/edit", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead_id}")
    with app.app_context():
        i = db.session.get(Interaction, iid)
        assert (i.visitor_count, i.summary) == (5, "介绍园区政策和用地")
    assert count(app, Interaction) == 1


def test_correcting_a_visit_refuses_inconsistent_entries_with_clear_messages(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    c.post("/interactions/new", data=visit(lead_id=lead_id))
    iid = _logged(app).id
    page = c.post(f"/interactions/{iid}/edit", data=visit(leader_level="none")).get_data(as_text=True)
    assert "已选择“无领导带队”：请清空带队领导姓名" in page and "is-invalid" in page
    page = c.post(f"/interactions/{iid}/edit", data=visit(visitor_count="10000")).get_data(as_text=True)
    assert "人次指本次接洽接待或会见的人数，须在 0 到 500 之间" in page
    with app.app_context():
        assert db.session.get(Interaction, iid).visitor_count == 3


def test_log_visit_refuses_a_next_step_due_in_the_past(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    response = c.post("/interactions/new", data=visit(lead_id=lead_id, next_title="寄送园区资料",
                                                      next_due_at="2020-03-20T10:00"))
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)
    assert count(app, Interaction) == 0 and count(app, Followup) == 0


def test_withdraw_a_visit_marks_it_on_the_timeline(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    c.post("/interactions/new", data=visit(lead_id=lead_id))
    iid = _logged(app).id
    assert "withdraw-form" in c.get(f"/interactions/{iid}/edit").get_data(as_text=True)
    assert c.post(f"/interactions/{iid}/withdraw", data={"reason": ""}).status_code == 302
    assert _logged(app).withdrawn_at is None
    response = c.post(f"/interactions/{iid}/withdraw", data={"reason": "重复录入"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead_id}")
    page = c.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert "已撤回" in page and "重复录入" in page and f"/interactions/{iid}/edit" not in page
    assert c.get(f"/interactions/{iid}/edit").status_code == 302


def test_other_county_and_viewer_may_not_correct_or_withdraw(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    c.post("/interactions/new", data=visit(lead_id=lead_id))
    iid = _logged(app).id
    for other in (login_as("county_staff", "610924"), login_as("viewer", None)):
        assert other.get(f"/interactions/{iid}/edit").status_code == 403
        assert other.post(f"/interactions/{iid}/withdraw", data={"reason": "x"}).status_code == 403
        assert f"/interactions/{iid}/edit" not in other.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert _logged(app).withdrawn_at is None
