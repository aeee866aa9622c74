"""Follow-up rules: validation, assignment limits, permissions by county, completion, hand-off, buckets,
bulk changes and the reminders the scheduler plans."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.extensions import db
from crm.models import (
    ClaimConflict,
    Followup,
    FollowupStatus,
    Handoff,
    Interaction,
    Lead,
    Notification,
    Role,
    User,
)
from crm.services import followups, reminders
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can

NOW = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Ankang
COVERED_ACTIONS = {"followup.view", "followup.create", "followup.edit", "followup.complete", "followup.cancel",
                   "followup.handoff", "followup.accept", "followup.board", "followup.overview"}


def make_lead(app, county_code="610902", **extra) -> int:
    from crm.services.counties import county_by_code

    with app.app_context():
        lead = Lead(name=extra.pop("name", "陕西富硒食品有限公司"), owner_county_id=county_by_code(county_code).id,
                    **extra)
        db.session.add(lead)
        db.session.commit()
        return lead.id


def make_followup(app, actor_id: int, lead_id: int, *, now=NOW, **data) -> int:
    data.setdefault("title", "电话回访")
    data.setdefault("due_at", now + timedelta(days=1))
    with app.test_request_context():
        fu = followups.create_followup(db.session.get(User, actor_id), dict(data, lead_id=lead_id), now=now)
        return fu.id


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def notes_of(user_id: int, kind: str | None = None) -> list[Notification]:
    stmt = db.select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


@pytest.fixture
def lead_id(app):
    return make_lead(app)


# --- the permission matrix ------------------------------------------------------------------------------

def _actor(role: str) -> User:
    county = {"county_staff": 1, "city_staff": 100}.get(role)
    return User(id=10, username=role, display_name=role, role=role, county_id=county, is_active_user=True,
                password_hash="!")


OBJECTS = {
    "mine": dict(assignee_id=10, county_id=1, assigned_by_id=12),
    "colleague": dict(assignee_id=11, county_id=1, assigned_by_id=12),
    "assigned_by_me": dict(assignee_id=11, county_id=1, assigned_by_id=10),
    "inbox": dict(assignee_id=None, county_id=1, assigned_by_id=20, handoff=Handoff.PENDING.value),
    "other_county": dict(assignee_id=30, county_id=2, assigned_by_id=31),
}
ALL = {"admin", "city_staff", "county_staff", "viewer"}
CITY = {"admin", "city_staff"}
MATRIX = {
    ("followup.view", "mine"): ALL, ("followup.view", "colleague"): ALL, ("followup.view", "inbox"): ALL,
    ("followup.view", "other_county"): CITY | {"viewer"},
    ("followup.create", None): CITY | {"county_staff"},
    ("followup.edit", "mine"): CITY | {"county_staff"}, ("followup.edit", "colleague"): CITY,
    ("followup.edit", "assigned_by_me"): CITY | {"county_staff"}, ("followup.edit", "inbox"): CITY | {"county_staff"},
    ("followup.edit", "other_county"): CITY,
    ("followup.complete", "mine"): CITY | {"county_staff"}, ("followup.complete", "colleague"): CITY,
    ("followup.complete", "inbox"): CITY | {"county_staff"}, ("followup.complete", "other_county"): CITY,
    ("followup.cancel", "mine"): CITY, ("followup.cancel", "assigned_by_me"): CITY | {"county_staff"},
    ("followup.cancel", "other_county"): CITY,
    ("followup.handoff", "mine"): CITY, ("followup.handoff", "other_county"): CITY,
    ("followup.accept", "inbox"): {"admin", "county_staff"}, ("followup.accept", "other_county"): {"admin"},
    ("followup.board", 1): ALL, ("followup.board", 2): CITY | {"viewer"},
    ("followup.overview", None): CITY | {"viewer"},
}


@pytest.mark.parametrize("action,target", sorted(MATRIX, key=str))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_action_matrix(role, action, target):
    obj = Followup(**OBJECTS[target]) if isinstance(target, str) else target
    assert can(_actor(role), action, obj) is (role in MATRIX[(action, target)])


def test_county_viewer_sees_only_their_county():
    viewer = User(id=5, username="v", display_name="v", role="viewer", county_id=1, is_active_user=True,
                  password_hash="!")
    assert can(viewer, "followup.view", Followup(**OBJECTS["colleague"]))
    assert not can(viewer, "followup.view", Followup(**OBJECTS["other_county"]))
    assert not can(viewer, "followup.overview") and not can(viewer, "followup.board", 2)


# --- creating ------------------------------------------------------------------------------------------

def test_create_followup_for_colleague_notifies_assignee(app, make_user, lead_id):
    boss, worker = make_user("county_staff"), make_user("county_staff")
    with app.test_request_context():
        fu = followups.create_followup(user(boss.id), {"title": "回访", "due_at": "2027-03-11T09:00",
                                                       "lead_id": lead_id, "assignee_id": worker.id}, now=NOW)
        assert fu.due_at == datetime(2027, 3, 11, 1, 0, tzinfo=UTC)  # a bare time is Asia/Shanghai time
        assert fu.county_id == worker.county_id and fu.assigned_by_id == boss.id
        assert [n.kind for n in notes_of(worker.id)] == ["assigned"]
        assert notes_of(boss.id) == []


def test_add_followup_with_bad_input_reports_each_field(app, make_user):
    staff = make_user("county_staff")
    with app.test_request_context():
        with pytest.raises(InvalidInput) as info:
            followups.add_followup(user(staff.id), {"title": "x" * 201, "due_at": "tomorrow", "lead_id": 999999},
                                   now=NOW)
        assert {"title", "due_at", "lead_id", "assignee_id"} <= set(info.value.errors)
        with pytest.raises(InvalidInput) as info:
            followups.add_followup(user(staff.id), {"title": "a\x00b", "due_at": NOW, "assignee_id": staff.id},
                                   now=NOW)
        assert {"title", "lead_id"} <= set(info.value.errors)
        assert db.session.scalar(db.select(db.func.count(Followup.id))) == 0


def test_add_followup_on_deleted_lead_is_refused(app, make_user):
    staff = make_user("county_staff")
    gone = make_lead(app, deleted_at=NOW)
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        followups.add_followup(user(staff.id), {"title": "t", "due_at": NOW, "lead_id": gone,
                                                "assignee_id": staff.id}, now=NOW)
    assert "lead_id" in info.value.errors


def test_add_followup_by_county_staff_to_other_county_is_refused(app, make_user, lead_id):
    staff, other = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    with app.test_request_context():
        for data, field in (({"assignee_id": other.id}, "assignee_id"), ({"county_id": other.county_id}, "county_id")):
            with pytest.raises(InvalidInput) as info:
                followups.add_followup(user(staff.id), dict(data, title="t", due_at=NOW, lead_id=lead_id), now=NOW)
            assert field in info.value.errors


def test_add_followup_to_inactive_user_is_refused(app, make_user, lead_id):
    staff, gone = make_user("county_staff"), make_user("county_staff", is_active_user=False)
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        followups.add_followup(user(staff.id), {"title": "t", "due_at": NOW, "lead_id": lead_id,
                                                "assignee_id": gone.id}, now=NOW)
    assert "assignee_id" in info.value.errors


def test_add_followup_does_not_commit(app, make_user, lead_id):
    staff = make_user("county_staff")
    with app.test_request_context():
        followups.add_followup(user(staff.id), {"title": "t", "due_at": NOW, "lead_id": lead_id,
                                                "assignee_id": staff.id}, now=NOW)
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count(Followup.id))) == 0


# --- who sees and changes what -------------------------------------------------------------------------

def test_county_staff_cannot_see_or_complete_other_countys_followups(app, make_user, lead_id):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    fid = make_followup(app, hanbin.id, lead_id, assignee_id=hanbin.id)
    with app.test_request_context():
        outsider = user(ziyang.id)
        with pytest.raises(NotFound):
            followups.get_followup(outsider, fid)
        with pytest.raises(NotFound):
            followups.complete_followup(outsider, fid, "done", now=NOW)
        with pytest.raises(NotFound):
            followups.update_followup(outsider, fid, {"title": "mine now"}, now=NOW)
        assert db.session.scalars(followups.followups_query(outsider, now=NOW)).all() == []
        assert db.session.get(Followup, fid).status == FollowupStatus.OPEN


def test_update_by_county_colleague_not_involved_is_forbidden(app, make_user, lead_id):
    boss, worker, colleague = (make_user("county_staff") for _ in range(3))
    fid = make_followup(app, boss.id, lead_id, assignee_id=worker.id)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            followups.update_followup(user(colleague.id), fid, {"title": "x"}, now=NOW)
        fu = followups.update_followup(user(worker.id), fid, {"title": "上门拜访", "priority": "high"}, now=NOW)
        assert (fu.title, fu.priority) == ("上门拜访", "high")


def test_update_reassign_notifies_new_assignee(app, make_user, lead_id):
    boss, first, second = (make_user("county_staff") for _ in range(3))
    fid = make_followup(app, boss.id, lead_id, assignee_id=first.id)
    with app.test_request_context():
        followups.update_followup(user(boss.id), fid, {"assignee_id": second.id}, now=NOW)
        assert db.session.get(Followup, fid).assignee_id == second.id
        assert [n.kind for n in notes_of(second.id)] == ["assigned"]


# --- completing ----------------------------------------------------------------------------------------

def test_complete_writes_interaction_and_tells_assigner(app, make_user, lead_id):
    boss, worker = make_user("county_staff"), make_user("county_staff")
    fid = make_followup(app, boss.id, lead_id, assignee_id=worker.id)
    with app.test_request_context():
        fu = followups.complete_followup(user(worker.id), fid, "对方同意下周来访", kind="visit", now=NOW)
        assert (fu.status, fu.completed_by_id, fu.completed_at) == ("done", worker.id, NOW)
        interaction = db.session.get(Interaction, fu.result_interaction_id)
        assert (interaction.lead_id, interaction.kind, interaction.outcome) == (lead_id, "visit", "对方同意下周来访")
        assert interaction.occurred_at == NOW and interaction.created_by_id == worker.id
        assert db.session.get(Lead, lead_id).last_contacted_at == NOW
        assert [n.kind for n in notes_of(boss.id)] == ["completed"]
        with pytest.raises(Conflict):
            followups.complete_followup(user(worker.id), fid, "again", now=NOW)


def test_completing_a_followup_brings_the_leads_search_document_up_to_date(app, make_user, lead_id):
    """The interaction a completion logs is part of the lead's document (found by bench/load.py: the index was
    left stale until the next reconcile)."""
    from crm.services import indexing

    staff = make_user("county_staff")
    fid = make_followup(app, staff.id, lead_id, assignee_id=staff.id, title="回访魔芋加工厂")
    with app.test_request_context():
        indexing.reconcile()
        followups.complete_followup(user(staff.id), fid, "已约定考察时间", now=NOW)
        assert indexing.drift() == {"missing": [], "stale": [], "extra": []}
        hits = indexing.search_leads(user(staff.id), "考察时间")["items"]
        assert [(h["type"], h["id"]) for h in hits] == [("lead", lead_id)]


def test_complete_and_schedule_next_creates_linked_followup(app, make_user, lead_id):
    staff = make_user("county_staff")
    fid = make_followup(app, staff.id, lead_id, assignee_id=staff.id, priority="high")
    with app.test_request_context():
        followups.complete_followup(user(staff.id), fid, "需要报价", now=NOW,
                                    next={"title": "发送报价", "due_at": NOW + timedelta(days=3)})
        nxt = followups.next_followup(db.session.get(Followup, fid))
        assert (nxt.title, nxt.previous_id, nxt.lead_id, nxt.assignee_id, nxt.priority) == (
            "发送报价", fid, lead_id, staff.id, "high")


def test_complete_with_bad_next_changes_nothing(app, make_user, lead_id):
    staff = make_user("county_staff")
    fid = make_followup(app, staff.id, lead_id, assignee_id=staff.id)
    with app.test_request_context():
        with pytest.raises(InvalidInput) as info:
            followups.complete_followup(user(staff.id), fid, "ok", now=NOW, next={"title": "", "due_at": "nope"})
        assert {"next_title", "next_due_at"} <= set(info.value.errors)
        db.session.expire_all()
        assert db.session.get(Followup, fid).status == "open"
        assert db.session.scalar(db.select(db.func.count(Interaction.id))) == 0
        with pytest.raises(InvalidInput) as info:
            followups.complete_followup(user(staff.id), fid, "   ", now=NOW)
        assert "outcome" in info.value.errors


def test_cancel_by_assignee_is_forbidden_by_assigner_allowed(app, make_user, lead_id):
    boss, worker = make_user("county_staff"), make_user("county_staff")
    fid = make_followup(app, boss.id, lead_id, assignee_id=worker.id)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            followups.cancel_followup(user(worker.id), fid, now=NOW)
        assert followups.cancel_followup(user(boss.id), fid, now=NOW, reason="客商已签约").status == "cancelled"


# --- hand-off ------------------------------------------------------------------------------------------

def test_handoff_accept_with_take_assigns_to_accepting_staff(app, make_user, lead_id):
    city, county = make_user("city_staff"), make_user("county_staff", "610902")
    fid = make_followup(app, city.id, lead_id, county_id=county.county_id)
    with app.test_request_context():
        fu = db.session.get(Followup, fid)
        assert (fu.handoff, fu.assignee_id) == ("pending", None)
        assert [n.kind for n in notes_of(county.id)] == ["assigned"]
        fu = followups.accept_followup(user(county.id), fid, take=True, now=NOW)
        assert (fu.handoff, fu.assignee_id) == ("accepted", county.id)
        assert [n.kind for n in notes_of(city.id)] == ["accepted"]
        with pytest.raises(Conflict):
            followups.accept_followup(user(county.id), fid, now=NOW)


def test_handoff_return_needs_reason_and_goes_back_to_assigner(app, make_user, lead_id):
    city, county = make_user("city_staff"), make_user("county_staff", "610902")
    other = make_user("county_staff", "610924")
    fid = make_followup(app, city.id, lead_id, assignee_id=city.id)
    with app.test_request_context():
        followups.handoff_followup(user(city.id), fid, county.county_id, now=NOW)
        with pytest.raises(NotFound):
            followups.return_followup(user(other.id), fid, "不是我们的", now=NOW)
        with pytest.raises(InvalidInput):
            followups.return_followup(user(county.id), fid, " ", now=NOW)
        fu = followups.return_followup(user(county.id), fid, "客商已迁往紫阳县", now=NOW)
        assert (fu.handoff, fu.return_reason, fu.county_id) == ("returned", "客商已迁往紫阳县", None)
        assert [f.id for f in followups.my_followups(user(city.id), NOW)["later"]] == []
        mine = [f.id for b in followups.my_followups(user(city.id), NOW).values() for f in b]
        assert mine == [fid]
        assert [n.kind for n in notes_of(city.id)] == ["returned"]
        assert followups.my_followups(user(county.id), NOW) == {b: [] for b in followups.BUCKETS}


def test_handoff_by_county_staff_is_forbidden(app, make_user, lead_id):
    staff = make_user("county_staff")
    fid = make_followup(app, staff.id, lead_id, assignee_id=staff.id)
    with app.test_request_context(), pytest.raises(PermissionDenied):
        followups.handoff_followup(user(staff.id), fid, staff.county_id, now=NOW)


# --- lists ---------------------------------------------------------------------------------------------

def test_my_followups_buckets_by_shanghai_days(app, make_user, lead_id):
    staff = make_user("county_staff")
    local = followups.TZ
    due = {
        "yesterday": datetime(2027, 3, 9, 18, 0, tzinfo=local),
        "this morning": datetime(2027, 3, 10, 9, 0, tzinfo=local),
        "tonight": datetime(2027, 3, 10, 23, 59, tzinfo=local),
        "tomorrow": datetime(2027, 3, 11, 0, 0, tzinfo=local),
        "sunday": datetime(2027, 3, 14, 20, 0, tzinfo=local),
        "next monday": datetime(2027, 3, 15, 0, 0, tzinfo=local),
    }
    for title, when in due.items():
        make_followup(app, staff.id, lead_id, title=title, due_at=when, assignee_id=staff.id)
    with app.test_request_context():
        buckets = followups.my_followups(user(staff.id), NOW)
        assert {k: [f.title for f in v] for k, v in buckets.items()} == {
            "overdue": ["yesterday", "this morning"], "today": ["tonight"], "week": ["tomorrow", "sunday"],
            "later": ["next monday"]}


def test_county_board_and_city_overview_count_per_county(app, make_user, lead_id):
    city, a, b = make_user("city_staff"), make_user("county_staff"), make_user("county_staff")
    make_followup(app, city.id, lead_id, assignee_id=a.id, due_at=NOW - timedelta(days=1))
    done_id = make_followup(app, city.id, lead_id, assignee_id=b.id, due_at=NOW + timedelta(days=1))
    make_followup(app, city.id, lead_id, county_id=a.county_id)
    with app.test_request_context():
        followups.complete_followup(user(b.id), done_id, "ok", now=NOW)
        board = followups.county_board(user(a.id), a.county_id, NOW)
        assert len(board["handoffs"]) == 1 and board["overdue"] == 1
        assert [(u.id, len(items), late) for u, items, late in board["people"]] == [(a.id, 1, 1)]
        rows = {r["county"].id: r for r in followups.city_overview(user(city.id), NOW)}
        assert (rows[a.county_id]["open"], rows[a.county_id]["overdue"], rows[a.county_id]["done"],
                rows[a.county_id]["on_time_pct"]) == (2, 1, 1, 100)
        with pytest.raises(PermissionDenied):
            followups.city_overview(user(a.id), NOW)


def test_bulk_assign_is_all_or_nothing(app, make_user, lead_id):
    boss, worker, colleague = (make_user("county_staff") for _ in range(3))
    own = make_followup(app, boss.id, lead_id, assignee_id=boss.id)
    foreign = make_followup(app, colleague.id, lead_id, assignee_id=colleague.id)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            followups.bulk_assign(user(boss.id), [own, foreign], {"assignee_id": worker.id}, now=NOW)
        db.session.expire_all()
        assert db.session.get(Followup, own).assignee_id == boss.id
        assert followups.bulk_assign(user(boss.id), [own], {"assignee_id": worker.id}, now=NOW) == 1
        assert db.session.get(Followup, own).assignee_id == worker.id


def test_bulk_reschedule_moves_due_time(app, make_user, lead_id):
    staff = make_user("county_staff")
    ids = [make_followup(app, staff.id, lead_id, assignee_id=staff.id) for _ in range(2)]
    with app.test_request_context():
        assert followups.bulk_reschedule(user(staff.id), ids, "2027-04-01T09:30", now=NOW) == 2
        assert {db.session.get(Followup, i).due_at for i in ids} == {datetime(2027, 4, 1, 1, 30, tzinfo=UTC)}
        with pytest.raises(InvalidInput):
            followups.bulk_reschedule(user(staff.id), ids, "", now=NOW)


# --- reminders -----------------------------------------------------------------------------------------

def test_due_soon_reminder_is_planned_once_per_task_and_day(app, make_user, lead_id):
    """A rescheduled task is not announced again the same day (issue 14 #9: notifications repeated); the next
    Ankang day it may be, and the older unread one then stops counting."""
    staff = make_user("county_staff")
    fid = make_followup(app, staff.id, lead_id, assignee_id=staff.id, due_at=NOW + timedelta(hours=5))
    make_followup(app, staff.id, lead_id, assignee_id=staff.id, due_at=NOW + timedelta(hours=60))
    with app.test_request_context():
        assert reminders.plan_due_soon_reminders(NOW, hours=24) == 1
        assert reminders.plan_due_soon_reminders(NOW + timedelta(minutes=5), hours=24) == 0
        followups.bulk_reschedule(user(staff.id), [fid], NOW + timedelta(hours=8), now=NOW)
        assert reminders.plan_due_soon_reminders(NOW + timedelta(minutes=10), hours=24) == 0
        tomorrow = NOW + timedelta(days=1)
        followups.bulk_reschedule(user(staff.id), [fid], tomorrow + timedelta(hours=8), now=tomorrow)
        assert reminders.plan_due_soon_reminders(tomorrow, hours=24) == 1
        notes = notes_of(staff.id, "due_soon")
        assert len(notes) == 2 and notes[0].read_at is not None and notes[1].read_at is None


def test_closing_a_task_settles_its_reminders(app, make_user, lead_id):
    staff, boss = make_user("county_staff"), make_user("county_staff")
    fid = make_followup(app, boss.id, lead_id, assignee_id=staff.id, due_at=NOW - timedelta(days=5))
    with app.test_request_context():
        reminders.plan_overdue_notices(NOW, escalate_days=2)
        assert [n.read_at for n in notes_of(staff.id, "overdue")] == [None]
        followups.complete_followup(user(staff.id), fid, "已联系", now=NOW + timedelta(hours=1))
        assert all(n.read_at is not None for n in notes_of(staff.id, "overdue") + notes_of(boss.id, "escalation"))
        assert reminders.plan_overdue_notices(NOW + timedelta(days=1), escalate_days=2) == 0


def test_overdue_notice_then_escalation_after_m_days(app, make_user, lead_id):
    boss, worker = make_user("county_staff"), make_user("county_staff")
    make_followup(app, boss.id, lead_id, assignee_id=worker.id, due_at=NOW - timedelta(hours=1))
    with app.test_request_context():
        assert reminders.plan_overdue_notices(NOW, escalate_days=3) == 1
        assert [n.kind for n in notes_of(worker.id)] == ["assigned", "overdue"]
        assert reminders.plan_overdue_notices(NOW + timedelta(days=2), escalate_days=3) == 0
        assert reminders.plan_overdue_notices(NOW + timedelta(days=3), escalate_days=3) == 1
        escalation = notes_of(boss.id, "escalation")
        assert len(escalation) == 1 and "用户" in escalation[0].body


def test_morning_digest_lists_due_today_overdue_new_and_conflicts(app, make_user, lead_id):
    boss, worker, city = make_user("county_staff"), make_user("county_staff"), make_user("city_staff")
    make_followup(app, boss.id, lead_id, title="今天回访", assignee_id=worker.id, due_at=NOW + timedelta(hours=3))
    make_followup(app, boss.id, lead_id, title="逾期的事", assignee_id=worker.id, due_at=NOW - timedelta(days=2))
    with app.app_context():
        db.session.add(ClaimConflict(lead_id=lead_id, claimant_county_id=boss.county_id, status="open"))
        db.session.commit()
    with app.test_request_context():
        digest = reminders.digest_for(user(worker.id), NOW)
        assert [f.title for f in digest["today"]] == ["今天回访"]
        assert [f.title for f in digest["overdue"]] == ["逾期的事"]
        assert len(digest["new"]) == 2 and digest["conflicts"] == 0
        assert reminders.digest_for(user(city.id), NOW)["conflicts"] == 1
        assert reminders.plan_morning_digests(NOW) == 2  # worker, city (conflicts); boss has nothing
        assert reminders.plan_morning_digests(NOW + timedelta(hours=2)) == 0
        body = notes_of(worker.id, "digest")[0].body
        assert "今天回访" in body and "逾期的事" in body


def test_silent_key_lead_alarms_owner_once(app, make_user):
    owner, county_peer = make_user("county_staff"), make_user("county_staff")
    silent = make_lead(app, is_key=True, owner_id=owner.id, last_contacted_at=NOW - timedelta(days=40))
    make_lead(app, is_key=True, last_contacted_at=NOW - timedelta(days=5))
    make_lead(app, is_key=False, last_contacted_at=NOW - timedelta(days=90))
    orphan = make_lead(app, is_key=True, last_contacted_at=NOW - timedelta(days=60))
    with app.test_request_context():
        assert reminders.plan_silent_lead_alarms(NOW, days=30) == 3  # owner; both county staff for the orphan
        assert reminders.plan_silent_lead_alarms(NOW + timedelta(days=1), days=30) == 0
        assert {n.link for n in notes_of(owner.id)} == {f"/leads/{silent}", f"/leads/{orphan}"}
        assert [n.link for n in notes_of(county_peer.id)] == [f"/leads/{orphan}"]
