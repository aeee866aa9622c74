"""Saved searches (private, county, city-wide) and bulk actions on a selection of leads: every lead judged by the
one-at-a-time rules, the refused reported with a reason, one transaction, audited; outreach lists from a saved
search, run as its maker sees the leads."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, Event, Lead, LeadTag, OutreachItem, SavedSearch, User, event_leads
from crm.services import bulk, indexing, outreach, saved_searches
from crm.services.counties import county_by_code
from crm.services.errors import InvalidInput, NotFound, PermissionDenied

NOW = datetime(2027, 1, 20, 2, 0, tzinfo=UTC)  # 春节 2027 is 02-06: its list may still change
COVERED_ACTIONS = {"saved_search.create", "saved_search.view", "saved_search.delete"}


def add_lead(app, name, county="610902", kind="hometown_entrepreneur", tags=(), owner_id=None) -> int:
    with app.app_context():
        lead = Lead(name=name, kind=kind, owner_county_id=county_by_code(county).id, owner_id=owner_id,
                    created_at=NOW, updated_at=NOW, tag_rows=[LeadTag(tag=t) for t in tags])
        db.session.add(lead)
        db.session.commit()
        indexing.leads_changed([lead.id])
        return lead.id


def actor(user_id: int) -> User:
    return db.session.get(User, user_id)


@pytest.fixture
def two_counties(app):
    """Two 乡贤 of 汉滨区 and one of 紫阳县, all tagged 富硒."""
    return {"hanbin": [add_lead(app, "汉滨富硒乡贤甲", tags=["富硒"]), add_lead(app, "汉滨富硒乡贤乙", tags=["富硒"])],
            "ziyang": [add_lead(app, "紫阳富硒乡贤丙", county="610924", tags=["富硒"])]}


# --- saved searches ----------------------------------------------------------------------------------

def _who(role: str, county_id: int | None, uid: int) -> User:
    return User(id=uid, username=role, display_name=role, role=role, county_id=county_id, is_active_user=True,
                password_hash="!")


@pytest.mark.parametrize("role, county_id, scopes", [
    ("admin", None, {"private", "city"}), ("city_staff", None, {"private", "city"}),
    ("city_staff", 1, {"private", "county", "city"}), ("county_staff", 2, {"private", "county"}),
    ("viewer", None, {"private"}), ("viewer", 2, {"private"}),
])
def test_permission_matrix_of_saved_searches(role, county_id, scopes):
    from crm.services.permissions import can

    user = _who(role, county_id, 10)
    assert {s for s in ("private", "county", "city") if can(user, "saved_search.create", s)} == scopes
    own = SavedSearch(user_id=10, scope="private")
    theirs_private = SavedSearch(user_id=11, scope="private")
    theirs_county = SavedSearch(user_id=11, scope="county", county_id=2)
    theirs_city = SavedSearch(user_id=11, scope="city")
    assert can(user, "saved_search.view", own) and can(user, "saved_search.view", theirs_city)
    assert not can(user, "saved_search.view", theirs_private)
    assert can(user, "saved_search.view", theirs_county) is (county_id == 2)
    assert can(user, "saved_search.delete", own)
    assert can(user, "saved_search.delete", theirs_city) is (role == "admin")


def test_county_user_shares_with_own_county_only(app, make_user):
    hanbin, colleague = make_user("county_staff", "610902"), make_user("county_staff", "610902")
    other = make_user("county_staff", "610924")
    with app.app_context():
        saved = saved_searches.save_search(actor(hanbin.id), "富硒乡贤", {"q": "富硒", "kind": "hometown_entrepreneur"},
                                           "county", now=NOW)
        assert saved.county_id == hanbin.county_id
        assert [s.name for s in saved_searches.visible_searches(actor(colleague.id))] == ["富硒乡贤"]
        assert saved_searches.visible_searches(actor(other.id)) == []
        with pytest.raises(NotFound):
            saved_searches.get_search(actor(other.id), saved.id)
        with pytest.raises(PermissionDenied):
            saved_searches.save_search(actor(hanbin.id), "全市", {"q": "富硒"}, "city", now=NOW)
        with pytest.raises(PermissionDenied):  # the colleague sees it but may not delete it
            saved_searches.delete_search(actor(colleague.id), saved.id, now=NOW)


def test_city_staff_share_city_wide_and_private_stays_private(app, make_user):
    city, county, viewer = make_user("city_staff", None), make_user("county_staff", "610924"), make_user("viewer", None)
    with app.app_context():
        saved_searches.save_search(actor(city.id), "全市顾问", {"kind": "adviser"}, "city", now=NOW)
        saved_searches.save_search(actor(city.id), "我的", {"q": "茶"}, "private", now=NOW)
        assert [s.name for s in saved_searches.visible_searches(actor(county.id))] == ["全市顾问"]
        assert [s.name for s in saved_searches.visible_searches(actor(viewer.id))] == ["全市顾问"]
        assert [c for c, _label in saved_searches.scope_choices(actor(viewer.id))] == ["private"]


def test_save_search_refuses_bad_input_and_saves_nothing(app, make_user):
    user = make_user("county_staff", "610902")
    with app.app_context():
        for name, query, scope, field in [("", {"q": "茶"}, "private", "name"), ("x" * 81, {"q": "茶"}, "private", "name"),
                                          ("空", {}, "private", "q"), ("坏", {"industry_id": "abc"}, "private",
                                                                          "industry_id"),
                                          ("坏2", {"kind": "alien"}, "private", "kind"),
                                          ("坏3", {"q": "茶"}, "everyone", "scope"),
                                          ("坏4", {"q": "a\x00b"}, "private", "q")]:
            with pytest.raises(InvalidInput) as caught:
                saved_searches.save_search(actor(user.id), name, query, scope, now=NOW)
            assert field in caught.value.errors
        saved_searches.save_search(actor(user.id), "茶", {"q": "茶"}, now=NOW)
        with pytest.raises(InvalidInput):  # one name once per user
            saved_searches.save_search(actor(user.id), "茶", {"q": "茶叶"}, now=NOW)
        assert db.session.scalar(select(db.func.count(SavedSearch.id))) == 1
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "saved_search")).action == "create"


def test_result_lead_ids_finds_every_result_across_pages(app, make_user):
    ids = [add_lead(app, f"批量测试乡贤{n:03d}") for n in range(130)]
    user = make_user("viewer", None)
    with app.app_context():
        found, total = saved_searches.result_lead_ids(actor(user.id), {"q": "批量测试乡贤"})
        assert total == 130 and sorted(found) == sorted(ids)
        found, _total = saved_searches.result_lead_ids(actor(user.id), {"q": "批量测试乡贤"}, limit=50)
        assert len(found) == 50


# --- bulk actions ------------------------------------------------------------------------------------------

def test_bulk_owner_by_county_user_reports_other_countys_leads(app, make_user, two_counties):
    hanbin, colleague = make_user("county_staff", "610902"), make_user("county_staff", "610902")
    ids = two_counties["hanbin"] + two_counties["ziyang"]
    with app.app_context():
        outcome = bulk.assign_owner(actor(hanbin.id), ids, colleague.id, now=NOW)
        assert sorted(x["id"] for x in outcome["done"]) == sorted(two_counties["hanbin"])
        assert [r["id"] for r in outcome["refused"]] == two_counties["ziyang"]
        assert "紫阳县" in outcome["refused"][0]["reason"]
        owners = dict(db.session.execute(select(Lead.id, Lead.owner_id).where(Lead.id.in_(ids))).all())
        assert owners == {**{i: colleague.id for i in two_counties["hanbin"]}, two_counties["ziyang"][0]: None}
        updates = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update",
                                                              AuditEntry.object_type == "lead")).all()
        assert sorted(e.object_id for e in updates) == sorted(two_counties["hanbin"])
        summary = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "bulk.owner"))
        assert summary.after["refused"] == two_counties["ziyang"]


def test_bulk_owner_outside_the_leads_county_is_refused_per_lead(app, make_user, two_counties):
    city, ziyang_staff = make_user("city_staff", None), make_user("county_staff", "610924")
    ids = two_counties["hanbin"] + two_counties["ziyang"]
    with app.app_context():
        outcome = bulk.assign_owner(actor(city.id), ids, ziyang_staff.id, now=NOW)
        assert [x["id"] for x in outcome["done"]] == two_counties["ziyang"]
        assert sorted(r["id"] for r in outcome["refused"]) == sorted(two_counties["hanbin"])
        again = bulk.assign_owner(actor(city.id), two_counties["ziyang"], ziyang_staff.id, now=NOW)
        assert again["done"] == [] and [x["id"] for x in again["unchanged"]] == two_counties["ziyang"]


def test_bulk_tag_reports_deleted_leads_and_viewer_may_not(app, make_user, two_counties):
    city, viewer = make_user("city_staff", None), make_user("viewer", None)
    gone = add_lead(app, "已删除乡贤")
    with app.app_context():
        db.session.get(Lead, gone).deleted_at = NOW
        db.session.commit()
        outcome = bulk.add_tag(actor(city.id), [*two_counties["ziyang"], gone], "春节重点", now=NOW)
        assert [x["id"] for x in outcome["done"]] == two_counties["ziyang"]
        assert [r["id"] for r in outcome["refused"]] == [gone]
        assert "春节重点" in db.session.get(Lead, two_counties["ziyang"][0]).tags
        with pytest.raises(PermissionDenied):
            bulk.add_tag(actor(viewer.id), two_counties["ziyang"], "x", now=NOW)
        with pytest.raises(InvalidInput):
            bulk.add_tag(actor(city.id), two_counties["ziyang"], "", now=NOW)
        with pytest.raises(InvalidInput):
            bulk.add_tag(actor(city.id), ["abc"], "x", now=NOW)
        with pytest.raises(InvalidInput):
            bulk.add_tag(actor(city.id), [], "x", now=NOW)


def test_bulk_add_to_event_and_outreach_list(app, make_user, two_counties):
    city, hanbin = make_user("city_staff", None), make_user("county_staff", "610902")
    other = make_user("county_staff", "610924")
    ids = two_counties["hanbin"] + two_counties["ziyang"]
    enterprise = add_lead(app, "富硒企业", kind="enterprise")
    with app.app_context():
        event = Event(name="深圳推介会", held_on=date(2027, 1, 25), created_by_id=city.id,
                      county_id=county_by_code("610902").id)
        db.session.add(event)
        db.session.commit()
        outcome = bulk.add_to_event(actor(hanbin.id), ids, event.id, now=NOW)
        assert len(outcome["done"]) == 3
        assert bulk.add_to_event(actor(hanbin.id), ids[:1], event.id, now=NOW)["unchanged"][0]["id"] == ids[0]
        with pytest.raises(PermissionDenied):  # another county's event
            bulk.add_to_event(actor(other.id), ids, event.id, now=NOW)
        invited = set(db.session.scalars(select(event_leads.c.lead_id).where(event_leads.c.event_id == event.id)))
        assert invited == set(ids)

        campaign = outreach.create_campaign(actor(city.id), "spring_festival", 2027, {"kinds": ["adviser"]}, now=NOW)
        outcome = bulk.add_to_campaign(actor(city.id), [enterprise, *ids], campaign.id, now=NOW)
        assert len(outcome["done"]) == 4
        with pytest.raises(PermissionDenied):
            bulk.add_to_campaign(actor(hanbin.id), ids, campaign.id, now=NOW)
        # a refresh keeps the leads added by hand although they are no advisers
        assert outreach.refresh_campaign(actor(city.id), campaign.id, now=NOW)["removed"] == 0
        listed = set(db.session.scalars(select(OutreachItem.lead_id).where(OutreachItem.campaign_id == campaign.id)))
        assert listed == {enterprise, *ids}


def test_bulk_export_masks_other_countys_contacts(app, make_user):
    from crm.models import Contact

    hanbin = make_user("county_staff", "610902")
    own, other = add_lead(app, "本县乡贤"), add_lead(app, "外县乡贤", county="610924")
    with app.app_context():
        for lead_id in (own, other):
            db.session.add(Contact(lead_id=lead_id, name="联系人", mobile="13812345678"))
        db.session.commit()
        name, content, _mimetype = bulk.export_selection(actor(hanbin.id), [own, other], "xlsx", now=NOW)
        assert name.endswith(".xlsx")
        text = repr(list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)))
        assert "13812345678" in text and "138****5678" in text
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
        assert entry.after["lead_ids"] == [own, other]


def test_outreach_list_from_a_saved_search_follows_its_results(app, make_user, two_counties):
    city = make_user("city_staff", None)
    with app.app_context():
        saved = saved_searches.save_search(actor(city.id), "富硒", {"q": "富硒"}, "private", now=NOW)
        campaign = outreach.create_campaign(actor(city.id), "spring_festival", 2027, {"saved_search_id": saved.id},
                                            now=NOW)
        listed = set(db.session.scalars(select(OutreachItem.lead_id).where(OutreachItem.campaign_id == campaign.id)))
        assert listed == set(two_counties["hanbin"] + two_counties["ziyang"])
        campaign_id = campaign.id
    late = add_lead(app, "春节前新登记富硒乡贤")
    with app.app_context():
        assert outreach.refresh_campaign(None, campaign_id, now=NOW)["added"] == 1
        listed = set(db.session.scalars(select(OutreachItem.lead_id).where(OutreachItem.campaign_id == campaign_id)))
        assert late in listed


def test_outreach_list_refuses_a_saved_search_the_maker_cannot_see(app, make_user):
    city, hanbin = make_user("city_staff", None), make_user("county_staff", "610902")
    with app.app_context():
        saved = saved_searches.save_search(actor(hanbin.id), "私人", {"q": "茶"}, "private", now=NOW)
        with pytest.raises(InvalidInput) as caught:
            outreach.create_campaign(actor(city.id), "spring_festival", 2027, {"saved_search_id": saved.id}, now=NOW)
        assert "saved_search_id" in caught.value.errors
