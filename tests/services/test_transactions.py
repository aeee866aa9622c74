"""How SQLite transactions begin (crm.transactions): writes IMMEDIATE and never lost, reads deferred and never held
up by a writer. Acknowledged writes are counted against the database (DESIGN.md §12: never trust "no errors")."""
from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from crm.extensions import db
from crm.models import JobRun
from crm.transactions import WriteInReadTransaction, reading, writing


@pytest.fixture
def sqlite_only(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("how transactions begin matters on SQLite only")
        return db.engine.url.database


def _held_write_lock(path: str) -> sqlite3.Connection:
    """Another process's writer, as the upload being parsed inside its transaction used to be."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_concurrent_read_then_write_transactions_lose_no_write_and_fail_none(app, sqlite_only):
    with app.app_context():
        db.session.add(JobRun(job_id="counter", last_error=""))
        db.session.commit()
    acknowledged, failures = [], []
    start = threading.Barrier(4)

    def work(n: int) -> None:
        with app.app_context():
            start.wait()
            for i in range(25):
                try:
                    row = db.session.get(JobRun, "counter")  # read …
                    row.last_error = (row.last_error or "") + "x"  # … then write what was read, plus one
                    db.session.commit()
                    acknowledged.append((n, i))
                except Exception as exc:  # noqa: BLE001  (counted, not hidden)
                    db.session.rollback()
                    failures.append(repr(exc))
            db.session.remove()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        stored = len(db.session.get(JobRun, "counter").last_error)
    assert failures == []
    assert stored == len(acknowledged) == 100


def test_a_page_is_read_while_another_process_holds_the_write_lock(app, sqlite_only, login_as, api_client):
    client, api = login_as("county_staff"), api_client("county_staff")
    assert api.get("/api/v1/leads").status_code == 200  # its token's last use touched: no write for a minute
    writer = _held_write_lock(sqlite_only)
    try:
        response = client.get("/leads")
        api_response = api.get("/api/v1/leads")
    finally:
        writer.rollback()
        writer.close()
    assert response.status_code == 200 and "客商" in response.get_data(as_text=True)
    assert api_response.status_code == 200


def test_a_form_post_still_takes_the_write_lock_at_its_first_read(app, sqlite_only):
    from crm.transactions import reading_now

    with app.test_request_context("/leads/new", method="POST"):
        assert not reading_now()
    with app.app_context(), reading():
        assert reading_now()
        with writing():
            assert not reading_now()


def test_a_write_in_a_read_transaction_is_flagged(app, sqlite_only):
    with app.app_context():
        db.session.add(JobRun(job_id="flag", last_error=""))
        db.session.commit()
        with reading(), pytest.warns(WriteInReadTransaction):
            db.session.scalar(select(JobRun).where(JobRun.job_id == "flag"))
            try:
                db.session.execute(update(JobRun).where(JobRun.job_id == "flag").values(last_error="y"))
            finally:
                db.session.rollback()


def _commit_elsewhere(app) -> None:
    with app.app_context():
        db.session.execute(update(JobRun).where(JobRun.job_id == "seen").values(last_error="changed"))
        db.session.commit()
        db.session.remove()


def test_writing_inside_a_read_ends_the_read_and_commits_while_another_reader_is_open(app, sqlite_only):
    """A download's audit entry in a GET: the read began deferred, the entry goes in a write transaction."""
    from crm.services import audit

    with app.app_context():
        db.session.add(JobRun(job_id="seen", last_error=""))
        db.session.commit()
    with app.app_context(), reading():
        db.session.get(JobRun, "seen")
        other = threading.Thread(target=_commit_elsewhere, args=(app,))  # another user commits meanwhile:
        other.start()                                                      # the read's snapshot is now stale
        other.join()
        audit.record_read(None, "export", "lead", None, summary="leads.csv (0)")
    with app.app_context():
        from crm.models import AuditEntry

        assert db.session.scalar(select(AuditEntry.summary)) == "leads.csv (0)"


def test_scheduler_jobs_run_while_the_search_index_is_rebuilt(app, sqlite_only, monkeypatch):
    """`crm serve` on a large city: the reconcile on start rebuilds the index (minutes of reading) while the
    scheduler catches up. The rebuild's read held the write lock, and the catch-up died "database is locked"."""
    from crm import scheduler
    from crm.services import indexing

    real_documents = indexing.all_documents
    mid_rebuild, job_done = threading.Event(), threading.Event()

    def paused_documents(*args, **kwargs):  # the real documents, with a pause after the first one
        for n, doc in enumerate(real_documents(*args, **kwargs)):
            yield doc
            if n == 0:
                mid_rebuild.set()
                job_done.wait(timeout=60)

    monkeypatch.setattr(indexing, "all_documents", paused_documents)
    with app.app_context():
        from crm.models import County

        county = db.session.scalar(select(County.id))
        from crm.models import Lead

        db.session.add(Lead(kind="enterprise", name="重建期间企业", name_key="重建期间企业", owner_county_id=county,
                            status="new", created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
        db.session.commit()
    errors = []

    def rebuild():
        with app.app_context():
            try:
                indexing.rebuild()
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                mid_rebuild.set()
            finally:
                db.session.remove()

    thread = threading.Thread(target=rebuild)
    thread.start()
    try:
        assert mid_rebuild.wait(timeout=60)
        ran = scheduler.catch_up(app, datetime.now(UTC))
    finally:
        job_done.set()
        thread.join(timeout=120)
    assert errors == []
    assert "due_soon_reminders" in ran and "dispatch_outbox" in ran
    with app.app_context():
        recorded = {r.job_id: r.last_error for r in db.session.scalars(select(JobRun))}
    assert recorded["due_soon_reminders"] is None
