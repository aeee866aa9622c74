"""Claim conflicts (撞单) and merging: first registration protected, decisions, merge keeps both histories."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, ClaimConflict, Contact, Followup, Interaction, Lead, User
from crm.services import conflicts, interactions, leads
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)


def user(ref) -> User:
    return db.session.get(User, ref.id)


@pytest.fixture
def claim(app, make_user):
    """汉滨 registered 恒信 first; 紫阳 forced a second registration with its own visit, contact and next step."""
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    city = make_user("city_staff", None)
    with app.test_request_context():
        first = leads.create_lead(user(hanbin), {"name": "恒信建设工程有限公司", "tags": ["建筑"],
                                                 "contacts": [{"name": "张三", "mobile": "13800138000"}]}, now=NOW)
        interactions.log_interaction(user(hanbin), {"kind": "visit", "summary": "首次拜访"}, lead_id=first.id,
                                     now=NOW)
        second = leads.create_lead(user(ziyang), {"name": "恒信建设工程公司", "uscc": None, "is_key": True,
                                                  "tags": ["央企"], "contacts": [{"name": "李四"}]},
                                   now=NOW + timedelta(hours=1), force=True)
        interactions.log_interaction(user(ziyang), {"kind": "reception", "summary": "来访接待", "visitor_count": 4},
                                     lead_id=second.id, now=NOW + timedelta(hours=2),
                                     followup={"title": "回访", "due_at": "2027-03-25T10:00"})
        conflict = db.session.scalar(select(ClaimConflict))
        return {"hanbin": hanbin, "ziyang": ziyang, "city": city, "first": first.id, "second": second.id,
                "conflict": conflict.id}


def test_conflict_queue_lists_open_conflicts(app, claim):
    with app.test_request_context():
        assert [c.id for c in db.session.scalars(conflicts.open_conflicts())] == [claim["conflict"]]
        assert [c.id for c in conflicts.conflicts_for_lead(claim["second"])] == [claim["conflict"]]


def test_decide_conflict_by_county_staff_is_forbidden(app, claim):
    with app.test_request_context(), pytest.raises(PermissionDenied):
        conflicts.decide_conflict(user(claim["hanbin"]), claim["conflict"], "reassign", now=NOW)


def test_decide_keep_first_closes_conflict_and_changes_no_lead(app, claim):
    with app.test_request_context():
        c = conflicts.decide_conflict(user(claim["city"]), claim["conflict"], "keep_first", now=NOW, note="首报首谈")
        assert (c.status, c.decided_by_id, c.decision_note) == ("kept_first", claim["city"].id, "首报首谈")
        assert db.session.get(Lead, claim["first"]).owner_county_id == claim["hanbin"].county_id
        with pytest.raises(Conflict):
            conflicts.decide_conflict(user(claim["city"]), claim["conflict"], "merge", now=NOW)


def test_decide_reassign_hands_first_lead_to_claimant_county(app, claim):
    with app.test_request_context():
        conflicts.decide_conflict(user(claim["city"]), claim["conflict"], "reassign", now=NOW)
        lead = db.session.get(Lead, claim["first"])
        assert lead.owner_county_id == claim["ziyang"].county_id and lead.owner_id == claim["ziyang"].id


def test_decide_with_unknown_decision_is_refused(app, claim):
    with app.test_request_context(), pytest.raises(InvalidInput):
        conflicts.decide_conflict(user(claim["city"]), claim["conflict"], "toss_a_coin", now=NOW)


def test_decide_merge_keeps_both_histories_on_first_lead(app, claim):
    with app.test_request_context():
        conflicts.decide_conflict(user(claim["city"]), claim["conflict"], "merge", now=NOW + timedelta(days=1))
        first, second = db.session.get(Lead, claim["first"]), db.session.get(Lead, claim["second"])
        assert second.merged_into_id == first.id and second.deleted_at is not None
        assert {c.name for c in first.contacts} == {"张三", "李四"}
        assert sorted(db.session.scalars(select(Interaction.summary).where(Interaction.lead_id == first.id))) == \
            sorted(["首次拜访", "来访接待"])
        assert db.session.scalar(select(Followup.lead_id)) == first.id
        assert set(first.tags) == {"建筑", "央企"} and first.is_key
        assert first.owner_county_id == claim["hanbin"].county_id
        assert first.last_contacted_at == NOW + timedelta(hours=2)
        merge = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "merge"))
        assert merge.actor_id == claim["city"].id and merge.object_id == first.id
        assert merge.after["merged_lead_id"] == second.id and merge.after["moved"]["interactions"] == 1


def test_merge_leads_by_county_staff_is_forbidden(app, claim):
    with app.test_request_context(), pytest.raises(PermissionDenied):
        conflicts.merge_leads(user(claim["hanbin"]), claim["first"], claim["second"], now=NOW)


def test_merge_lead_with_itself_or_deleted_is_refused(app, claim):
    with app.test_request_context():
        with pytest.raises(InvalidInput):
            conflicts.merge_leads(user(claim["city"]), claim["first"], claim["first"], now=NOW)
        conflicts.merge_leads(user(claim["city"]), claim["first"], claim["second"], now=NOW)
        assert db.session.get(ClaimConflict, claim["conflict"]).status == "merged"
        with pytest.raises(NotFound):
            conflicts.merge_leads(user(claim["city"]), claim["first"], claim["second"], now=NOW)
        with pytest.raises(Conflict):
            leads.restore_lead(user(make_admin(app)), claim["second"], now=NOW)
        assert db.session.scalar(select(Contact.lead_id).where(Contact.name == "李四")) == claim["first"]


def make_admin(app) -> object:
    admin = User(username="merge-admin", display_name="admin", role="admin", password_hash="!")
    db.session.add(admin)
    db.session.commit()
    return admin
