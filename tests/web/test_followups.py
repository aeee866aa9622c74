"""Follow-up pages through the client: my list in buckets, create from a lead, complete, hand-off, bulk,
board and overview; another county's follow-ups stay hidden."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm.extensions import db
from crm.models import Followup, Interaction
from tests.services.test_followups import make_followup, make_lead


def now():
    return datetime.now(UTC)


def test_mine_shows_buckets_colour_coded(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app)
    make_followup(app, client.user.id, lead, title="逾期回访", assignee_id=client.user.id, now=now(),
                  due_at=now() - timedelta(days=2))
    make_followup(app, client.user.id, lead, title="下月考察", assignee_id=client.user.id, now=now(),
                  due_at=now() + timedelta(days=40))
    page = client.get("/followups/mine").get_data(as_text=True)
    assert "due-overdue" in page and "due-later" in page and "逾期回访" in page and "下月考察" in page
    assert 'name="ids"' in page and "陕西富硒食品有限公司" in page


def test_create_from_lead_page_preselects_lead(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app, name="安康茶业集团")
    page = client.get(f"/followups/new?lead_id={lead}").get_data(as_text=True)
    assert f'<option value="{lead}" selected>安康茶业集团' in page  # the picker holds only the chosen lead
    response = client.post("/followups/new", data={"title": "寄送资料", "lead_id": lead, "due_at": "2030-05-01T09:00",
                                                   "priority": "normal", "assignee_id": client.user.id, "county_id": 0})
    assert response.status_code == 302
    with app.app_context():
        fu = db.session.scalar(db.select(Followup))
        assert (fu.title, fu.lead_id, fu.assignee_id) == ("寄送资料", lead, client.user.id)


def test_create_with_missing_title_shows_error(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app)
    response = client.post("/followups/new", data={"title": "", "lead_id": lead, "due_at": "2030-05-01T09:00",
                                                   "priority": "normal", "assignee_id": client.user.id, "county_id": 0})
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)


def test_complete_and_schedule_next_from_detail(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app)
    fid = make_followup(app, client.user.id, lead, assignee_id=client.user.id, now=now())
    assert 'id="complete"' in client.get(f"/followups/{fid}").get_data(as_text=True)
    response = client.post(f"/followups/{fid}/complete", data={
        "outcome": "客商确认下周到访", "kind": "call", "schedule_next": "y", "next_title": "接待来访",
        "next_due_at": "2030-06-01T10:00"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Followup, fid).status == "done"
        assert db.session.scalar(db.select(Interaction.outcome)) == "客商确认下周到访"
        assert db.session.scalar(db.select(Followup.title).where(Followup.previous_id == fid)) == "接待来访"


def test_other_county_cannot_open_or_complete(app, login_as, make_user):
    owner = make_user("county_staff", "610902")
    lead = make_lead(app)
    fid = make_followup(app, owner.id, lead, assignee_id=owner.id, now=now())
    outsider = login_as("county_staff", "610924")
    assert outsider.get(f"/followups/{fid}").status_code == 404
    assert outsider.post(f"/followups/{fid}/complete", data={"outcome": "x", "kind": "call"}).status_code == 404
    with app.app_context():
        assert db.session.get(Followup, fid).status == "open"


def test_handoff_accept_from_board(app, login_as, make_user):
    city = make_user("city_staff")
    county = login_as("county_staff", "610902")
    lead = make_lead(app)
    fid = make_followup(app, city.id, lead, county_id=county.user.county_id, now=now())
    board = county.get("/followups/board").get_data(as_text=True)
    assert f'href="/followups/{fid}"' in board
    assert county.post(f"/followups/{fid}/accept", data={"take": "1"}).status_code == 302
    with app.app_context():
        fu = db.session.get(Followup, fid)
        assert (fu.handoff, fu.assignee_id) == ("accepted", county.user.id)


def test_bulk_reschedule_from_my_list(app, login_as):
    client = login_as("county_staff")
    lead = make_lead(app)
    ids = [make_followup(app, client.user.id, lead, assignee_id=client.user.id, now=now()) for _ in range(2)]
    response = client.post("/followups/bulk", data={"ids": ids, "action": "reschedule", "due_at": "2030-01-02T09:00"})
    assert response.status_code == 302
    with app.app_context():
        assert {db.session.get(Followup, i).due_at for i in ids} == {datetime(2030, 1, 2, 1, 0, tzinfo=UTC)}


def test_overview_for_city_only(app, login_as):
    assert login_as("city_staff").get("/followups/overview").status_code == 200
    assert login_as("county_staff").get("/followups/overview").status_code == 403


def _csv_rows(response) -> list[list[str]]:
    import csv
    import io

    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_my_list_exports_exactly_what_it_shows(app, login_as, make_user):
    client = login_as("county_staff", "610902")
    other = make_user("county_staff", "610902")
    lead = make_lead(app)
    make_followup(app, client.user.id, lead, title="我的回访", assignee_id=client.user.id, now=now())
    make_followup(app, client.user.id, lead, title="县里待领", county_id=client.user.county_id, now=now())
    make_followup(app, client.user.id, lead, title="同事的回访", assignee_id=other.id, now=now())
    page = client.get("/followups/mine").get_data(as_text=True)
    assert "/exports/followups.xlsx?view=mine" in page and "/exports/followups.csv?view=mine" in page
    rows = _csv_rows(client.get("/exports/followups.csv?view=mine"))
    assert sorted(r[1] for r in rows[1:]) == ["县里待领", "我的回访"] and rows[1][4] == "进行中"
    assert client.get("/exports/followups.xlsx?view=mine").data.startswith(b"PK")


def test_board_and_overview_export_open_followups_of_their_scope(app, login_as, make_user):
    county = login_as("county_staff", "610902")
    lead, other_lead = make_lead(app), make_lead(app, "610921", name="紫阳茶厂")
    fid = make_followup(app, county.user.id, lead, title="汉滨回访", assignee_id=county.user.id, now=now())
    done = make_followup(app, county.user.id, lead, title="已办完", assignee_id=county.user.id, now=now())
    county.post(f"/followups/{done}/complete", data={"outcome": "谈妥"})
    ziyang = make_user("county_staff", "610921")
    make_followup(app, ziyang.id, other_lead, title="紫阳回访", assignee_id=ziyang.id, now=now())
    board = county.get("/followups/board").get_data(as_text=True)
    county_id = county.user.county_id
    assert f"/exports/followups.csv?county_id={county_id}&amp;status=open" in board
    rows = _csv_rows(county.get(f"/exports/followups.csv?county_id={county_id}&status=open"))
    assert [r[0] for r in rows[1:]] == [str(fid)]
    city = login_as("city_staff")
    assert "/exports/followups.csv?status=open" in city.get("/followups/overview").get_data(as_text=True)
    assert sorted(r[1] for r in _csv_rows(city.get("/exports/followups.csv?status=open"))[1:]) == ["汉滨回访", "紫阳回访"]


def test_followup_export_with_bad_filters_is_refused_with_a_message(login_as):
    client = login_as("county_staff", "610902")
    for query in ("status=bogus", "county_id=abc"):
        response = client.get(f"/exports/followups.csv?{query}", headers={"Referer": "http://localhost/followups/mine"})
        assert response.status_code == 302 and response.location.endswith("/followups/mine")
