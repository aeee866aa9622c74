"""A visit's problems are reported all at once (issue 14 item 2): the contact, its lead (chosen or new) and the
next step, before anything is written."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Followup, Interaction, Lead, User
from crm.services import interactions, leads
from crm.services.errors import InvalidInput, NotFound

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_log_visit_reports_contact_lead_and_next_step_problems_together(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        with pytest.raises(InvalidInput) as refused:
            interactions.log_interaction(actor, {"kind": "visit", "summary": "", "leader_level": "none", "leader_name": "张县长",
                                                 "visitor_count": 10_000}, now=NOW,
                                         followup={"title": "回访", "due_at": NOW - timedelta(days=1)})
        assert set(refused.value.errors) == {"summary", "leader_name", "visitor_count", "lead_id",
                                             "followup_due_at"}
        assert count(Interaction) == 0 and count(Followup) == 0


def test_log_visit_with_a_new_lead_reports_its_fields_beside_the_visits(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        with pytest.raises(InvalidInput) as refused:
            interactions.log_interaction(actor, {"kind": "visit", "summary": ""}, now=NOW,
                                         new_lead={"name": "", "contacts": [{"name": "李四", "mobile": "12"}]},
                                         followup={"title": "", "due_at": "2027-04-01T10:00"})
        errors = refused.value.errors
        assert {"summary", "name", "followup_title"} <= set(errors)
        assert any(key.startswith("contacts") for key in errors)
        assert count(Lead) == 0 and count(Interaction) == 0


def test_visit_errors_writes_nothing_and_is_empty_for_a_good_visit(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        lead = leads.create_lead(actor, {"name": "恒信建设工程有限公司"}, now=NOW)
        good = interactions.visit_errors(actor, {"kind": "visit", "summary": "介绍园区"}, now=NOW, lead_id=lead.id,
                                         followup={"title": "寄资料", "due_at": NOW + timedelta(days=3)})
        assert good == {}
        bad = interactions.visit_errors(actor, {"kind": "visit", "summary": ""}, now=NOW, new_lead={"name": ""},
                                        followup={"title": "x" * 300, "due_at": "not a date"})
        assert {"summary", "name", "followup_title", "followup_due_at"} <= set(bad)
        assert count(Lead) == 1 and count(Interaction) == 0


def test_an_unknown_lead_is_still_not_found_once_the_input_is_good(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        with pytest.raises(NotFound):
            interactions.log_interaction(actor, {"kind": "visit", "summary": "介绍园区"}, now=NOW, lead_id=999_999)
