"""Deleting a lead and undoing it (issue 13 item 5): its open follow-ups are cancelled with a note and counted
nowhere, its outreach items and claim conflicts drop out of sight, its projects stay; the owning county (or the
city) restores it within LEAD_RESTORE_DAYS and gets back what the delete closed; the search index follows."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, ClaimConflict, Followup, Lead, Notification, OutreachItem, Project, User
from crm.services import (
    conflicts,
    dashboard,
    followups,
    indexing,
    lead_lifecycle,
    leads,
    outreach,
    projects,
    reminders,
)
from crm.services.errors import Conflict, NotFound, PermissionDenied
from crm.services.permissions import can
from tests.services.test_leads import cid, valid_uscc

NOW = datetime(2027, 1, 28, 2, 0, tzinfo=UTC)  # 2027-01-28 10:00 in Ankang; 春节 2027 is 02-06
PAST = NOW - timedelta(days=2)


def user(ref) -> User:
    return db.session.get(User, ref.id)


@pytest.fixture
def world(app, make_user):
    """A 汉滨区 lead with two open follow-ups (one overdue), one done, a project and a 春节 outreach item."""
    hanbin, city = make_user("county_staff", "610902"), make_user("city_staff", None)
    with app.test_request_context():
        lead = leads.create_lead(user(hanbin), {"name": "汉滨区富硒茶业有限公司", "kind": "hometown_entrepreneur"},
                                 now=PAST)
        late = followups.create_followup(user(city), {"lead_id": lead.id, "title": "回访报价", "due_at": PAST,
                                                      "assignee_id": hanbin.id}, now=PAST)
        soon = followups.create_followup(user(hanbin), {"lead_id": lead.id, "title": "寄送资料",
                                                        "due_at": NOW + timedelta(days=3),
                                                        "assignee_id": hanbin.id}, now=PAST)
        done = followups.create_followup(user(hanbin), {"lead_id": lead.id, "title": "首次电话", "due_at": PAST,
                                                        "assignee_id": hanbin.id}, now=PAST)
        followups.complete_followup(user(hanbin), done.id, "已通话", now=PAST)
        project = projects.create_project(user(hanbin), {"name": "富硒茶精深加工项目", "lead_ids": [lead.id],
                                                         "investment_total": "5000"}, now=PAST)
        campaign = outreach.create_campaign(user(city), "spring_festival", 2027, None, now=NOW)
        return {"hanbin": hanbin, "city": city, "lead": lead.id, "late": late.id, "soon": soon.id,
                "done": done.id, "project": project.id, "campaign": campaign.id}


def _counts(w) -> dict:
    """Every place that counts or lists the world's open follow-ups and outreach item, as the users see them."""
    hanbin, city = user(w["hanbin"]), user(w["city"])
    board = followups.county_board(hanbin, hanbin.county_id, NOW)
    row = next(r for r in followups.city_overview(city, NOW) if r["county"].id == hanbin.county_id)
    by_county = {r["county_id"]: r["overdue"] for r in dashboard.overdue_by_county(city, NOW)}
    digest = reminders.digest_for(hanbin, NOW)
    return {
        "mine": sum(len(v) for v in followups.my_followups(hanbin, NOW).values()),
        "mine_overdue": len(followups.my_followups(hanbin, NOW)["overdue"]),
        "api_overdue": len(db.session.scalars(followups.followups_query(hanbin, overdue=True, now=NOW)).all()),
        "board_overdue": board["overdue"], "overview": (row["open"], row["overdue"]),
        "dashboard": by_county.get(hanbin.county_id, 0), "digest_overdue": len(digest["overdue"]),
        "outreach_items": len(db.session.scalars(outreach.items_query(city, w["campaign"])).all()),
        "outreach_progress": outreach.progress(city, w["campaign"])["total"],
        "outreach_mine": outreach.my_counts(hanbin, w["campaign"])["total"],
    }


BEFORE = {"mine": 2, "mine_overdue": 1, "api_overdue": 1, "board_overdue": 1, "overview": (2, 1), "dashboard": 1,
          "digest_overdue": 1, "outreach_items": 1, "outreach_progress": 1, "outreach_mine": 1}
GONE = {"mine": 0, "mine_overdue": 0, "api_overdue": 0, "board_overdue": 0, "overview": (0, 0), "dashboard": 0,
        "digest_overdue": 0, "outreach_items": 0, "outreach_progress": 0, "outreach_mine": 0}


def test_delete_lead_cancels_its_open_followups_with_a_note_and_no_count_keeps_them(app, world):
    with app.test_request_context():
        assert _counts(world) == BEFORE
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)
        assert _counts(world) == GONE
        late, soon, done = (db.session.get(Followup, world[k]) for k in ("late", "soon", "done"))
        assert (late.status, soon.status, done.status) == ("cancelled", "cancelled", "done")
        assert "汉滨区富硒茶业有限公司" in late.outcome and late.is_closed_with_lead and not done.is_closed_with_lead
        assert db.session.get(Project, world["project"]).deleted_at is None  # the county's project stays
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delete"))
        assert entry.after["followups_cancelled"] == [world["late"], world["soon"]]
        assert entry.after["projects_kept"] == [world["project"]] and len(entry.after["outreach_hidden"]) == 1


def test_deleted_leads_followups_get_no_reminders(app, world):
    with app.test_request_context():
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)
        assert reminders.plan_overdue_notices(NOW, escalate_days=0) == 0
        assert reminders.plan_due_soon_reminders(NOW, hours=24 * 7) == 0
        assert db.session.scalars(select(Notification).where(Notification.kind.in_(["overdue", "escalation",
                                                                                    "due_soon"]))).all() == []


def test_restore_by_owning_county_reopens_what_the_delete_cancelled(app, world):
    with app.test_request_context():
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)
        leads.restore_lead(user(world["hanbin"]), world["lead"], now=NOW + timedelta(days=29))
        assert _counts(world) == BEFORE
        late = db.session.get(Followup, world["late"])
        assert (late.status, late.outcome, late.completed_at, late.is_closed_with_lead) == ("open", None, None, False)
        assert db.session.get(Followup, world["done"]).status == "done"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "restore"))
        assert entry.actor_id == world["hanbin"].id
        assert entry.after["followups_reopened"] == [world["late"], world["soon"]]


def test_restore_does_not_reopen_a_followup_cancelled_before_the_delete(app, world):
    with app.test_request_context():
        followups.cancel_followup(user(world["city"]), world["late"], reason="不需要了", now=NOW)
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)
        leads.restore_lead(user(world["hanbin"]), world["lead"], now=NOW)
        late = db.session.get(Followup, world["late"])
        assert (late.status, late.outcome) == ("cancelled", "不需要了")
        assert db.session.get(Followup, world["soon"]).status == "open"


def test_restore_by_another_county_or_a_viewer_is_forbidden(app, world, make_user):
    ziyang, viewer = make_user("county_staff", "610924"), make_user("viewer", None)
    with app.test_request_context():
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)
        for ref in (ziyang, viewer):
            with pytest.raises(PermissionDenied):
                leads.restore_lead(user(ref), world["lead"], now=NOW)
        leads.restore_lead(user(world["city"]), world["lead"], now=NOW)  # the city may
        assert db.session.get(Lead, world["lead"]).deleted_at is None


def test_restore_after_the_period_is_refused_except_for_an_administrator(app, world, make_user):
    admin = make_user("admin", None)
    late = NOW + timedelta(days=30, seconds=1)
    with app.test_request_context():
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)
        for ref in (world["hanbin"], world["city"]):
            with pytest.raises(Conflict) as refused:
                leads.restore_lead(user(ref), world["lead"], now=late)
            assert "30" in refused.value.message and db.session.get(Lead, world["lead"]).deleted_at is not None
        leads.restore_lead(user(admin), world["lead"], now=late)
        assert db.session.get(Followup, world["late"]).status == "open"


def test_restore_period_comes_from_the_configuration(app, world):
    app.config["LEAD_RESTORE_DAYS"] = 7
    with app.test_request_context():
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)
        assert lead_lifecycle.restorable_until(db.session.get(Lead, world["lead"])) == NOW + timedelta(days=7)
        with pytest.raises(Conflict):
            leads.restore_lead(user(world["hanbin"]), world["lead"], now=NOW + timedelta(days=8))


def test_restore_is_refused_when_another_lead_now_has_its_credit_code(app, make_user):
    hanbin = make_user("county_staff", "610902")
    code = valid_uscc("91610900MA6Y1234")
    with app.test_request_context():
        first = leads.create_lead(user(hanbin), {"name": "甲公司", "uscc": code}, now=NOW)
        leads.delete_lead(user(hanbin), first.id, now=NOW)
        second = leads.create_lead(user(hanbin), {"name": "甲公司新登记", "uscc": code}, now=NOW)
        with pytest.raises(Conflict) as refused:
            leads.restore_lead(user(hanbin), first.id, now=NOW)
        assert f"#{second.id}" in refused.value.message


def test_recently_deleted_shows_each_user_what_they_may_restore(app, world, make_user):
    ziyang, admin, viewer = make_user("county_staff", "610924"), make_user("admin", None), make_user("viewer", None)
    with app.test_request_context():
        old = leads.create_lead(user(world["hanbin"]), {"name": "旧公司"}, now=PAST)
        leads.delete_lead(user(world["hanbin"]), old.id, now=NOW - timedelta(days=31))
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)

        def listed(ref):
            return [x.id for x in db.session.scalars(lead_lifecycle.recently_deleted_query(user(ref), now=NOW))]

        assert listed(world["hanbin"]) == [world["lead"]] and listed(world["city"]) == [world["lead"]]
        assert listed(ziyang) == [] and listed(admin) == [world["lead"], old.id]
        assert can(user(ziyang), "lead.view_deleted") and not can(user(viewer), "lead.view_deleted")
        # the owning county sees its deleted lead's page (to restore it); another county does not
        assert leads.get_lead(user(world["hanbin"]), world["lead"], include_deleted=True).id == world["lead"]
        with pytest.raises(NotFound):
            leads.get_lead(user(ziyang), world["lead"], include_deleted=True)


def test_open_claim_conflict_of_a_deleted_lead_waits_out_of_sight_until_restore(app, make_user):
    hanbin, ziyang, city = (make_user("county_staff", "610902"), make_user("county_staff", "610924"),
                            make_user("city_staff", None))
    with app.test_request_context():
        first = leads.create_lead(user(hanbin), {"name": "恒信建设工程有限公司"}, now=PAST)
        claim = leads.create_lead(user(ziyang), {"name": "恒信建设工程股份有限公司"}, now=PAST, force=True)
        conflict_id = db.session.scalar(select(ClaimConflict.id))
        assert conflicts.open_count() == 1
        leads.delete_lead(user(ziyang), claim.id, now=NOW)
        assert conflicts.open_count() == 0 and reminders.digest_for(user(city), NOW)["conflicts"] == 0
        with pytest.raises(NotFound):
            conflicts.decide_conflict(user(city), conflict_id, "reassign", now=NOW)
        assert db.session.get(Lead, first.id).owner_county_id == cid("610902")
        leads.restore_lead(user(ziyang), claim.id, now=NOW)
        assert conflicts.open_count() == 1


def test_deleted_outreach_item_cannot_be_marked_and_comes_back_on_restore(app, world):
    with app.test_request_context():
        item_id = db.session.scalar(select(OutreachItem.id).where(OutreachItem.lead_id == world["lead"]))
        leads.delete_lead(user(world["hanbin"]), world["lead"], now=NOW)
        with pytest.raises(NotFound):
            outreach.mark_item(user(world["hanbin"]), item_id, "greeted", now=NOW)
        leads.restore_lead(user(world["hanbin"]), world["lead"], now=NOW)
        assert outreach.mark_item(user(world["hanbin"]), item_id, "greeted", now=NOW).status == "greeted"


def test_deleted_lead_leaves_the_search_index_and_comes_back_on_restore(app, world):
    with app.test_request_context():
        hanbin = user(world["hanbin"])

        def found():
            return [i["id"] for i in indexing.search_leads(hanbin, "富硒茶业", {})["items"] if i["type"] == "lead"]

        assert found() == [world["lead"]]
        leads.delete_lead(hanbin, world["lead"], now=NOW)
        assert found() == [] and indexing.search_index().doc_count() == 1  # the project alone
        leads.restore_lead(user(world["hanbin"]), world["lead"], now=NOW)
        assert found() == [world["lead"]]


def test_a_followup_left_open_on_a_deleted_lead_is_counted_nowhere(app, world):
    """Rows from before deletes cancelled follow-ups (revision 0007 closes them; this guards the queries)."""
    with app.test_request_context():
        db.session.get(Lead, world["lead"]).deleted_at = NOW
        db.session.commit()
        assert _counts(world) == GONE
        assert reminders.plan_overdue_notices(NOW, escalate_days=0) == 0
