"""Issue 14 follow-up rules: a county inbox is never silently overridden by a default assignee, county staff claim
inbox items (one winner when two press at once), bulk assign needs a person, and the calendar and its iCal feed
show only the user's own open follow-ups, masked as the lead page would."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from crm.extensions import db
from crm.models import AuditEntry, Contact, Followup, Handoff, User
from crm.services import calendars, followups
from crm.services.counties import county_by_code
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.services.test_followups import NOW, make_followup, make_lead, user

# the claim rule: county staff of the item's own county only (tests below: own county claims, another county and
# city staff refused, a late colleague told who has it)
COVERED_ACTIONS = {"followup.claim"}


def _county(code: str) -> int:
    return county_by_code(code).id


# --- a person or a county's inbox, not both ---------------------------------------------------------------

def test_city_choosing_a_county_inbox_while_a_person_stays_chosen_is_refused(app, make_user):
    city = make_user("city_staff")
    lead = make_lead(app)
    with app.test_request_context():
        with pytest.raises(InvalidInput) as caught:
            followups.create_followup(user(city.id), {"title": "核实用地", "lead_id": lead, "due_at": NOW + timedelta(1),
                                                      "assignee_id": city.id, "county_id": _county("610902")}, now=NOW)
        assert "county_id" in caught.value.errors
        assert db.session.scalar(db.select(db.func.count(Followup.id))) == 0


def test_a_person_with_their_own_county_is_consistent(app, make_user):
    staff = make_user("county_staff")
    lead = make_lead(app)
    with app.test_request_context():
        fu = followups.create_followup(user(staff.id), {"title": "回访", "lead_id": lead, "due_at": NOW + timedelta(1),
                                                        "assignee_id": staff.id, "county_id": staff.county_id}, now=NOW)
        assert (fu.assignee_id, fu.county_id) == (staff.id, staff.county_id)


def test_bulk_assign_without_a_person_changes_nothing(app, make_user):
    staff = make_user("county_staff")
    lead = make_lead(app)
    fid = make_followup(app, staff.id, lead, assignee_id=staff.id)
    with app.test_request_context():
        with pytest.raises(InvalidInput):
            followups.bulk_assign(user(staff.id), [fid], {"assignee_id": None}, now=NOW)
        assert db.session.get(Followup, fid).assignee_id == staff.id


# --- claiming from a county inbox ------------------------------------------------------------------------

@pytest.fixture
def inbox_item(app, make_user):
    """An unassigned follow-up in 汉滨区's inbox, put there by a colleague."""
    colleague = make_user("county_staff")
    lead = make_lead(app)
    return make_followup(app, colleague.id, lead, county_id=colleague.county_id)


def test_county_staff_claims_an_inbox_item_audited_and_versioned(app, make_user, inbox_item):
    staff = make_user("county_staff")
    with app.test_request_context():
        version = db.session.get(Followup, inbox_item).version
        fu = followups.claim_followup(user(staff.id), inbox_item, now=NOW)
        assert fu.assignee_id == staff.id and fu.version == version + 1
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "followup.claim"))
        assert entry.object_id == inbox_item and entry.after == {"assignee_id": staff.id}
        assert inbox_item in [f.id for fus in followups.my_followups(user(staff.id), NOW).values() for f in fus]


def test_a_claimed_item_cannot_be_claimed_again(app, make_user, inbox_item):
    first, second = make_user("county_staff"), make_user("county_staff")
    with app.test_request_context():
        followups.claim_followup(user(first.id), inbox_item, now=NOW)
        with pytest.raises(Conflict) as caught:
            followups.claim_followup(user(second.id), inbox_item, now=NOW)
        assert user(first.id).display_name in caught.value.message
        assert db.session.get(Followup, inbox_item).assignee_id == first.id


def test_another_countys_staff_and_city_staff_may_not_claim(app, make_user, inbox_item):
    other = make_user("county_staff", county_code="610921")
    city = make_user("city_staff")
    with app.test_request_context():
        with pytest.raises(NotFound):  # another county's follow-up does not exist for them
            followups.claim_followup(user(other.id), inbox_item, now=NOW)
        with pytest.raises(PermissionDenied):
            followups.claim_followup(user(city.id), inbox_item, now=NOW)
        assert db.session.get(Followup, inbox_item).assignee_id is None


def test_claiming_a_pending_handoff_accepts_it(app, make_user):
    city, staff = make_user("city_staff"), make_user("county_staff")
    lead = make_lead(app)
    fid = make_followup(app, city.id, lead, county_id=staff.county_id)
    with app.test_request_context():
        assert db.session.get(Followup, fid).handoff == Handoff.PENDING
        fu = followups.claim_followup(user(staff.id), fid, now=NOW)
        assert (fu.assignee_id, fu.handoff) == (staff.id, Handoff.ACCEPTED)


def test_two_colleagues_claiming_at_once_one_wins(app, make_user, inbox_item):
    """Two threads, two sessions, a barrier: exactly one claim is acknowledged and it is what the row holds."""
    claimers = [make_user("county_staff").id, make_user("county_staff").id]
    barrier, outcomes = threading.Barrier(2), {}

    def claim(uid):
        with app.app_context(), app.test_request_context():
            try:
                barrier.wait(timeout=5)
                followups.claim_followup(db.session.get(User, uid), inbox_item, now=NOW)
                outcomes[uid] = "won"
            except Conflict as error:
                outcomes[uid] = error.message
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(uid,)) for uid in claimers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    winners = [uid for uid, result in outcomes.items() if result == "won"]
    assert len(outcomes) == 2 and len(winners) == 1
    with app.app_context():
        assert db.session.get(Followup, inbox_item).assignee_id == winners[0]
        claims = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "followup.claim")).all()
        assert len(claims) == 1


# --- the calendar and the feed ---------------------------------------------------------------------------

def test_agenda_groups_own_open_followups_by_ankang_day(app, make_user):
    staff, colleague = make_user("county_staff"), make_user("county_staff")
    lead = make_lead(app)
    # 2027-03-10 23:30 in Ankang is still Wednesday there, Wednesday 15:30 UTC.
    late = datetime(2027, 3, 10, 15, 30, tzinfo=UTC)
    mine = make_followup(app, staff.id, lead, assignee_id=staff.id, due_at=late, title="晚间电话")
    make_followup(app, staff.id, lead, assignee_id=colleague.id, due_at=late, title="同事的")
    done = make_followup(app, staff.id, lead, assignee_id=staff.id, due_at=late, title="已完成的")
    with app.test_request_context():
        followups.complete_followup(user(staff.id), done, "好", now=NOW)
        week = calendars.agenda(user(staff.id), "week", datetime(2027, 3, 12).date())
        assert (week["first"].isoformat(), week["last"].isoformat()) == ("2027-03-08", "2027-03-14")
        assert [f.id for f in week["by_day"][datetime(2027, 3, 10).date()]] == [mine]
        month = calendars.agenda(user(staff.id), "month", datetime(2027, 3, 12).date())
        assert month["first"].weekday() == 0 and month["last"].weekday() == 6 and len(month["days"]) % 7 == 0
        assert month["count"] == 1


def test_feed_token_is_replaced_and_the_old_one_stops_working(app, make_user):
    staff = make_user("county_staff")
    with app.test_request_context():
        first = calendars.new_calendar_token(user(staff.id), now=NOW)
        assert calendars.user_for_calendar_token(first).id == staff.id
        second = calendars.new_calendar_token(user(staff.id), now=NOW)
        assert second != first and len(second) >= 40
        assert calendars.user_for_calendar_token(first) is None
        assert calendars.user_for_calendar_token(second).id == staff.id
        for bad in ("", "x" * 65, "../../etc", "a b"):
            assert calendars.user_for_calendar_token(bad) is None


def test_feed_is_valid_icalendar_with_own_open_items_and_masked_contacts(app, make_user):
    staff, colleague = make_user("county_staff"), make_user("county_staff")
    own_lead = make_lead(app, name="汉滨本县企业")
    other_lead = make_lead(app, county_code="610921", name="紫阳外县企业")
    with app.app_context():
        db.session.add_all([Contact(lead_id=own_lead, name="李总", mobile="13800001234", is_primary=True),
                            Contact(lead_id=other_lead, name="王总", mobile="13900005678", is_primary=True)])
        db.session.commit()
    make_followup(app, staff.id, own_lead, assignee_id=staff.id, due_at=NOW + timedelta(days=2), title="本县回访")
    make_followup(app, staff.id, other_lead, assignee_id=staff.id, due_at=NOW + timedelta(days=3), title="外县回访",
                  priority="high")
    make_followup(app, staff.id, own_lead, assignee_id=colleague.id, due_at=NOW + timedelta(days=2), title="同事的")
    with app.test_request_context():
        body = calendars.feed(user(staff.id), now=NOW, base_url="https://crm.example.cn",
                              labels={"lead": "客商", "contact": "联系人", "name": "我的跟进"})
    cal = Calendar.from_ical(body)
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"本县回访", "外县回访"}
    assert str(cal["version"]) == "2.0" and cal["prodid"]
    own, other = str(events["本县回访"]["description"]), str(events["外县回访"]["description"])
    assert "13800001234" in own
    assert "13900005678" not in other and "139****5678" in other
    assert int(events["外县回访"]["priority"]) == 1
    assert events["本县回访"]["dtstart"].dt == NOW + timedelta(days=2)
    assert str(events["本县回访"]["uid"]).startswith("followup-") and "crm.example.cn" in str(events["本县回访"]["uid"])
    assert all(line.endswith(b"\r") or not line for line in body.split(b"\n")[:-1])  # CRLF line ends (RFC 5545 §3.1)
