"""Short fault drills on real processes (the server and the scheduler as subprocesses, a real SMTP server):
kill -9 during writes, kill the scheduler between claiming and sending, SMTP down then up. bench/faults.py
runs the same drills longer, and PostgreSQL restarts under load.

SQLite only: the PostgreSQL pass of CI skips these (the drills do not depend on the database, and the
restart drill needs a PostgreSQL of its own)."""
from __future__ import annotations

import os
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.harness import CountingSMTP, Instance, api, free_port, wait_for, write_stream

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(bool(os.environ.get("CRM_TEST_DATABASE_URL")), reason="fault drills run in the SQLite pass"),
]


@pytest.fixture(scope="module")
def smtp():
    server = CountingSMTP().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def instance(smtp):
    inst = Instance(mail_port=smtp.port)
    try:
        inst.seed()
        inst.tokens = {name: inst.token(name) for name in ("city", "hanbin")}
        yield inst
    finally:
        inst.close()


def test_kill_9_during_writes_then_the_reconcile_on_start_makes_index_and_database_agree(instance):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    token = instance.tokens["hanbin"]
    server = instance.serve(port)
    wait_for(lambda: instance.drift()["exit"] == 0, timeout=120, what="the first reconcile to fill the index")
    lead_ids = [row[0] for row in instance.query("SELECT id FROM leads WHERE deleted_at IS NULL LIMIT 40")]
    acked: list = []
    failures: list = []
    stop = threading.Event()
    writers = [threading.Thread(target=write_stream, args=(base, token, lead_ids, acked, failures, stop, n))
               for n in range(4)]
    for w in writers:
        w.start()
    try:
        wait_for(lambda: len(acked) >= 40, timeout=120, what="40 acknowledged writes")
        instance.kill9(server)  # mid-stream: some requests are cut off, some commits never reach the index
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=60)
    assert [f for f in failures if isinstance(f, int)] == []  # refused writes: none; only cut-off connections
    # Every acknowledged write is in the database.
    ids = [i for i, _s in acked]
    stored = dict(instance.query(f"SELECT id, summary FROM interactions WHERE id IN ({','.join('?' * len(ids))})",
                                 ids))
    assert {i: s for i, s in acked} == {i: stored.get(i) for i, _s in acked}
    # A change the index cannot have seen (as if the process died between the commit and the index update).
    lead_id = lead_ids[0]
    instance.execute("INSERT INTO interactions (lead_id, kind, occurred_at, summary, leader_level, visitor_count,"
                     " created_at, updated_at) VALUES (?, 'visit', ?, '断电演练蜂蜜加工', 'none', 0, ?, ?)",
                     (lead_id, *[datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")] * 3))
    assert instance.drift()["stale"] >= 1
    server = instance.serve(port, log_name="server2.log")  # reconcile_in_background on start
    try:
        wait_for(lambda: instance.drift()["exit"] == 0, timeout=120, what="the reconcile on start")
        status, body = api(base, token, "GET", "/api/v1/search?q=" + urllib.parse.quote("蜂蜜加工"))
        assert status == 200 and ("lead", lead_id) in {(h["type"], h["id"]) for h in body["items"]}
    finally:
        instance.stop(server)


def outbox(instance) -> list[tuple]:
    return instance.query("SELECT id, sent_at IS NOT NULL, claimed_at IS NOT NULL, attempts, gave_up_at IS NOT NULL"
                          " FROM outbox_messages WHERE channel = 'email' ORDER BY id")


def dispatch_at(instance, when: datetime) -> str:
    return instance.flask("crm", "run-jobs", "--only", "dispatch_outbox", "--now", when.isoformat()).stdout


def assert_each_sent_once(instance, smtp) -> None:
    rows = outbox(instance)
    counts = smtp.counts()
    assert rows and all(sent for _i, sent, *_rest in rows)
    assert {str(i): 1 for i, *_rest in rows} == {k: v for k, v in counts.items() if k in {str(i) for i, *_ in rows}}
    assert set(counts) <= {str(i) for i, *_rest in rows}, "a message the outbox does not know"
    assert max(counts.values()) == 1


def test_scheduler_killed_between_claim_and_send_delivers_each_reminder_once(instance, smtp):
    # A scheduler that never ran before (other drills' `run-jobs --now <later>` recorded runs in the future).
    instance.execute("DELETE FROM job_runs")
    smtp.hold_next = True  # the first message stalls inside DATA: claimed, not yet accepted by the server
    scheduler = instance.scheduler()
    try:
        wait_for(smtp.held.is_set, timeout=120, what="the scheduler to start sending")
        instance.kill9(scheduler)
    finally:
        smtp.release()
        instance.stop(scheduler)
    rows = outbox(instance)
    assert len(rows) >= 5, "the demo city plans reminders by e-mail"
    in_flight = [i for i, sent, claimed, *_ in rows if claimed and not sent]
    assert len(in_flight) == 1 and str(in_flight[0]) not in smtp.counts(), "killed with one message in flight"
    scheduler = instance.scheduler(log_name="scheduler2.log")
    try:  # catch-up dispatches again (its last run was never recorded); the dead claim keeps its 5-minute lease
        wait_for(lambda: instance.query("SELECT 1 FROM job_runs WHERE job_id = 'dispatch_outbox'"),
                 timeout=120, what="the restarted scheduler's catch-up dispatch")
    finally:
        instance.stop(scheduler)
    assert str(in_flight[0]) not in smtp.counts()
    later = datetime.now(UTC) + timedelta(minutes=6)  # past the lease of the dead worker's claim
    for minutes in range(3):  # at most 100 a pass; the last pass finds nothing left: nothing sent twice
        dispatch_at(instance, later + timedelta(minutes=minutes))
    assert_each_sent_once(instance, smtp)


def test_smtp_down_then_up_retries_with_backoff_and_delivers_once(instance, smtp):
    now = datetime.now(UTC) + timedelta(minutes=10)
    before = {i for i, *_ in outbox(instance)}
    city, hanbin = instance.tokens["city"], instance.tokens["hanbin"]
    # A follow-up the city assigns to hanbin: an "assigned" notification with an e-mail to hanbin.
    smtp.stop()
    port = free_port()
    server = instance.serve(port, log_name="server3.log")
    try:
        status, user = api(f"http://127.0.0.1:{port}", hanbin, "GET", "/api/v1/me")
        lead = instance.query("SELECT id FROM leads WHERE deleted_at IS NULL ORDER BY id LIMIT 1")[0][0]
        status, body = api(f"http://127.0.0.1:{port}", city, "POST", "/api/v1/followups", {
            "title": "邮件故障演练：回访", "lead_id": lead, "assignee_id": user["id"],
            "due_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()})
        assert status == 201, body
    finally:
        instance.stop(server)
    new = [i for i, *_ in outbox(instance) if i not in before]
    assert new, "assigning a follow-up plans an e-mail"
    dispatch_at(instance, now)  # SMTP is down: each attempt fails and is put off by backoff
    rows = {i: (sent, attempts) for i, sent, _c, attempts, _g in outbox(instance) if i in new}
    assert all(not sent and attempts == 1 for sent, attempts in rows.values())
    dispatch_at(instance, now + timedelta(seconds=30))  # inside the backoff: not tried again
    assert all(attempts == 1 for i, _s, _c, attempts, _g in outbox(instance) if i in new)
    smtp.start()  # the same port, back up
    dispatch_at(instance, now + timedelta(minutes=1, seconds=5))
    dispatch_at(instance, now + timedelta(minutes=5))
    rows = {i: (sent, attempts) for i, sent, _c, attempts, _g in outbox(instance) if i in new}
    assert all(sent and attempts == 2 for sent, attempts in rows.values())
    assert all(smtp.counts()[str(i)] == 1 for i in new)
    assert_each_sent_once(instance, smtp)


def test_the_embedded_server_answers_with_150_idle_keep_alive_connections_open(instance):
    """Browsers keep connections alive; with waitress's default limit of 100 the next connection was accepted by
    the kernel and then never answered (bench/load.py: 60 s timeouts with 50 staff)."""
    import socket
    import urllib.request

    port = free_port()
    server = instance.serve(port, log_name="server4.log")
    idle = []
    try:
        for _ in range(150):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=30) as response:
            assert response.status == 200
        assert "reached the connection limit" not in instance.log_text("server4.log")
    finally:
        for sock in idle:
            sock.close()
        instance.stop(server)
