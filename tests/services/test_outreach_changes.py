"""Holiday outreach after the list is made: changing a recorded result (the interaction and the lead's last
contact follow, audited, only while the campaign is worked) and refreshing a campaign's targets until the
holiday (new eligible leads join, deleted/merged/ineligible pending ones leave, results stay), by hand and daily."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm import scheduler
from crm.extensions import db
from crm.models import AuditEntry, Interaction, Lead, OutreachItem
from crm.services import interactions, outreach
from crm.services.errors import Conflict, NotFound, PermissionDenied
from tests.services.test_outreach import NOW, items_of, make_lead, spring_festival, user

LATER = NOW + timedelta(hours=2)


def audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# --- changing a recorded result ---------------------------------------------------------------------------

def test_change_mistaken_declined_to_greeted_rewrites_its_interaction_and_is_audited(app, make_user):
    liu = make_user("county_staff", "610902")
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        item = outreach.mark_item(user(liu.id), items_of(cid)[lead_id].id, "declined", None, now=NOW)
        first = item.interaction_id
        outreach.change_item(user(liu.id), item.id, "greeted", "按错了，其实已拜年", now=LATER)
        item = db.session.get(OutreachItem, item.id)
        assert (item.status, item.note, item.interaction_id) == ("greeted", "按错了，其实已拜年", first)
        interaction = db.session.get(Interaction, first)
        assert (interaction.kind, interaction.occurred_at, interaction.outcome) == ("greeting", NOW, "按错了，其实已拜年")
        assert "已问候" in interaction.summary and "婉拒" not in interaction.summary
        assert db.session.scalar(db.select(db.func.count(Interaction.id))) == 1
        (entry,) = audits("outreach.change")
        assert (entry.actor_id, entry.object_id) == (liu.id, item.id)
        assert entry.before["status"] == "declined" and entry.after["status"] == "greeted"


def test_change_greeted_to_visited_and_back_moves_the_visit_count(app, make_user):
    liu = make_user("county_staff", "610902")
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        item_id = items_of(cid)[lead_id].id
        outreach.mark_item(user(liu.id), item_id, "greeted", None, now=NOW)
        outreach.change_item(user(liu.id), item_id, "visited", None, now=LATER)
        kinds = lambda: db.session.scalars(db.select(Interaction.kind)).all()  # noqa: E731
        assert kinds() == ["visit"]
        outreach.change_item(user(liu.id), item_id, "greeted", None, now=LATER)
        assert kinds() == ["greeting"]


def test_change_to_unreachable_gives_last_contact_back_and_reached_again_takes_it(app, make_user):
    liu = make_user("county_staff", "610902")
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    earlier = NOW - timedelta(days=20)
    with app.test_request_context():
        interactions.log_interaction(user(liu.id), {"kind": "call", "summary": "年前电话", "occurred_at": earlier},
                                     lead_id=lead_id, now=earlier)
        item_id = items_of(cid)[lead_id].id
        outreach.mark_item(user(liu.id), item_id, "greeted", None, now=NOW)
        assert db.session.get(Lead, lead_id).last_contacted_at == NOW
        outreach.change_item(user(liu.id), item_id, "unreachable", "其实没接", now=LATER)
        assert db.session.get(Lead, lead_id).last_contacted_at == earlier
        moved = [e.after for e in audits("update") if e.object_type == "lead" and "last_contacted_at" in e.after]
        assert moved == [{"last_contacted_at": earlier.isoformat()}]
        outreach.change_item(user(liu.id), item_id, "declined", None, now=LATER)
        assert db.session.get(Lead, lead_id).last_contacted_at == NOW


def test_change_of_a_result_made_after_a_later_contact_leaves_that_contact(app, make_user):
    liu = make_user("county_staff", "610902")
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        item_id = items_of(cid)[lead_id].id
        outreach.mark_item(user(liu.id), item_id, "greeted", None, now=NOW)
        interactions.log_interaction(user(liu.id), {"kind": "call", "summary": "节后回访", "occurred_at": LATER},
                                     lead_id=lead_id, now=LATER)
        outreach.change_item(user(liu.id), item_id, "unreachable", None, now=LATER)
        assert db.session.get(Lead, lead_id).last_contacted_at == LATER


def test_change_of_a_pending_item_or_after_the_window_is_refused(app, make_user):
    liu = make_user("county_staff", "610902")
    a, b = make_lead(app, owner_id=liu.id), make_lead(app, owner_id=liu.id, name="李四")
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        items = items_of(cid)
        with pytest.raises(Conflict):
            outreach.change_item(user(liu.id), items[a].id, "greeted", None, now=NOW)
        outreach.mark_item(user(liu.id), items[b].id, "declined", None, now=NOW)
        # 春节 2027 is 02-06: results may change until 02-21 (Ankang time), not on 02-22
        outreach.change_item(user(liu.id), items[b].id, "greeted", None,
                             now=datetime(2027, 2, 21, 15, 0, tzinfo=UTC))
        with pytest.raises(Conflict):
            outreach.change_item(user(liu.id), items[b].id, "visited", None,
                                 now=datetime(2027, 2, 21, 16, 0, tzinfo=UTC))
        assert db.session.get(OutreachItem, items[b].id).status == "greeted"


def test_change_by_other_county_is_not_found_and_viewer_forbidden(app, make_user):
    liu, zhao = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    viewer = make_user("viewer", None)
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        item_id = items_of(cid)[lead_id].id
        outreach.mark_item(user(liu.id), item_id, "declined", None, now=NOW)
        with pytest.raises(NotFound):
            outreach.change_item(user(zhao.id), item_id, "greeted", None, now=LATER)
        with pytest.raises(PermissionDenied):
            outreach.change_item(user(viewer.id), item_id, "greeted", None, now=LATER)
        assert db.session.get(OutreachItem, item_id).status == "declined"


def test_change_after_its_interaction_was_withdrawn_logs_a_new_one(app, make_user):
    liu = make_user("county_staff", "610902")
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        item = outreach.mark_item(user(liu.id), items_of(cid)[lead_id].id, "visited", None, now=NOW)
        withdrawn = item.interaction_id
        interactions.withdraw_interaction(user(liu.id), withdrawn, "录错了", now=LATER)
        outreach.change_item(user(liu.id), item.id, "greeted", None, now=LATER)
        item = db.session.get(OutreachItem, item.id)
        assert item.interaction_id != withdrawn
        fresh = db.session.get(Interaction, item.interaction_id)
        assert (fresh.kind, fresh.occurred_at, fresh.withdrawn_at) == ("greeting", NOW, None)
        assert db.session.get(Interaction, withdrawn).withdrawn_at is not None


# --- refreshing the targets -------------------------------------------------------------------------------

def test_refresh_adds_a_hometown_entrepreneur_registered_after_the_list_assigned_to_their_owner(app, make_user):
    city, liu = make_user("city_staff", None), make_user("county_staff", "610902")
    make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, city.id)
    newcomer = make_lead(app, name="王乡贤", owner_id=liu.id)
    unowned = make_lead(app, name="赵乡贤", county_code="610924")
    make_lead(app, kind="enterprise", name="普通企业")
    with app.test_request_context():
        result = outreach.refresh_campaign(user(city.id), cid, now=LATER)
        assert (result["added"], result["removed"]) == (2, 0)
        items = items_of(cid)
        assert (items[newcomer].assignee_id, items[newcomer].status) == (liu.id, "pending")
        assert items[unowned].assignee_id is None and items[unowned].county_id is not None
        (entry,) = audits("outreach.campaign_refresh")
        assert entry.actor_id == city.id and sorted(entry.after["added_leads"]) == sorted([newcomer, unowned])
        # idempotent: nothing more to do
        assert outreach.refresh_campaign(user(city.id), cid, now=LATER)[("added")] == 0


def test_refresh_removes_pending_items_of_deleted_merged_or_ineligible_leads_and_keeps_results(app, make_user):
    city, liu = make_user("city_staff", None), make_user("county_staff", "610902")
    deleted, merged, changed, greeted = (make_lead(app, name=n, owner_id=liu.id) for n in ("甲", "乙", "丙", "丁"))
    keeper = make_lead(app, name="戊", owner_id=liu.id)
    cid = spring_festival(app, city.id)
    with app.test_request_context():
        outreach.mark_item(user(liu.id), items_of(cid)[greeted].id, "greeted", None, now=NOW)
        db.session.get(Lead, deleted).deleted_at = NOW
        db.session.get(Lead, merged).merged_into_id = keeper
        db.session.get(Lead, changed).kind = "enterprise"
        db.session.get(Lead, greeted).deleted_at = NOW
        db.session.commit()
        result = outreach.refresh_campaign(None, cid, now=LATER)
        assert (result["added"], result["removed"]) == (0, 3)
        assert set(items_of(cid)) == {greeted, keeper}
        assert items_of(cid)[greeted].status == "greeted"


def test_refresh_after_the_holiday_or_by_county_staff_is_refused(app, make_user):
    city, liu = make_user("city_staff", None), make_user("county_staff", "610902")
    cid = spring_festival(app, city.id)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            outreach.refresh_campaign(user(liu.id), cid, now=LATER)
        # 春节 2027-02-06: still on the day itself (Ankang), not the day after
        outreach.refresh_campaign(user(city.id), cid, now=datetime(2027, 2, 6, 15, 0, tzinfo=UTC))
        with pytest.raises(Conflict):
            outreach.refresh_campaign(user(city.id), cid, now=datetime(2027, 2, 6, 16, 0, tzinfo=UTC))
        with pytest.raises(NotFound):
            outreach.refresh_campaign(user(city.id), cid + 1000, now=LATER)


def test_daily_refresh_job_updates_campaigns_before_their_holiday_only_and_is_idempotent(app, make_user):
    city = make_user("city_staff", None)
    cid = spring_festival(app, city.id)
    with app.test_request_context():
        past = outreach.create_campaign(user(city.id), "new_year", 2027, None, now=NOW).id  # 2027-01-01
    newcomer = make_lead(app, name="新乡贤")
    job = scheduler.JOBS_BY_ID["outreach_refresh"]
    assert scheduler.run_job(app, job, LATER) == {"campaigns": 1, "added": 1, "removed": 0}
    assert scheduler.run_job(app, job, LATER) == {"campaigns": 1, "added": 0, "removed": 0}
    with app.app_context():
        assert set(items_of(cid)) == {newcomer} and items_of(past) == {}
        assert len(audits("outreach.campaign_refresh")) == 1  # a run that changes nothing leaves no entry
    order = [j.id for j in scheduler.JOBS]
    assert order.index("outreach_refresh") < order.index("outreach_campaigns")
