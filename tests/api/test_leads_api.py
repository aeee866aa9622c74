"""API: leads CRUD with contacts, 409 duplicates and force, masking, permissions, interactions with the inline
follow-up, trips, industries."""
from __future__ import annotations

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import ClaimConflict, Followup, Interaction
from tests.services.test_leads import valid_uscc

LEAD = {"name": "恒信建设工程有限公司", "kind": "enterprise", "tags": ["建筑"],
        "contacts": [{"name": "张三", "title": "总经理", "mobile": "13800138000", "is_primary": True}]}
FIELDS = {"id", "kind", "name", "uscc", "industry_id", "tags", "origin_region", "home_county_id", "owner_county_id",
          "owner_id", "source_channel", "referrer_id", "status", "is_key", "notes", "contacts", "last_contacted_at"}


def test_create_get_patch_delete_lead(api_client):
    c = api_client("county_staff", "610902")
    response = c.post("/api/v1/leads", json=dict(LEAD, uscc=valid_uscc()))
    assert response.status_code == 201, response.get_json()
    lead = response.get_json()
    assert FIELDS <= set(lead) and lead["owner_county_id"] == c.user.county_id and lead["owner_id"] == c.user.id
    assert lead["contacts"][0]["mobile"] == "13800138000" and set(lead["contacts"][0]) >= {
        "id", "name", "title", "mobile", "phone", "email", "wechat", "is_primary"}
    got = c.get(f"/api/v1/leads/{lead['id']}").get_json()
    assert got["name"] == "恒信建设工程有限公司" and got["tags"] == ["建筑"]
    patched = c.patch(f"/api/v1/leads/{lead['id']}", json={"status": "interested", "is_key": True}).get_json()
    assert patched["status"] == "interested" and patched["is_key"] and patched["contacts"][0]["name"] == "张三"
    assert c.delete(f"/api/v1/leads/{lead['id']}").status_code == 204
    assert c.get(f"/api/v1/leads/{lead['id']}").status_code == 404


def test_list_leads_with_filters_and_paging(api_client):
    c = api_client("county_staff", "610902")
    c.post("/api/v1/leads", json=LEAD)
    c.post("/api/v1/leads", json={"name": "秦巴商会", "kind": "chamber"})
    body = c.get("/api/v1/leads?kind=chamber&per_page=1").get_json()
    assert body["total"] == 1 and body["items"][0]["name"] == "秦巴商会" and body["per_page"] == 1
    assert c.get(f"/api/v1/leads?county_id={c.user.county_id}").get_json()["total"] == 2
    assert c.get(f"/api/v1/leads?owner_id={c.user.id}&status=new").get_json()["total"] == 2
    assert c.get("/api/v1/leads?kind=spaceship").status_code == 422
    assert c.get("/api/v1/leads?per_page=500").status_code == 422


def test_duplicate_lead_is_409_with_candidates_and_force_opens_conflict(app, api_client):
    hanbin, ziyang = api_client("county_staff", "610902"), api_client("county_staff", "610924")
    first = hanbin.post("/api/v1/leads", json=LEAD).get_json()
    response = ziyang.post("/api/v1/leads", json={"name": "恒信建设工程公司"})
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert response.get_json()["duplicates"] == [{"id": first["id"], "name": "恒信建设工程有限公司",
                                                  "owner_county_id": hanbin.user.county_id, "reason": "name"}]
    assert ziyang.post("/api/v1/leads", json={"name": "恒信建设工程公司", "force": True}).status_code == 201
    with app.app_context():
        assert db.session.scalar(select(ClaimConflict)).lead_id == first["id"]


def test_exact_uscc_duplicate_is_409_even_with_force(api_client):
    c = api_client("county_staff", "610902")
    code = valid_uscc()
    c.post("/api/v1/leads", json=dict(LEAD, uscc=code))
    response = c.post("/api/v1/leads", json={"name": "别的名字", "uscc": code, "force": True})
    assert response.status_code == 409 and response.get_json()["duplicates"][0]["reason"] == "uscc"


def test_other_county_gets_masked_contacts_and_cannot_edit(api_client):
    hanbin, ziyang = api_client("county_staff", "610902"), api_client("county_staff", "610924")
    lead = hanbin.post("/api/v1/leads", json=LEAD).get_json()
    seen = ziyang.get(f"/api/v1/leads/{lead['id']}").get_json()
    assert seen["contacts"][0]["mobile"] == "138****8000" and seen["contacts_masked"] is True
    assert ziyang.get("/api/v1/leads").get_json()["items"][0]["contacts"][0]["mobile"] == "138****8000"
    assert ziyang.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "x"}).status_code == 403
    assert ziyang.delete(f"/api/v1/leads/{lead['id']}").status_code == 403
    assert ziyang.post(f"/api/v1/leads/{lead['id']}/reveal").get_json()[0]["mobile"] == "13800138000"
    city = api_client("city_staff", None)
    assert city.get(f"/api/v1/leads/{lead['id']}").get_json()["contacts"][0]["mobile"] == "13800138000"


def test_viewer_reads_but_cannot_create(api_client):
    viewer = api_client("viewer", None)
    assert viewer.get("/api/v1/leads").status_code == 200
    assert viewer.post("/api/v1/leads", json=LEAD).status_code == 403


def test_lead_validation_problems_are_422_with_fields(api_client):
    c = api_client("county_staff")
    response = c.post("/api/v1/leads", json={"name": "x" * 300, "uscc": "123", "notes": "a\x00b",
                                             "contacts": [{"name": "", "email": "bad"}]})
    assert response.status_code == 422
    assert {"name", "uscc", "notes", "contacts.0.name", "contacts.0.email"} <= set(response.get_json()["errors"])
    assert c.post("/api/v1/leads", json={"kind": "enterprise"}).status_code == 422
    assert c.post("/api/v1/leads", json={"name": "a", "industry_id": "abc"}).status_code == 422
    assert c.post("/api/v1/leads", data="not json", content_type="application/json").status_code in (400, 422)


def test_no_token_is_401(client):
    assert client.get("/api/v1/leads").status_code == 401


def test_log_interaction_with_inline_followup(app, api_client):
    c = api_client("county_staff", "610902")
    lead = c.post("/api/v1/leads", json=LEAD).get_json()
    response = c.post(f"/api/v1/leads/{lead['id']}/interactions", json={
        "kind": "reception", "occurred_at": "2026-01-15T09:30:00+08:00", "summary": "来访接待", "visitor_count": 5,
        "leader_level": "city", "leader_name": "李市长", "participant_ids": [c.user.id],
        "followup": {"title": "寄送资料", "due_at": "2030-01-20T10:00:00+08:00", "assignee_id": c.user.id}})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["lead_id"] == lead["id"] and body["visitor_count"] == 5 and body["participant_ids"] == [c.user.id]
    assert body["followup"]["title"] == "寄送资料" and body["occurred_at"].startswith("2026-01-15T01:30")
    listed = c.get(f"/api/v1/leads/{lead['id']}/interactions").get_json()
    assert listed["total"] == 1 and listed["items"][0]["kind"] == "reception"
    assert c.get(f"/api/v1/leads/{lead['id']}").get_json()["status"] == "engaged"


def test_log_interaction_with_invalid_followup_saves_nothing(app, api_client):
    c = api_client("county_staff", "610902")
    lead = c.post("/api/v1/leads", json=LEAD).get_json()
    response = c.post(f"/api/v1/leads/{lead['id']}/interactions", json={
        "kind": "visit", "summary": "拜访", "followup": {"title": "", "due_at": "2030-01-20T10:00:00+08:00"}})
    assert response.status_code == 422 and "followup_title" in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0
        assert db.session.scalar(select(func.count()).select_from(Followup)) == 0


def test_log_interaction_by_viewer_is_403_and_unknown_lead_404(api_client):
    c = api_client("county_staff", "610902")
    lead = c.post("/api/v1/leads", json=LEAD).get_json()
    viewer = api_client("viewer", None)
    assert viewer.post(f"/api/v1/leads/{lead['id']}/interactions", json={"kind": "visit", "summary": "x"}
                       ).status_code == 403
    assert c.post("/api/v1/leads/99999/interactions", json={"kind": "visit", "summary": "x"}).status_code == 404
    assert c.post(f"/api/v1/leads/{lead['id']}/interactions", json={"kind": "party", "summary": "x"}
                  ).status_code == 422


def test_trips_create_and_list(api_client):
    c = api_client("county_staff", "610902")
    response = c.post("/api/v1/trips", json={"title": "京津冀招商考察", "leader_name": "市长", "leader_level": "city",
                                             "starts_on": "2027-03-15", "ends_on": "2027-03-19",
                                             "cities": "北京、廊坊、雄安", "participant_ids": [c.user.id]})
    assert response.status_code == 201
    trip = response.get_json()
    assert trip["participant_ids"] == [c.user.id] and trip["cities"] == "北京、廊坊、雄安"
    assert c.get("/api/v1/trips").get_json()["items"][0]["id"] == trip["id"]
    bad = c.post("/api/v1/trips", json={"title": "x", "starts_on": "2027-03-19", "ends_on": "2027-03-01"})
    assert bad.status_code == 422 and "ends_on" in bad.get_json()["errors"]


def test_industries_list_with_synonyms(api_client):
    body = api_client("viewer", None).get("/api/v1/industries").get_json()
    assert {"id", "code", "name", "parent_id", "synonyms"} <= set(body[0])
    assert any(i["parent_id"] for i in body) and any(i["synonyms"] for i in body)


def test_duplicate_on_another_countys_mobile_only_is_409_without_lead_id_or_name(api_client):
    hanbin, ziyang = api_client("county_staff", "610902"), api_client("county_staff", "610924")
    hanbin.post("/api/v1/leads", json=LEAD)
    probe = {"name": "秦岭矿泉水公司", "contacts": [{"name": "李四", "mobile": "13800138000"}]}
    response = ziyang.post("/api/v1/leads", json=probe)
    assert response.status_code == 409
    assert response.get_json()["duplicates"] == [{"id": None, "name": None,
                                                  "owner_county_id": hanbin.user.county_id, "reason": "contact"}]
    same = api_client("county_staff", "610902").post("/api/v1/leads", json=probe)
    assert same.get_json()["duplicates"][0]["reason"] == "mobile" and same.get_json()["duplicates"][0]["id"]


def test_duplicate_answer_on_a_known_name_is_the_same_whether_or_not_the_mobile_matches(api_client):
    """Name + candidate mobile must not be an oracle: the answer names the lead by its name only."""
    hanbin, ziyang = api_client("county_staff", "610902"), api_client("county_staff", "610924")
    hanbin.post("/api/v1/leads", json=LEAD)
    answers = []
    for mobile in ("13800138000", "13912345678"):
        probe = {"name": LEAD["name"], "contacts": [{"name": "李四", "mobile": mobile}]}
        answers.append(ziyang.post("/api/v1/leads", json=probe).get_json()["duplicates"])
    assert answers[0] == answers[1] and answers[0][0]["reason"] == "name"


def test_duplicate_probes_on_masked_mobiles_are_audited_and_limited(app, api_client):
    from crm.extensions import db
    from crm.models import AuditEntry

    app.config["DUPLICATE_PROBE_LIMIT"] = 2
    hanbin, ziyang = api_client("county_staff", "610902"), api_client("county_staff", "610924")
    lead_id = hanbin.post("/api/v1/leads", json=LEAD).get_json()["id"]
    probe = {"name": "秦岭矿泉水公司", "contacts": [{"name": "李四", "mobile": "13800138000"}]}
    assert [ziyang.post("/api/v1/leads", json=probe).status_code for _ in range(3)] == [409, 409, 429]
    limited = ziyang.post("/api/v1/leads", json=probe)
    assert limited.status_code == 429 and "duplicates" not in limited.get_json()
    with app.app_context():
        probes = db.session.query(AuditEntry).filter_by(action="reveal.probe", actor_id=ziyang.user.id).all()
        assert [p.object_id for p in probes] == [lead_id, lead_id]
    # a probe that names nothing masked (own county) is neither counted nor limited
    assert api_client("county_staff", "610902").post("/api/v1/leads", json=probe).status_code == 409


def test_deleted_lead_is_listed_and_restored_by_its_county(app, api_client):
    from datetime import UTC, datetime, timedelta

    from crm.models import Lead

    c, ziyang = api_client("county_staff", "610902"), api_client("county_staff", "610924")
    lead = c.post("/api/v1/leads", json=LEAD).get_json()
    followup = c.post("/api/v1/followups", json={"lead_id": lead["id"], "title": "回访", "due_at": "2027-01-01T09:00",
                                                 "assignee_id": c.user.id}).get_json()
    assert c.delete(f"/api/v1/leads/{lead['id']}").status_code == 204
    assert c.get(f"/api/v1/followups/{followup['id']}").get_json()["status"] == "cancelled"
    listed = c.get("/api/v1/leads/deleted").get_json()
    assert [x["id"] for x in listed["items"]] == [lead["id"]] and listed["items"][0]["restorable_until"]
    assert ziyang.get("/api/v1/leads/deleted").get_json()["total"] == 0
    assert ziyang.post(f"/api/v1/leads/{lead['id']}/restore").status_code == 403
    restored = c.post(f"/api/v1/leads/{lead['id']}/restore")
    assert restored.status_code == 200 and restored.get_json()["name"] == LEAD["name"]
    assert c.get(f"/api/v1/followups/{followup['id']}").get_json()["status"] == "open"
    assert c.post(f"/api/v1/leads/{lead['id']}/restore").status_code == 404  # not deleted any more
    c.delete(f"/api/v1/leads/{lead['id']}")
    with app.app_context():
        db.session.get(Lead, lead["id"]).deleted_at = datetime.now(UTC) - timedelta(days=31)
        db.session.commit()
    late = c.post(f"/api/v1/leads/{lead['id']}/restore")
    assert late.status_code == 409 and "30" in late.get_json()["detail"]
