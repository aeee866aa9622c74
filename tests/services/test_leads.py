"""Lead rules: permissions matrix, validation, derived keys, duplicates, masking and reveal, delete/restore."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, ClaimConflict, Lead, Role, User
from crm.services import identity, interactions, leads, trips  # noqa: F401 (registers their rules)
from crm.services.duplicates import DuplicateLead
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can
from tests.conftest import county_id

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
COVERED_ACTIONS = {"lead.view", "lead.create", "lead.edit", "lead.delete", "lead.restore", "lead.view_deleted",
                   "lead.merge",
                   "lead.reveal_contacts", "conflict.decide", "interaction.log", "trip.create"}
ROLES = [r.value for r in Role]
READERS = [r for r in ROLES if r != "department"]  # a department contact sees only its problems (issue 15)


def valid_uscc(body: str = "91610900MA6Y1234") -> str:
    """Complete a 17-character body with its check character (GB 32100-2015)."""
    body = (body + "00000000000000000")[:17]
    return next(body + c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if identity.uscc_is_valid(body + c))


def cid(code: str) -> int:
    """A county's id inside an open app context (county_id(app, …) opens a second one)."""
    from crm.services.counties import county_by_code

    return county_by_code(code).id


def user(ref) -> User:
    return db.session.get(User, ref.id)


def actor(role: str, county: int | None = None, uid: int = 1) -> User:
    return User(id=uid, username=role, display_name=role, role=role, county_id=county, is_active_user=True,
                password_hash="!")


# --- the permission matrix (role × own/other county lead × action) ---------------------------------------

MATRIX = {  # action: (roles allowed on an own-county lead, roles allowed on another county's lead)
    "lead.view": (set(READERS), set(READERS)),
    "lead.create": ({"admin", "city_staff", "county_staff"},) * 2,
    "lead.edit": ({"admin", "city_staff", "county_staff"}, {"admin", "city_staff"}),
    "lead.delete": ({"admin", "city_staff", "county_staff"}, {"admin", "city_staff"}),
    "lead.restore": ({"admin", "city_staff", "county_staff"}, {"admin", "city_staff"}),  # + the time limit
    "lead.view_deleted": ({"admin", "city_staff", "county_staff"},) * 2,
    "lead.merge": ({"admin", "city_staff"},) * 2,
    "lead.reveal_contacts": (set(READERS), set(READERS)),
    "conflict.decide": ({"admin", "city_staff"},) * 2,
    "interaction.log": ({"admin", "city_staff", "county_staff"},) * 2,
    "trip.create": ({"admin", "city_staff", "county_staff"},) * 2,
}


@pytest.mark.parametrize("action", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("own", [True, False])
def test_role_action_matrix_on_own_and_other_county_lead(role, action, own):
    lead = Lead(id=5, name="x", owner_county_id=1 if own else 2)
    expected = role in MATRIX[action][0 if own else 1]
    assert can(actor(role, 1), action, lead) is expected


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_inactive_user_can_do_nothing_with_leads(action):
    inactive = actor("admin")
    inactive.is_active_user = False
    assert can(inactive, action, Lead(id=1, name="x", owner_county_id=1)) is False


def test_contacts_masked_only_for_other_county_non_city_users():
    lead = Lead(name="x", owner_county_id=1)
    assert not leads.contacts_masked(actor("county_staff", 1), lead)
    assert leads.contacts_masked(actor("county_staff", 2), lead)
    assert leads.contacts_masked(actor("viewer", None), lead)
    assert not leads.contacts_masked(actor("city_staff", 9), lead)
    assert not leads.contacts_masked(actor("admin"), lead)


# --- create / validate -----------------------------------------------------------------------------------

def test_create_lead_by_county_staff_owns_it_and_derives_keys(app, make_user):
    staff = make_user("county_staff", "610924")
    with app.test_request_context():
        lead = leads.create_lead(user(staff), {
            "name": "陕西省安康市富硒茶业有限公司", "kind": "enterprise", "owner_county_id": cid("610902"),
            "tags": "茶, 富硒", "contacts": [{"name": "张三", "mobile": "+86 138-0013-8000"}]}, now=NOW)
        assert lead.owner_county_id == staff.county_id and lead.owner_id == staff.id
        assert lead.name_key == identity.normalise_company_name("陕西省安康市富硒茶业有限公司")
        assert lead.pinyin_initials.startswith("sxsaksfx") and sorted(lead.tags) == sorted(["茶", "富硒"])
        assert lead.contacts[0].mobile_key == "13800138000" and lead.contacts[0].is_primary
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "lead")).action == "create"


def test_create_person_lead_uses_surname_reading_for_pinyin(app, make_user):
    staff = make_user("county_staff")
    with app.test_request_context():
        lead = leads.create_lead(user(staff), {"name": "单田芳", "kind": "hometown_entrepreneur"}, now=NOW)
        assert lead.pinyin_full == "shantianfang" and lead.pinyin_initials == "stf"


def test_create_lead_with_bad_uscc_is_refused(app, make_user):
    staff = make_user("county_staff")
    good = valid_uscc()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with app.test_request_context():
        with pytest.raises(InvalidInput) as exc:
            leads.create_lead(user(staff), {"name": "甲公司", "uscc": bad}, now=NOW)
        assert "uscc" in exc.value.errors
        lead = leads.create_lead(user(staff), {"name": "甲公司", "uscc": " " + good.lower() + " "}, now=NOW)
        assert lead.uscc == good


@pytest.mark.parametrize("field,value", [("name", "x" * 201), ("name", "a\x00b"), ("notes", "n" * 5001),
                                         ("origin_region", "r" * 101), ("kind", "spaceship"), ("tags", ["t" * 41])])
def test_create_lead_with_bad_field_is_refused_cleanly(app, make_user, field, value):
    staff = make_user("county_staff")
    with app.test_request_context():
        with pytest.raises(InvalidInput) as exc:
            leads.create_lead(user(staff), {"name": "乙公司", field: value}, now=NOW)
        assert field in exc.value.errors
        assert db.session.scalar(select(Lead.id)) is None


def test_create_lead_with_bad_contact_reports_the_row(app, make_user):
    staff = make_user("county_staff")
    with app.test_request_context():
        with pytest.raises(InvalidInput) as exc:
            leads.create_lead(user(staff), {"name": "丙公司", "contacts": [
                {"name": "甲"}, {"name": "", "email": "nope", "mobile": "call me"}]}, now=NOW)
        assert set(exc.value.errors) == {"contacts.1.name", "contacts.1.email", "contacts.1.mobile"}


def test_create_lead_by_viewer_is_forbidden(app, make_user):
    viewer = make_user("viewer", None)
    with app.test_request_context(), pytest.raises(PermissionDenied):
        leads.create_lead(user(viewer), {"name": "丁公司"}, now=NOW)


def test_create_lead_by_city_staff_may_give_any_county(app, make_user):
    city = make_user("city_staff", None)
    ziyang = county_id(app, "610924")
    with app.test_request_context():
        lead = leads.create_lead(user(city), {"name": "戊公司", "owner_county_id": ziyang}, now=NOW)
        assert lead.owner_county_id == ziyang


def test_owner_from_another_county_is_refused(app, make_user):
    staff, other = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    with app.test_request_context(), pytest.raises(InvalidInput) as exc:
        leads.create_lead(user(staff), {"name": "己公司", "owner_id": other.id}, now=NOW)
    assert "owner_id" in exc.value.errors


# --- edit rights -----------------------------------------------------------------------------------------

def _lead(app, ref, name="恒信建设工程有限公司", **data) -> int:
    with app.test_request_context():
        return leads.create_lead(user(ref), {"name": name, **data}, now=NOW).id


def test_edit_lead_of_other_county_by_county_staff_is_forbidden(app, make_user):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    lead_id = _lead(app, hanbin)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            leads.update_lead(user(ziyang), lead_id, {"notes": "mine now"}, now=NOW)
        with pytest.raises(PermissionDenied):
            leads.delete_lead(user(ziyang), lead_id, now=NOW)


def test_edit_lead_by_owning_county_records_changes(app, make_user):
    hanbin = make_user("county_staff", "610902")
    lead_id = _lead(app, hanbin, contacts=[{"name": "张三", "mobile": "13800138000"}])
    with app.test_request_context():
        lead = leads.get_lead(user(hanbin), lead_id)
        contact_id = lead.contacts[0].id
        leads.update_lead(user(hanbin), lead_id, {"status": "interested", "contacts": [
            {"id": contact_id, "name": "张三", "mobile": "13900139000"}, {"name": "李四"}]}, now=NOW)
        lead = db.session.get(Lead, lead_id)
        assert lead.status == "interested" and [c.name for c in lead.contacts] == ["张三", "李四"]
        assert lead.contacts[0].id == contact_id and lead.contacts[0].mobile_key == "13900139000"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
        assert entry.before == {"status": "new"} and entry.after["status"] == "interested"


def test_edit_lead_by_county_staff_cannot_move_it_to_another_county(app, make_user):
    hanbin = make_user("county_staff", "610902")
    lead_id = _lead(app, hanbin)
    with app.test_request_context(), pytest.raises(InvalidInput) as exc:
        leads.update_lead(user(hanbin), lead_id, {"owner_county_id": cid("610924")}, now=NOW)
    assert "owner_county_id" in exc.value.errors


def test_city_hands_lead_to_another_county_and_owner_is_cleared(app, make_user):
    hanbin, city = make_user("county_staff", "610902"), make_user("city_staff", None)
    lead_id = _lead(app, hanbin)
    with app.test_request_context():
        lead = leads.update_lead(user(city), lead_id, {"owner_county_id": cid("610924")}, now=NOW)
        assert lead.owner_county_id == cid("610924") and lead.owner_id is None


# --- soft delete and restore -------------------------------------------------------------------------------

def test_delete_lead_hides_it_and_its_county_restores_it(app, make_user):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    lead_id = _lead(app, hanbin)
    with app.test_request_context():
        leads.delete_lead(user(hanbin), lead_id, now=NOW)
        with pytest.raises(NotFound):
            leads.get_lead(user(hanbin), lead_id)
        assert db.session.scalars(leads.leads_query()).all() == []
        assert [x.id for x in db.session.scalars(leads.leads_query(deleted=True))] == [lead_id]
        with pytest.raises(PermissionDenied):
            leads.restore_lead(user(ziyang), lead_id, now=NOW)
        leads.restore_lead(user(hanbin), lead_id, now=NOW)
        assert leads.get_lead(user(hanbin), lead_id).deleted_at is None


# --- duplicates -----------------------------------------------------------------------------------------------

def test_create_lead_with_existing_uscc_is_refused_even_when_forced(app, make_user):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    code = valid_uscc()
    first = _lead(app, hanbin, uscc=code)
    with app.test_request_context(), pytest.raises(DuplicateLead) as exc:
        leads.create_lead(user(ziyang), {"name": "完全不同的名字", "uscc": code}, now=NOW, force=True)
    assert exc.value.exact and exc.value.duplicates[0]["id"] == first
    assert exc.value.duplicates[0]["reason"] == "uscc" and isinstance(exc.value, Conflict)


@pytest.mark.parametrize("name,contacts,reason", [
    ("陕西恒信建设工程股份有限公司", [], "name"),          # same normalised name
    ("恒信建设工程（中国）集团", [], "name"),
    ("恒信建设工程二公司", [], "similar_name"),            # similar
    ("全然无关", [{"name": "王五", "mobile": "138 0013 8000"}], "mobile"),
])
def test_create_lead_like_an_existing_one_warns_with_candidates(app, make_user, name, contacts, reason):
    hanbin = make_user("county_staff", "610902")
    first = _lead(app, hanbin, contacts=[{"name": "张三", "mobile": "+8613800138000"}])
    with app.test_request_context(), pytest.raises(DuplicateLead) as exc:
        leads.create_lead(user(hanbin), {"name": name, "contacts": contacts}, now=NOW)
    assert not exc.value.exact
    assert exc.value.duplicates == [{"id": first, "name": "恒信建设工程有限公司",
                                     "owner_county_id": county_id(app, "610902"), "reason": reason}]


def test_create_lead_with_different_name_is_not_a_duplicate(app, make_user):
    hanbin = make_user("county_staff", "610902")
    _lead(app, hanbin)
    with app.test_request_context():
        assert leads.create_lead(user(hanbin), {"name": "安信药业有限公司"}, now=NOW).id


def test_forced_duplicate_of_own_county_lead_opens_no_conflict(app, make_user):
    hanbin = make_user("county_staff", "610902")
    _lead(app, hanbin)
    with app.test_request_context():
        leads.create_lead(user(hanbin), {"name": "恒信建设工程公司"}, now=NOW, force=True)
        assert db.session.scalar(select(ClaimConflict)) is None


def test_forced_duplicate_of_other_county_lead_opens_claim_conflict(app, make_user):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    first = _lead(app, hanbin)
    with app.test_request_context():
        second = leads.create_lead(user(ziyang), {"name": "恒信建设工程公司"}, now=NOW + timedelta(hours=1),
                                   force=True)
        conflict = db.session.scalar(select(ClaimConflict))
        assert (conflict.lead_id, conflict.claimant_lead_id) == (first, second.id)
        assert conflict.claimant_county_id == ziyang.county_id and conflict.status == "open"
        assert conflict.claimant_user_id == ziyang.id and conflict.reason == "name"


def test_edit_lead_into_a_duplicate_warns(app, make_user):
    hanbin = make_user("county_staff", "610902")
    _lead(app, hanbin)
    other = _lead(app, hanbin, name="秦巴药业")
    with app.test_request_context():
        with pytest.raises(DuplicateLead):
            leads.update_lead(user(hanbin), other, {"name": "恒信建设工程"}, now=NOW)
        assert db.session.get(Lead, other).name == "秦巴药业"
        assert leads.update_lead(user(hanbin), other, {"name": "恒信建设工程"}, now=NOW, force=True).name == "恒信建设工程"


# --- masking and reveal ----------------------------------------------------------------------------------------

def test_other_county_sees_masked_contacts_until_reveal_which_is_audited(app, make_user):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    lead_id = _lead(app, hanbin, contacts=[{"name": "张三", "mobile": "13800138000", "email": "zhang@example.com",
                                            "wechat": "zhangsan88", "phone": "0915-3261234"}])
    with app.test_request_context():
        lead = leads.get_lead(user(ziyang), lead_id)
        shown = leads.lead_values(user(ziyang), lead)["contacts"][0]
        assert shown["mobile"] == "138****8000" and "zhang@" not in shown["email"]
        assert "3261234" not in shown["phone"] and shown["wechat"] != "zhangsan88"
        own = leads.lead_values(user(hanbin), lead)["contacts"][0]
        assert own["mobile"] == "13800138000"
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reveal")) is None
        revealed = leads.reveal_contacts(user(ziyang), lead_id, now=NOW)
        assert revealed[0]["mobile"] == "13800138000" and revealed[0]["wechat"] == "zhangsan88"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reveal"))
        assert (entry.actor_id, entry.object_type, entry.object_id) == (ziyang.id, "lead", lead_id)


# --- lists ---------------------------------------------------------------------------------------------------

def test_leads_query_filters_by_industry_with_sub_industries_and_pinyin(app, make_user):
    from crm.models import Industry

    hanbin = make_user("county_staff", "610902")
    with app.test_request_context():
        parent = db.session.scalar(select(Industry).where(Industry.parent_id.is_(None)).order_by(Industry.id))
        child = db.session.scalar(select(Industry).where(Industry.parent_id == parent.id))
        other = db.session.scalar(select(Industry).where(Industry.parent_id.is_(None), Industry.id != parent.id))
        a = leads.create_lead(user(hanbin), {"name": "富硒食品公司", "industry_id": child.id, "is_key": True}, now=NOW).id
        b = leads.create_lead(user(hanbin), {"name": "秦巴医药", "industry_id": other.id}, now=NOW).id

        def ids(**kw):
            return {x.id for x in db.session.scalars(leads.leads_query(now=NOW, **kw))}

        assert ids(industry_id=parent.id) == {a} and ids(industry_id=other.id) == {b}
        assert ids(q="fxsp") == {a} and ids(q="qinba") == {b} and ids(q="医药") == {b} and ids(q="%") == set()
        assert ids(is_key=True) == {a} and ids(county_id=cid("610924")) == set()
        assert ids(silent_days=30) == {a, b}
        assert [x.id for x in leads.lookup("fx")] == [a]
