"""Idempotent creates: a key replayed by the same user answers with the first record and creates nothing more —
also when the submissions race — while a failed create leaves the key free, keys are per user, a key reused for
a different request is refused, and old keys are purged by the job table."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import scheduler
from crm.extensions import db
from crm.models import Followup, IdempotencyKey, Interaction, Lead, Project, User
from crm.services import idempotency, interactions, leads
from crm.services.errors import InvalidInput

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
VISIT = {"kind": "visit", "summary": "拜访企业，介绍园区", "leader_level": "county", "leader_name": "张县长",
         "visitor_count": 3}
NEXT = {"title": "寄送园区资料", "due_at": "2027-03-20T10:00"}
KEY = "form-3f9a2c71d4e8"


def user(ref) -> User:
    return db.session.get(User, ref.id)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _lead(app, ref) -> int:
    with app.test_request_context():
        return leads.create_lead(user(ref), {"name": "恒信建设工程有限公司"}, now=NOW - timedelta(days=1)).id


def _log(ref, lead_id, key, **extra):
    data = dict(VISIT, **extra)
    return idempotency.create_once(user(ref), key, Interaction, lambda: interactions.log_interaction(
        user(ref), data, lead_id=lead_id, now=NOW, followup=NEXT), now=NOW)


def test_the_same_visit_submitted_three_times_is_one_visit_and_one_next_step(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        results = [_log(staff, lead_id, KEY) for _ in range(3)]
        assert [replayed for _record, replayed in results] == [False, True, True]
        assert len({record.id for record, _replayed in results}) == 1
        assert count(Interaction) == 1 and count(Followup) == 1
        key = db.session.scalar(select(IdempotencyKey))
        assert (key.user_id, key.scope, key.object_id) == (staff.id, "interactions", results[0][0].id)


def test_without_a_key_every_submission_creates(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        _log(staff, lead_id, None)
        _log(staff, lead_id, "")
        assert count(Interaction) == 2 and count(IdempotencyKey) == 0


def test_a_refused_create_leaves_the_key_free_for_the_corrected_form(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        with pytest.raises(InvalidInput):
            _log(staff, lead_id, KEY, summary="")
        db.session.remove()
        assert count(IdempotencyKey) == 0
        record, replayed = _log(staff, lead_id, KEY)
        assert not replayed and count(Interaction) == 1


def test_keys_belong_to_their_user(app, make_user):
    staff, colleague = make_user("county_staff"), make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        mine, _ = _log(staff, lead_id, KEY)
        theirs, replayed = _log(colleague, lead_id, KEY)
        assert not replayed and theirs.id != mine.id and count(Interaction) == 2


def test_a_key_reused_for_another_request_is_refused(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        idempotency.create_once(user(staff), KEY, Interaction, lambda: interactions.log_interaction(
            user(staff), VISIT, lead_id=lead_id, now=NOW), now=NOW, request_hash=idempotency.fingerprint({"a": 1}))
        with pytest.raises(InvalidInput) as exc:
            idempotency.create_once(user(staff), KEY, Interaction, lambda: None, now=NOW,
                                    request_hash=idempotency.fingerprint({"a": 2}))
        assert "idempotency_key" in exc.value.errors
        with pytest.raises(InvalidInput):  # the same key on another kind of record
            idempotency.create_once(user(staff), KEY, Project, lambda: None, now=NOW)
        assert count(Interaction) == 1


@pytest.mark.parametrize("key", ["short", "x" * 101, "含中文的键值abcdefgh", "a b c d e f g h", "<script>alert1"])
def test_a_malformed_key_is_refused(app, make_user, key):
    staff = make_user("county_staff")
    with app.test_request_context(), pytest.raises(InvalidInput) as exc:
        idempotency.create_once(user(staff), key, Interaction, lambda: None, now=NOW)
    assert "idempotency_key" in exc.value.errors


def test_concurrent_submissions_of_one_key_create_one_record(app, make_user):
    """Two requests at once (a double tap on a slow line): the unique constraint lets one create."""
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    start, results, errors = threading.Barrier(3), [], []

    def submit():
        try:
            with app.app_context():
                start.wait(timeout=10)
                record, replayed = _log(staff, lead_id, KEY)
                results.append((record.id, replayed))
                db.session.remove()
        except Exception as exc:  # reported below, with the thread's exception
            errors.append(repr(exc))

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert sorted(replayed for _id, replayed in results) == [False, True, True]
    assert len({record_id for record_id, _replayed in results}) == 1
    with app.app_context():
        assert count(Interaction) == 1 and count(Followup) == 1


def test_the_job_table_purges_keys_older_than_a_day(app, make_user):
    staff = make_user("county_staff")
    lead_id = _lead(app, staff)
    with app.test_request_context():
        _log(staff, lead_id, KEY)
    scheduler.run_job(app, scheduler.JOBS_BY_ID["purge_idempotency_keys"], NOW + timedelta(hours=23))
    with app.app_context():
        assert count(IdempotencyKey) == 1
    scheduler.run_job(app, scheduler.JOBS_BY_ID["purge_idempotency_keys"], NOW + timedelta(hours=25))
    with app.app_context():
        assert count(IdempotencyKey) == 0
        assert count(Lead) == 1 and count(Interaction) == 1
