"""Lead pages: list filters, detail with masked contacts and reveal, create/edit with duplicates, delete/restore,
conflict queue and merge, escaping and oversized input."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, ClaimConflict, Followup, Lead, User
from crm.services import leads

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
XSS = '<script>alert("x")</script>'


def make_lead(app, ref, name="恒信建设工程有限公司", **data) -> int:
    with app.test_request_context():
        return leads.create_lead(db.session.get(User, ref.id), {"name": name, **data}, now=NOW).id


def form(name="秦巴生物药业有限公司", **extra) -> dict:
    data = {"name": name, "kind": "enterprise", "status": "new", "industry_id": 0, "owner_county_id": 0,
            "owner_id": 0, "home_county_id": 0, "source_channel": "", "referrer_id": 0, "tags": "医药, 重点",
            "contacts-0-name": "王经理", "contacts-0-mobile": "13912345678", "contacts-0-is_primary": "y"}
    data.update(extra)
    return data


def test_create_lead_by_county_staff_saves_and_shows_it(app, login_as):
    c = login_as("county_staff", "610924")
    response = c.post("/leads/new", data=form(owner_county_id=c.user.county_id, owner_id=c.user.id))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "秦巴生物药业有限公司" in page and "13912345678" in page and "医药" in page
    with app.app_context():
        lead = db.session.scalar(select(Lead))
        assert lead.owner_county_id == c.user.county_id and lead.contacts[0].name == "王经理"


def test_create_lead_with_xss_name_renders_escaped(app, login_as):
    c = login_as("county_staff")
    response = c.post("/leads/new", data=form(name=XSS, notes=XSS), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert XSS not in page and "&lt;script&gt;" in page
    listing = c.get("/leads").get_data(as_text=True)
    assert XSS not in listing and "&lt;script&gt;" in listing


def test_create_lead_with_oversized_fields_is_refused_cleanly(app, login_as):
    c = login_as("county_staff")
    response = c.post("/leads/new", data=form(name="x" * 5000, **{"contacts-0-wechat": "w" * 500}))
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Lead)) is None


def test_create_lead_with_bad_uscc_and_contact_shows_errors_on_fields(app, login_as):
    c = login_as("county_staff")
    response = c.post("/leads/new", data=form(uscc="91610900MA6Y12345X", **{"contacts-0-email": "nope"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and page.count("invalid-feedback") >= 2


def test_create_duplicate_lead_warns_then_force_opens_conflict(app, login_as, make_user):
    hanbin = make_user("county_staff", "610902")
    make_lead(app, hanbin)
    c = login_as("county_staff", "610924")
    response = c.post("/leads/new", data=form(name="恒信建设工程公司"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "恒信建设工程有限公司" in page and 'name="force"' in page
    response = c.post("/leads/new", data=form(name="恒信建设工程公司", force="y"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(ClaimConflict)).status == "open"


def test_list_filters_and_search(app, login_as, make_user):
    hanbin = make_user("county_staff", "610902")
    make_lead(app, hanbin, name="富硒茶业", is_key=True)
    make_lead(app, hanbin, name="秦巴医药", kind="chamber")
    c = login_as("viewer", None)
    assert "富硒茶业" in c.get("/leads?q=fx").get_data(as_text=True)
    assert "秦巴医药" not in c.get("/leads?q=fx").get_data(as_text=True)
    page = c.get("/leads?kind=chamber&sort=name").get_data(as_text=True)
    assert "秦巴医药" in page and "富硒茶业" not in page
    assert "秦巴医药" not in c.get("/leads?is_key=1").get_data(as_text=True)
    assert c.get("/leads?industry_id=abc&silent_days=-5&q=%25%27&page=999").status_code == 200


def test_detail_of_other_county_masks_contacts_and_reveal_is_audited(app, login_as, make_user):
    hanbin = make_user("county_staff", "610902")
    lead_id = make_lead(app, hanbin, contacts=[{"name": "张三", "mobile": "13800138000"}])
    c = login_as("county_staff", "610924")
    page = c.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert "138****8000" in page and "13800138000" not in page and "hx-post" in page
    assert "/edit" not in page
    fragment = c.post(f"/leads/{lead_id}/reveal", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "13800138000" in fragment
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reveal"))
        assert entry.actor_id == c.user.id and entry.object_id == lead_id


def test_edit_lead_of_other_county_is_forbidden(app, login_as, make_user):
    hanbin = make_user("county_staff", "610902")
    lead_id = make_lead(app, hanbin)
    c = login_as("county_staff", "610924")
    assert c.get(f"/leads/{lead_id}/edit").status_code == 403
    assert c.post(f"/leads/{lead_id}/delete").status_code == 403


def test_edit_lead_keeps_contacts_and_changes_status(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user, contacts=[{"name": "张三", "mobile": "13800138000"}])
    page = c.get(f"/leads/{lead_id}/edit").get_data(as_text=True)
    assert "张三" in page
    with app.app_context():
        contact_id = db.session.get(Lead, lead_id).contacts[0].id
    response = c.post(f"/leads/{lead_id}/edit", data=form(name="恒信建设工程有限公司", status="interested",
                                                          **{"contacts-0-id": contact_id, "contacts-0-name": "张三",
                                                             "contacts-0-mobile": "13800138000"}))
    assert response.status_code == 302
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.status == "interested" and [c.id for c in lead.contacts] == [contact_id]


def test_delete_then_admin_restores_from_deleted_view(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    assert c.post(f"/leads/{lead_id}/delete").status_code == 302
    assert c.get("/leads/deleted").status_code == 200
    viewer = login_as("viewer", None)
    assert viewer.get(f"/leads/{lead_id}").status_code == 404 and viewer.get("/leads/deleted").status_code == 403
    admin = login_as("admin", None)
    assert "恒信建设工程有限公司" in admin.get("/leads/deleted").get_data(as_text=True)
    assert "该客商已删除，可恢复至" in c.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert admin.post(f"/leads/{lead_id}/restore").status_code == 302
    assert "该客商已删除" not in c.get(f"/leads/{lead_id}").get_data(as_text=True)


def _followup_on(app, lead_id: int, assignee) -> int:
    from crm.services import followups

    with app.test_request_context():
        staff = db.session.get(User, assignee.id)
        return followups.create_followup(staff, {"lead_id": lead_id, "title": "回访", "due_at": NOW,
                                                 "assignee_id": staff.id}, now=NOW).id


def test_county_restores_its_deleted_lead_from_recently_deleted(app, login_as):
    c, ziyang = login_as("county_staff", "610902"), login_as("county_staff", "610924")
    lead_id = make_lead(app, c.user)
    followup_id = _followup_on(app, lead_id, c.user)
    deleted = c.post(f"/leads/{lead_id}/delete", follow_redirects=True).get_data(as_text=True)
    assert "最近删除" in deleted and "30" in deleted  # the flash says where and for how long
    page = c.get("/leads/deleted").get_data(as_text=True)
    assert "最近删除" in page and "恒信建设工程有限公司" in page and "恢复" in page and f"/leads/{lead_id}/restore" in page
    assert "恒信建设工程有限公司" not in ziyang.get("/leads/deleted").get_data(as_text=True)
    assert ziyang.get(f"/leads/{lead_id}").status_code == 404
    assert ziyang.post(f"/leads/{lead_id}/restore").status_code == 403
    detail = c.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert "恢复" in detail and f"/leads/{lead_id}/restore" in detail
    response = c.post(f"/leads/{lead_id}/restore")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead_id}")
    with app.app_context():
        assert db.session.get(Lead, lead_id).deleted_at is None
        assert db.session.get(Followup, followup_id).status == "open"


def test_restore_after_the_period_says_why_and_keeps_the_lead_deleted(app, login_as):
    from datetime import timedelta

    c = login_as("county_staff", "610902")
    lead_id = make_lead(app, c.user)
    c.post(f"/leads/{lead_id}/delete")
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        lead.deleted_at = datetime.now(UTC) - timedelta(days=31)
        db.session.commit()
    assert "恒信建设工程有限公司" not in c.get("/leads/deleted").get_data(as_text=True)
    page = c.post(f"/leads/{lead_id}/restore", follow_redirects=True).get_data(as_text=True)
    assert "30" in page and "管理员" in page  # only an administrator can restore it now
    with app.app_context():
        assert db.session.get(Lead, lead_id).deleted_at is not None


def test_followup_of_a_deleted_lead_names_it_without_a_dead_link(app, login_as):
    c, viewer = login_as("county_staff", "610902"), login_as("viewer", None)
    lead_id = make_lead(app, c.user)
    followup_id = _followup_on(app, lead_id, c.user)
    c.post(f"/leads/{lead_id}/delete")
    page = viewer.get(f"/followups/{followup_id}").get_data(as_text=True)
    assert "恒信建设工程有限公司" in page and f"/leads/{lead_id}" not in page
    assert "已取消" in page


def test_lookup_matches_name_pinyin_and_initials(app, login_as):
    c = login_as("county_staff")
    make_lead(app, c.user, name="富硒茶业")
    for q in ("富硒", "fuxi", "fxcy"):
        assert [r["name"] for r in c.get(f"/leads/lookup?q={q}").get_json()] == ["富硒茶业"]
    assert c.get("/leads/lookup?q=").get_json() == []


def test_conflict_queue_for_city_staff_and_merge_decision(app, login_as, make_user):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    first = make_lead(app, hanbin)
    with app.test_request_context():
        leads.create_lead(db.session.get(User, ziyang.id), {"name": "恒信建设工程公司"}, now=NOW, force=True)
        conflict_id = db.session.scalar(select(ClaimConflict.id))
    assert login_as("county_staff").get("/conflicts").status_code == 403
    city = login_as("city_staff", None)
    assert "恒信建设工程公司" in city.get("/conflicts").get_data(as_text=True)
    assert city.post(f"/conflicts/{conflict_id}/decide", data={"decision": "merge"}).status_code == 302
    with app.app_context():
        assert db.session.get(ClaimConflict, conflict_id).status == "merged"
    assert "恒信建设工程公司" not in city.get("/conflicts").get_data(as_text=True)
    assert city.get(f"/leads/{first}").status_code == 200


def test_merge_from_detail_by_city_staff(app, login_as, make_user):
    hanbin = make_user("county_staff", "610902")
    keep = make_lead(app, hanbin)
    drop = make_lead(app, hanbin, name="另一家公司")
    city = login_as("city_staff", None)
    assert city.post(f"/conflicts/merge/{keep}", data={"drop_id": drop}).status_code == 302
    with app.app_context():
        assert db.session.get(Lead, drop).merged_into_id == keep
    assert login_as("county_staff").post(f"/conflicts/merge/{keep}", data={"drop_id": drop}).status_code == 403


def test_create_lead_matching_only_another_countys_mobile_warns_without_naming_the_lead(app, login_as, make_user):
    hanbin = make_user("county_staff", "610902")
    lead_id = make_lead(app, hanbin, contacts=[{"name": "张三", "mobile": "13912345678"}])
    c = login_as("county_staff", "610924")
    page = c.post("/leads/new", data=form()).get_data(as_text=True)
    assert 'name="force"' in page and "恒信建设工程有限公司" not in page and f"/leads/{lead_id}" not in page
    assert "可能与此重复" in page or "may match" in page
    assert c.post("/leads/new", data=form(force="y")).status_code == 302
    with app.app_context():
        conflict = db.session.scalar(select(ClaimConflict))
        assert lead_id in (conflict.lead_id, conflict.claimant_lead_id) and conflict.status == "open"
