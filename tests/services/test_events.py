"""Events (推介会): permissions, invited/attending leads, results counting what was signed there."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crm.extensions import db
from crm.models import Event, Lead, User
from crm.services import events, projects
from crm.services.errors import InvalidInput, PermissionDenied
from crm.services.permissions import can
from tests.conftest import county_id

COVERED_ACTIONS = {"event.view", "event.edit"}
NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize("role,own,edit", [
    ("admin", False, True), ("city_staff", False, True), ("county_staff", True, True),
    ("county_staff", False, False), ("viewer", True, False),
])
def test_event_permission_matrix(role, own, edit):
    actor = User(id=1, role=role, county_id=1 if role in ("county_staff", "viewer") else None, is_active_user=True)
    event = Event(county_id=1 if own else 2)
    assert can(actor, "event.view", event)
    assert can(actor, "event.edit", event) is edit


def test_create_event_with_invited_and_attending_leads_and_results(app, make_user):
    staff = make_user("county_staff", "610924")
    zy = county_id(app, "610924")
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        leads = [Lead(name=f"客商{i}", owner_county_id=zy) for i in range(3)]
        db.session.add_all(leads)
        db.session.commit()
        ids = [lead.id for lead in leads]
        event = events.create_event(actor, {"name": "成都推介会", "held_on": "2019-11-02", "city": "成都",
                                            "lead_ids": ids[:2], "attended_ids": [ids[2]]}, now=NOW)
        assert event.county_id == zy  # county staff organise for their own county
        assert [(lead.id, came) for lead, came in events.attendance(event)] == [
            (ids[0], False), (ids[1], False), (ids[2], True)]
        for amount, stage in (("1000", "signed"), ("2500.5", "started"), ("9999", "negotiating")):
            data = {"name": "项目", "county_id": zy, "event_id": event.id, "investment_total": amount, "stage": stage}
            projects.create_project(actor, data, now=NOW)
        assert events.results([event.id])[event.id] == {"signed_count": 2, "signed_investment": Decimal("3500.50")}
        values = events.event_values(event)
        assert values["lead_ids"] == ids and values["attended_ids"] == [ids[2]] and values["signed_count"] == 2


def test_create_event_for_another_county_by_county_staff_is_forbidden(app, make_user):
    staff = make_user("county_staff", "610924")
    hb = county_id(app, "610902")
    with app.test_request_context(), pytest.raises(PermissionDenied):
        events.create_event(db.session.get(User, staff.id), {"name": "x", "held_on": "2019-01-01", "county_id": hb},
                            now=NOW)


@pytest.mark.parametrize("data,field", [
    ({"name": "", "held_on": "2019-01-01"}, "name"), ({"name": "x", "held_on": "someday"}, "held_on"),
    ({"name": "x", "held_on": "2019-01-01", "lead_ids": [987654]}, "lead_ids"),
    ({"name": "x", "held_on": "2019-01-01", "county_id": 987654}, "county_id"),
])
def test_create_event_with_bad_input_is_refused(app, make_user, data, field):
    admin = make_user("admin", None)
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        events.create_event(db.session.get(User, admin.id), data, now=NOW)
    assert field in info.value.errors


def test_update_event_is_audited(app, make_user):
    admin = make_user("admin", None)
    with app.test_request_context():
        actor = db.session.get(User, admin.id)
        event = events.create_event(actor, {"name": "旧名", "held_on": "2019-01-01"}, now=NOW)
        events.update_event(actor, event.id, {"name": "新名"}, now=NOW)
        from crm.models import AuditEntry
        entry = db.session.query(AuditEntry).filter_by(object_type="event", action="update").one()
        assert entry.before == {"name": "旧名"} and entry.after == {"name": "新名"}
