"""Follow-ups and notifications over the JSON API: fields per API.md, filters, permissions, errors."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm.extensions import db
from crm.models import Interaction, User
from crm.services import notifications
from tests.services.test_followups import make_followup, make_lead

FIELDS = {"id", "lead_id", "project_id", "title", "detail", "due_at", "assignee_id", "county_id", "assigned_by_id",
          "status", "completed_at"}


def now():
    return datetime.now(UTC)


def test_create_list_patch_complete(app, api_client):
    client = api_client("county_staff")
    lead = make_lead(app)
    response = client.post("/api/v1/followups", json={"title": "电话回访", "due_at": "2030-03-01T09:00:00+08:00",
                                                      "lead_id": lead, "assignee_id": client.user.id})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert FIELDS <= set(body) and body["due_at"].startswith("2030-03-01T01:00:00")
    fid = body["id"]
    listed = client.get(f"/api/v1/followups?status=open&assignee_id={client.user.id}").get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == fid
    patched = client.patch(f"/api/v1/followups/{fid}", json={"title": "上门拜访", "priority": "high"}).get_json()
    assert (patched["title"], patched["priority"]) == ("上门拜访", "high")
    done = client.post(f"/api/v1/followups/{fid}/complete", json={"outcome": "约定四月考察", "kind": "visit"})
    assert done.status_code == 200 and done.get_json()["status"] == "done" and done.get_json()["completed_at"]
    with app.app_context():
        assert db.session.scalar(db.select(Interaction.kind)) == "visit"


def test_create_with_bad_input_is_422_with_fields(app, api_client):
    client = api_client("county_staff")
    response = client.post("/api/v1/followups", json={"title": "", "due_at": "soon"})
    assert response.status_code == 422
    assert {"title", "due_at", "lead_id"} <= set(response.get_json()["errors"])


def test_overdue_and_due_before_filters(app, api_client):
    client = api_client("county_staff")
    lead = make_lead(app)
    late = make_followup(app, client.user.id, lead, assignee_id=client.user.id, now=now(),
                         due_at=now() - timedelta(hours=2))
    make_followup(app, client.user.id, lead, assignee_id=client.user.id, now=now(), due_at=now() + timedelta(days=9))
    assert [i["id"] for i in client.get("/api/v1/followups?overdue=true").get_json()["items"]] == [late]
    cutoff = (now() + timedelta(days=1)).isoformat().replace("+", "%2B")
    assert [i["id"] for i in client.get(f"/api/v1/followups?due_before={cutoff}").get_json()["items"]] == [late]


def test_other_county_gets_404_and_sees_nothing(app, api_client, make_user):
    owner = make_user("county_staff", "610902")
    lead = make_lead(app)
    fid = make_followup(app, owner.id, lead, assignee_id=owner.id, now=now())
    outsider = api_client("county_staff", "610924")
    assert outsider.get("/api/v1/followups").get_json()["total"] == 0
    assert outsider.patch(f"/api/v1/followups/{fid}", json={"title": "x"}).status_code == 404
    assert outsider.post(f"/api/v1/followups/{fid}/complete", json={"outcome": "x"}).status_code == 404
    assert api_client("viewer", None).post("/api/v1/followups", json={"title": "t"}).status_code == 403


def test_notifications_own_only(app, api_client, make_user):
    client = api_client("county_staff")
    other = make_user("county_staff")
    with app.test_request_context():
        mine = notifications.notify(db.session.get(User, client.user.id), "k", "提醒", "", "/x", "a", now=now()).id
        theirs = notifications.notify(db.session.get(User, other.id), "k", "别人的", "", None, "a", now=now()).id
        db.session.commit()
    listed = client.get("/api/v1/notifications").get_json()
    assert [n["id"] for n in listed["items"]] == [mine] and listed["unread"] == 1
    assert client.post(f"/api/v1/notifications/{theirs}/read").status_code == 404
    read = client.post(f"/api/v1/notifications/{mine}/read")
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert client.get("/api/v1/notifications?unread=true").get_json()["total"] == 0


def test_claim_from_the_county_inbox_once(app, api_client, make_user):
    colleague = make_user("county_staff")
    lead = make_lead(app)
    fid = make_followup(app, colleague.id, lead, county_id=colleague.county_id)
    first, second = api_client("county_staff"), api_client("county_staff")
    stale = first.get(f"/api/v1/followups/{fid}").get_json()["version"]
    claimed = first.post(f"/api/v1/followups/{fid}/claim", json={"version": stale})
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["assignee_id"] == first.user.id and claimed.get_json()["version"] == stale + 1
    late = second.post(f"/api/v1/followups/{fid}/claim", json={})
    assert late.status_code == 409 and "领取" in late.get_json()["detail"]
    outsider = api_client("county_staff", "610924")
    assert outsider.post(f"/api/v1/followups/{fid}/claim", json={}).status_code == 404
