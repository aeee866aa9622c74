"""Follow-up rules: validation, assignment limits, permissions by county, completion, hand-off, buckets."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.extensions import db
from crm.models import Followup, Lead, Notification, User
from crm.services import followups
from crm.services.errors import InvalidInput

NOW = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Ankang


def make_lead(app, county_code="610902", **extra) -> int:
    from crm.services.counties import county_by_code

    with app.test_request_context():
        lead = Lead(name=extra.pop("name", "陕西富硒食品有限公司"), owner_county_id=county_by_code(county_code).id,
                    **extra)
        db.session.add(lead)
        db.session.commit()
        return lead.id


@pytest.fixture
def lead_id(app):
    return make_lead(app)


def test_create_followup_for_colleague_notifies_assignee(app, make_user, lead_id):
    boss, worker = make_user("county_staff"), make_user("county_staff")
    with app.test_request_context():
        actor = db.session.get(User, boss.id)
        fu = followups.create_followup(actor, {"title": "回访", "due_at": "2027-03-11T09:00", "lead_id": lead_id,
                                               "assignee_id": worker.id}, now=NOW)
        assert fu.due_at == datetime(2027, 3, 11, 1, 0, tzinfo=UTC)
        assert fu.county_id == worker.county_id and fu.assigned_by_id == boss.id
        notes = db.session.scalars(db.select(Notification).where(Notification.user_id == worker.id)).all()
        assert [n.kind for n in notes] == ["assigned"]


def test_add_followup_with_bad_input_reports_each_field(app, make_user):
    staff = make_user("county_staff")
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        with pytest.raises(InvalidInput) as info:
            followups.add_followup(actor, {"title": "x" * 201, "due_at": "tomorrow", "lead_id": 999999}, now=NOW)
        assert {"title", "due_at", "lead_id", "assignee_id"} <= set(info.value.errors)
        assert db.session.scalar(db.select(db.func.count(Followup.id))) == 0


def test_add_followup_by_county_staff_to_other_county_is_refused(app, make_user, lead_id):
    staff, other = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        with pytest.raises(InvalidInput) as info:
            followups.add_followup(actor, {"title": "t", "due_at": NOW + timedelta(days=1), "lead_id": lead_id,
                                           "assignee_id": other.id}, now=NOW)
        assert "assignee_id" in info.value.errors
        with pytest.raises(InvalidInput) as info:
            followups.add_followup(actor, {"title": "t", "due_at": NOW + timedelta(days=1), "lead_id": lead_id,
                                           "county_id": other.county_id}, now=NOW)
        assert "county_id" in info.value.errors
