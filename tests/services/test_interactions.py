"""Logging contacts: status and last-contact updates, the next step in the same commit, inline new leads, trips,
the lead's timeline; correcting and withdrawing (撤回) a contact, with the figures following."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import AuditEntry, Followup, Interaction, Lead, Trip, User
from crm.services import interactions, leads, reports, trips
from crm.services.counties import city_county
from crm.services.duplicates import DuplicateLead
from crm.services.errors import Conflict, InvalidInput, PermissionDenied
from crm.services.permissions import can

COVERED_ACTIONS = {"interaction.edit", "interaction.withdraw", "trip.edit"}

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
VISIT = {"kind": "visit", "summary": "拜访企业，介绍园区", "leader_level": "county", "leader_name": "张县长",
         "visitor_count": 3, "location": "北京"}


def user(ref) -> User:
    return db.session.get(User, ref.id)


def _lead(app, ref, name="恒信建设工程有限公司", **data) -> int:
    with app.test_request_context():
        return leads.create_lead(user(ref), {"name": name, **data}, now=NOW - timedelta(days=10)).id


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_log_visit_updates_lead_and_records_county(app, make_user):
    staff = make_user("county_staff", "610924")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        other = make_user("county_staff", "610924")
        i = interactions.log_interaction(user(staff), dict(VISIT, participant_ids=[staff.id, other.id]),
                                         lead_id=lead_id, now=NOW)
        lead = db.session.get(Lead, lead_id)
        assert lead.status == "engaged" and lead.last_contacted_at == NOW
        assert i.county_id == staff.county_id and i.created_by_id == staff.id and i.occurred_at == NOW
        assert sorted(u.id for u in i.participants) == sorted([staff.id, other.id])
        actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == lead_id,
                                                                         AuditEntry.object_type == "lead")))
        assert actions == {"create", "update"}


def test_log_by_city_staff_counts_for_the_city(app, make_user):
    hanbin, city = make_user("county_staff", "610902"), make_user("city_staff", None)
    lead_id = _lead(app, hanbin)
    with app.test_request_context():
        i = interactions.log_interaction(user(city), VISIT, lead_id=lead_id, now=NOW)
        assert i.county_id == city_county().id and [u.id for u in i.participants] == [city.id]


def test_older_contact_does_not_move_last_contacted_back_and_status_never_downgrades(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff, status="interested")
    with app.test_request_context():
        interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW)
        interactions.log_interaction(user(staff), dict(VISIT, occurred_at="2027-03-01T09:00"), lead_id=lead_id,
                                     now=NOW)
        lead = db.session.get(Lead, lead_id)
        assert lead.last_contacted_at == NOW and lead.status == "interested"
        interactions.log_interaction(user(staff), dict(VISIT, kind="signing"), lead_id=lead_id, now=NOW)
        assert db.session.get(Lead, lead_id).status == "signed"
        interactions.log_interaction(user(staff), dict(VISIT, kind="call"), lead_id=lead_id, now=NOW)
        assert db.session.get(Lead, lead_id).status == "signed"


def test_local_time_without_offset_is_shanghai_time(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        i = interactions.log_interaction(user(staff), dict(VISIT, occurred_at="2027-03-15T09:30"), lead_id=lead_id,
                                         now=NOW + timedelta(hours=2))
        assert i.occurred_at == datetime(2027, 3, 15, 1, 30, tzinfo=UTC)


def test_log_with_next_step_creates_followup_in_same_commit(app, make_user):
    staff, colleague = make_user("county_staff"), make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        i = interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW, followup={
            "title": "寄送园区资料", "due_at": "2027-03-20T10:00", "assignee_id": colleague.id})
        fu = db.session.scalar(select(Followup))
        assert (fu.lead_id, fu.assignee_id, fu.source_interaction_id) == (lead_id, colleague.id, i.id)
        assert fu.title == "寄送园区资料" and fu.assigned_by_id == staff.id


def test_log_with_invalid_next_step_rolls_back_everything(app, make_user):
    staff = make_user("county_staff")
    other_county = make_user("county_staff", "610924")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        with pytest.raises(InvalidInput) as exc:
            interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW, followup={
                "title": "", "due_at": "not a date", "assignee_id": other_county.id})
        assert {"followup_title", "followup_due_at", "followup_assignee_id"} <= set(exc.value.errors)
        db.session.remove()
        assert count(Interaction) == 0 and count(Followup) == 0
        lead = db.session.get(Lead, lead_id)
        assert lead.status == "new" and lead.last_contacted_at is None


def test_log_with_empty_next_step_adds_no_followup(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW,
                                     followup={"title": "", "due_at": "", "assignee_id": staff.id})
        assert count(Followup) == 0 and count(Interaction) == 1


def test_log_with_inline_new_lead_creates_both(app, make_user):
    staff = make_user("county_staff", "610924")
    with app.test_request_context():
        i = interactions.log_interaction(user(staff), VISIT, now=NOW, new_lead={
            "name": "紫阳富硒茶厂", "kind": "enterprise", "contacts": [{"name": "李厂长", "mobile": "13912345678"}]})
        lead = db.session.get(Lead, i.lead_id)
        assert lead.owner_county_id == staff.county_id and lead.status == "engaged"
        assert lead.contacts[0].mobile_key == "13912345678"


def test_log_with_inline_duplicate_lead_warns_and_saves_nothing(app, make_user):
    staff = make_user("county_staff")
    _lead(app, staff)
    with app.test_request_context():
        with pytest.raises(DuplicateLead):
            interactions.log_interaction(user(staff), VISIT, now=NOW, new_lead={"name": "恒信建设工程公司"})
        db.session.remove()
        assert count(Lead) == 1 and count(Interaction) == 0


@pytest.mark.parametrize("field,value", [("kind", "party"), ("summary", ""), ("summary", "x" * 5001),
                                         ("leader_level", "king"), ("visitor_count", -1),
                                         ("visitor_count", "many"), ("visitor_count", 501),
                                         ("visitor_count", 10_000), ("occurred_at", "2030-01-01T00:00"),
                                         ("location", "l" * 201), ("leader_name", "a\x00"),
                                         ("participant_ids", [999999]), ("trip_id", 424242)])
def test_log_with_bad_field_is_refused(app, make_user, field, value):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        with pytest.raises(InvalidInput) as exc:
            interactions.log_interaction(user(staff), dict(VISIT, **{field: value}), lead_id=lead_id, now=NOW)
        assert field in exc.value.errors


def test_log_without_lead_is_refused(app, make_user):
    staff = make_user("county_staff")
    with app.test_request_context(), pytest.raises(InvalidInput) as exc:
        interactions.log_interaction(user(staff), VISIT, now=NOW)
    assert "lead_id" in exc.value.errors


def test_log_by_viewer_is_forbidden(app, make_user):
    staff, viewer = make_user("county_staff"), make_user("viewer", None)
    lead_id = _lead(app, staff)
    with app.test_request_context(), pytest.raises(PermissionDenied):
        interactions.log_interaction(user(viewer), VISIT, lead_id=lead_id, now=NOW)


def test_timeline_merges_interactions_followups_and_changes_newest_first(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        interactions.log_interaction(user(staff), dict(VISIT, occurred_at=NOW - timedelta(days=2)), lead_id=lead_id,
                                     now=NOW, followup={"title": "回访", "due_at": "2027-03-20T10:00"})
        leads.reveal_contacts(user(staff), lead_id, now=NOW)
        entries = interactions.timeline(lead_id)
        assert {e["type"] for e in entries} == {"interaction", "followup", "change"}
        assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
        assert all(e["item"].action != "reveal" for e in entries if e["type"] == "change")


def test_trip_groups_visits(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        trip = trips.create_trip(user(staff), {"title": "京津冀招商考察", "leader_name": "市长", "leader_level": "city",
                                               "starts_on": "2027-03-15", "ends_on": "2027-03-19",
                                               "cities": "北京、廊坊、雄安"}, now=NOW)
        interactions.log_interaction(user(staff), dict(VISIT, trip_id=trip.id), lead_id=lead_id, now=NOW)
        assert [v.lead_id for v in trips.trip_visits(trip.id)] == [lead_id]
        assert [t.id for t in trips.trip_choices(user(staff), today=date(2027, 3, 16))] == [trip.id]
        assert [u.id for u in trip.participants] == [staff.id]


@pytest.mark.parametrize("data,field", [({"title": ""}, "title"), ({"ends_on": "2027-03-01"}, "ends_on"),
                                        ({"starts_on": "soon"}, "starts_on"), ({"ends_on": "2027-09-01"}, "ends_on")])
def test_create_trip_with_bad_field_is_refused(app, make_user, data, field):
    staff = make_user("county_staff")
    base = {"title": "考察", "starts_on": "2027-03-15", "ends_on": "2027-03-19"}
    with app.test_request_context(), pytest.raises(InvalidInput) as exc:
        trips.create_trip(user(staff), dict(base, **data), now=NOW)
    assert field in exc.value.errors


def test_timeline_for_a_reader_of_another_county_leaves_out_follow_ups_they_may_not_open(app, make_user):
    owner, other = make_user("county_staff"), make_user("county_staff", "610924")
    lead_id = _lead(app, owner)
    with app.test_request_context():
        interactions.log_interaction(user(owner), dict(VISIT, occurred_at=NOW - timedelta(days=2)), lead_id=lead_id,
                                     now=NOW, followup={"title": "回访", "due_at": "2027-03-20T10:00"})
        assert "followup" in {e["type"] for e in interactions.timeline(lead_id, actor=user(owner))}
        assert "followup" not in {e["type"] for e in interactions.timeline(lead_id, actor=user(other))}


# --- inconsistent entries ---------------------------------------------------------------------------------

def test_log_without_leader_but_with_a_leader_name_is_refused(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        with pytest.raises(InvalidInput) as exc:
            interactions.log_interaction(user(staff), dict(VISIT, leader_level="none"), lead_id=lead_id, now=NOW)
        assert list(exc.value.errors) == ["leader_name"]
        db.session.remove()
        assert count(Interaction) == 0
        interactions.log_interaction(user(staff), dict(VISIT, leader_level="none", leader_name=""), lead_id=lead_id,
                                     now=NOW)
        assert count(Interaction) == 1


def test_log_with_a_next_step_due_in_the_past_saves_nothing(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        with pytest.raises(InvalidInput) as exc:
            interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW, followup={
                "title": "寄送园区资料", "due_at": "2027-03-14T10:00"})
        assert list(exc.value.errors) == ["followup_due_at"]
        db.session.remove()
        assert count(Interaction) == 0 and count(Followup) == 0


def test_visitor_count_message_names_the_plausible_range(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        with pytest.raises(InvalidInput) as exc:
            interactions.log_interaction(user(staff), dict(VISIT, visitor_count=9999), lead_id=lead_id, now=NOW)
        assert "500" in str(exc.value.errors["visitor_count"][0])
        i = interactions.log_interaction(user(staff), dict(VISIT, visitor_count=500), lead_id=lead_id, now=NOW)
        assert i.visitor_count == 500


# --- correcting and withdrawing ------------------------------------------------------------------------------

RECEPTION = dict(VISIT, kind="reception", visitor_count=12, leader_level="city", leader_name="王市长")


def _figures(county: int | None = None) -> tuple:
    report = reports.annual_report(2027, county_id=county)
    levels = {row["level"]: row["visits"] for row in reports.visits_by_leader_level(2027, county_id=county)}
    return report["enterprises_visited"], report["receptions"], levels


def test_edit_visit_changes_fields_audits_and_the_figures_follow(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        visit = interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW)
        reception = interactions.log_interaction(user(staff), RECEPTION, lead_id=lead_id, now=NOW)
        visited, received, levels = _figures()
        assert (visited["county_led"], visited["city_led"], received["visitors"]) == (1, 0, 12)
        interactions.update_interaction(user(staff), visit.id, {"leader_level": "city", "leader_name": "王市长"},
                                        now=NOW)
        interactions.update_interaction(user(staff), reception.id, {"visitor_count": 8}, now=NOW)
        visited, received, levels = _figures()
        assert (visited["county_led"], visited["city_led"], received["visitors"]) == (0, 1, 8)
        assert (levels["city"], levels["county"]) == (1, 0)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "interaction",
                                                           AuditEntry.object_id == visit.id,
                                                           AuditEntry.action == "update"))
        assert entry.before == {"leader_level": "county", "leader_name": "张县长"}
        assert entry.after == {"leader_level": "city", "leader_name": "王市长"}
        assert db.session.get(Interaction, visit.id).summary == VISIT["summary"]


def test_edit_visit_to_an_earlier_time_moves_the_last_contact_back(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        older = interactions.log_interaction(user(staff), dict(VISIT, occurred_at=NOW - timedelta(days=5)),
                                             lead_id=lead_id, now=NOW)
        latest = interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW)
        interactions.update_interaction(user(staff), latest.id, {"occurred_at": NOW - timedelta(days=7)}, now=NOW)
        assert db.session.get(Lead, lead_id).last_contacted_at == older.occurred_at
        interactions.update_interaction(user(staff), latest.id, {"occurred_at": None, "summary": "改"},
                                        now=NOW + timedelta(hours=1))
        assert db.session.get(Interaction, latest.id).occurred_at == NOW - timedelta(days=7)


def test_edit_refuses_what_logging_refuses(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        visit = interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW)
        for data, field in (({"leader_level": "none"}, "leader_name"), ({"visitor_count": 501}, "visitor_count"),
                            ({"summary": ""}, "summary")):
            with pytest.raises(InvalidInput) as exc:
                interactions.update_interaction(user(staff), visit.id, data, now=NOW)
            assert field in exc.value.errors
        db.session.remove()
        assert db.session.get(Interaction, visit.id).leader_level == "county"


def test_withdraw_keeps_the_visit_leaves_every_figure_and_cancels_its_next_step(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        first = interactions.log_interaction(user(staff), dict(VISIT, occurred_at=NOW - timedelta(days=3)),
                                             lead_id=lead_id, now=NOW)
        twice = interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW,
                                             followup={"title": "回访", "due_at": "2027-03-20T10:00"})
        reception = interactions.log_interaction(user(staff), RECEPTION, lead_id=lead_id, now=NOW)
        visited, received, levels = _figures(staff.county_id)
        assert (visited["total"], visited["county_led"], received["batches"], levels["county"]) == (1, 1, 1, 2)
        interactions.withdraw_interaction(user(staff), twice.id, "重复录入", now=NOW)
        interactions.withdraw_interaction(user(staff), reception.id, "录错客商", now=NOW)
        visited, received, levels = _figures(staff.county_id)
        assert (visited["total"], received["batches"], received["visitors"], levels["county"]) == (1, 0, 0, 1)
        withdrawn = db.session.get(Interaction, twice.id)
        assert (withdrawn.withdrawn_at, withdrawn.withdrawn_by_id, withdrawn.withdraw_reason) == (
            NOW, staff.id, "重复录入")
        assert db.session.scalar(select(Followup)).status == "cancelled"
        assert db.session.get(Lead, lead_id).last_contacted_at == first.occurred_at
        assert [i.id for i in db.session.scalars(interactions.interactions_query(lead_id=lead_id))] == [first.id]
        timeline = [e["item"].id for e in interactions.timeline(lead_id) if e["type"] == "interaction"]
        assert set(timeline) == {first.id, twice.id, reception.id}
        actions = list(db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "interaction", AuditEntry.object_id == twice.id)))
        assert actions == ["create", "withdraw"]


def test_withdraw_needs_a_reason_and_happens_once(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        visit = interactions.log_interaction(user(staff), VISIT, lead_id=lead_id, now=NOW)
        with pytest.raises(InvalidInput) as exc:
            interactions.withdraw_interaction(user(staff), visit.id, "  ", now=NOW)
        assert "reason" in exc.value.errors
        interactions.withdraw_interaction(user(staff), visit.id, "重复录入", now=NOW)
        with pytest.raises(Conflict):
            interactions.withdraw_interaction(user(staff), visit.id, "again", now=NOW)
        with pytest.raises(Conflict):
            interactions.update_interaction(user(staff), visit.id, {"summary": "改"}, now=NOW)


@pytest.mark.parametrize("who,allowed", [("author", True), ("same_county", True), ("other_county", False),
                                         ("city_staff", True), ("admin", True), ("viewer", False)])
def test_who_may_correct_or_withdraw_a_visit(app, make_user, who, allowed):
    author = make_user("county_staff", "610902")
    lead_id = _lead(app, author)
    others = {"author": author, "same_county": make_user("county_staff", "610902"),
              "other_county": make_user("county_staff", "610924"), "city_staff": make_user("city_staff", None),
              "admin": make_user("admin", None), "viewer": make_user("viewer", None)}
    with app.test_request_context():
        visit = interactions.log_interaction(user(author), VISIT, lead_id=lead_id, now=NOW)
        actor = user(others[who])
        assert can(actor, "interaction.edit", visit) is allowed
        assert can(actor, "interaction.withdraw", visit) is allowed
        if allowed:
            interactions.update_interaction(actor, visit.id, {"summary": "更正"}, now=NOW)
            interactions.withdraw_interaction(actor, visit.id, "重复录入", now=NOW)
        else:
            with pytest.raises(PermissionDenied):
                interactions.update_interaction(actor, visit.id, {"summary": "更正"}, now=NOW)
            with pytest.raises(PermissionDenied):
                interactions.withdraw_interaction(actor, visit.id, "重复录入", now=NOW)


# --- trips ---------------------------------------------------------------------------------------------------

TRIP = {"title": "京津冀招商考察", "leader_name": "市长", "leader_level": "city", "starts_on": "2027-03-15",
        "ends_on": "2027-03-19", "cities": "北京、廊坊"}


def test_trip_without_leader_but_with_a_leader_name_is_refused(app, make_user):
    staff = make_user("county_staff")
    with app.test_request_context(), pytest.raises(InvalidInput) as exc:
        trips.create_trip(user(staff), dict(TRIP, leader_level="none"), now=NOW)
    assert list(exc.value.errors) == ["leader_name"]


def test_update_trip_is_audited_and_lists_only_live_visits(app, make_user):
    staff, other = make_user("county_staff"), make_user("county_staff", "610924")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        trip = trips.create_trip(user(staff), TRIP, now=NOW)
        kept = interactions.log_interaction(user(staff), dict(VISIT, trip_id=trip.id), lead_id=lead_id, now=NOW)
        gone = interactions.log_interaction(user(staff), dict(VISIT, trip_id=trip.id), lead_id=lead_id, now=NOW)
        interactions.withdraw_interaction(user(staff), gone.id, "重复录入", now=NOW)
        assert [v.id for v in trips.trip_visits(trip.id)] == [kept.id]
        assert trips.lead_names(trips.trip_visits(trip.id)) == {lead_id: "恒信建设工程有限公司"}
        trips.update_trip(user(staff), trip.id, {"ends_on": "2027-03-20", "cities": "北京、廊坊、雄安"}, now=NOW)
        trip = db.session.get(Trip, trip.id)
        assert (trip.ends_on, trip.cities, trip.title) == (date(2027, 3, 20), "北京、廊坊、雄安", TRIP["title"])
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "trip",
                                                           AuditEntry.action == "update"))
        assert entry.after == {"ends_on": "2027-03-20", "cities": "北京、廊坊、雄安"}
        assert not can(user(other), "trip.edit", trip)
        with pytest.raises(PermissionDenied):
            trips.update_trip(user(other), trip.id, {"title": "改"}, now=NOW)
        with pytest.raises(InvalidInput):
            trips.update_trip(user(staff), trip.id, {"ends_on": "2027-03-01"}, now=NOW)
