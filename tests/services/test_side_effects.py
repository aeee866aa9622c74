"""State a rule changes as a side effect (issue 13 item 9): another county's action may record what happened,
but never moves what belongs to the lead's owner (its status, owner, key flag)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.extensions import db
from crm.models import AuditEntry, Lead, User
from crm.services import interactions, leads

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
VISIT = {"kind": "visit", "summary": "拜访企业", "leader_level": "none", "visitor_count": 2}
OWNED = ("status", "owner_county_id", "owner_id", "is_key")


def user(ref) -> User:
    return db.session.get(User, ref.id)


def _lead(app, ref, **data) -> int:
    with app.test_request_context():
        return leads.create_lead(user(ref), {"name": "恒信建设工程有限公司", **data}, now=NOW - timedelta(days=10)).id


def _owned(lead_id: int) -> dict:
    lead = db.session.get(Lead, lead_id)
    return {key: getattr(lead, key) for key in OWNED}


@pytest.mark.parametrize("kind,status", [("signing", "new"), ("visit", "new"), ("call", "dormant"), ("signing", "dropped")])
def test_another_countys_contact_is_logged_but_leaves_the_lead_status_alone(app, make_user, kind, status):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    lead_id = _lead(app, hanbin, status=status)
    with app.test_request_context():
        before = _owned(lead_id)
        interactions.log_interaction(user(ziyang), dict(VISIT, kind=kind), lead_id=lead_id, now=NOW)
        assert _owned(lead_id) == before
        assert db.session.get(Lead, lead_id).last_contacted_at == NOW  # the contact itself is a fact
        assert not db.session.query(AuditEntry).filter_by(object_type="lead", object_id=lead_id,
                                                          action="update").count()


@pytest.mark.parametrize("role,code", [("county_staff", "610902"), ("city_staff", None)])
def test_the_owner_county_or_the_city_signing_visit_moves_the_status(app, make_user, role, code):
    hanbin = make_user("county_staff", "610902")
    lead_id = _lead(app, hanbin)
    actor = make_user(role, code)
    with app.test_request_context():
        interactions.log_interaction(user(actor), dict(VISIT, kind="signing"), lead_id=lead_id, now=NOW)
        assert db.session.get(Lead, lead_id).status == "signed"
