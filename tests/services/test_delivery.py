"""Sending the outbox for real: a local SMTP server (aiosmtpd), a failing one, a local webhook receiver,
and two dispatchers racing for the same messages."""
from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from crm import create_app
from crm.extensions import db
from crm.models import OutboxMessage, User
from crm.services import delivery, notifications
from tests.conftest import base_config
from tests.services.test_followups import NOW


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message; `fail_with` makes it refuse DATA with that reply."""

    def __init__(self):
        self.messages: list = []
        self.fail_with: str | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.fail_with:
            return self.fail_with
        with self.lock:
            self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def mail_config(app, port):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5, MAIL_SENDER="crm@ankang.test")


def plan(app, user_id, key="k1", title="到期提醒"):
    with app.test_request_context():
        u = db.session.get(User, user_id)
        notifications.notify(u, "due_soon", title, "请今天联系客商。", "/followups/1", key, now=NOW)
        db.session.commit()


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def test_email_arrives_at_local_smtp_server_once(app, make_user, smtp):
    mail_config(app, smtp.port)
    staff = make_user("county_staff", email="wang@ankang.test")
    plan(app, staff.id)
    with app.app_context():
        assert delivery.dispatch_due(NOW, "w1").sent == 1
        assert delivery.dispatch_due(NOW + timedelta(minutes=1), "w1").sent == 0
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope.rcpt_tos == ["wang@ankang.test"]
    text = envelope.content.decode()
    assert "X-CRM-Outbox" in text and "/followups/1" in text
    [row] = outbox(app)
    assert (row.sent_at, row.attempts, row.last_error) == (NOW, 1, None)
    # A repeated send (crash after the server accepted) carries the same Message-ID, so mail stores can dedupe.
    assert f"Message-ID: {delivery.outbox_message_id(row.id, app.config['MAIL_SENDER'])}" in text
    assert delivery.outbox_message_id(7, "招商局 <crm@zsj.ankang.gov.cn>") == "<crm-outbox-7@zsj.ankang.gov.cn>"


def test_email_skipped_when_user_opted_out_or_mail_unconfigured(app, make_user, smtp):
    quiet = make_user("county_staff", email="a@ankang.test", notify_email=False)
    plan(app, quiet.id)  # MAIL_SERVER is None in tests
    mail_config(app, smtp.port)
    plan(app, quiet.id, key="k2")
    assert outbox(app) == []


def test_smtp_451_is_retried_with_backoff_then_delivered(app, make_user, smtp):
    mail_config(app, smtp.port)
    staff = make_user("county_staff", email="li@ankang.test")
    plan(app, staff.id)
    smtp.fail_with = "451 4.3.0 Try again later"
    with app.app_context():
        assert delivery.dispatch_due(NOW, "w1").failed == 1
        assert delivery.dispatch_due(NOW + timedelta(seconds=30), "w1").failed == 0  # backing off
        assert delivery.dispatch_due(NOW + timedelta(minutes=1), "w1").failed == 1
    [row] = outbox(app)
    assert row.attempts == 2 and "451" in row.last_error and row.sent_at is None
    assert row.next_attempt_at == NOW + timedelta(minutes=1) + timedelta(minutes=2)
    smtp.fail_with = None
    with app.app_context():
        assert delivery.dispatch_due(NOW + timedelta(minutes=3), "w1").sent == 1
    [row] = outbox(app)
    assert row.attempts == 3 and row.sent_at == NOW + timedelta(minutes=3) and row.last_error is None
    assert len(smtp.messages) == 1


def test_smtp_connection_refused_is_recorded_then_sent_when_server_is_back(app, make_user):
    port = free_port()
    mail_config(app, port)
    staff = make_user("county_staff", email="zhao@ankang.test")
    plan(app, staff.id)
    with app.app_context():
        assert delivery.dispatch_due(NOW, "w1").failed == 1
    [row] = outbox(app)
    assert row.sent_at is None and row.attempts == 1 and "refused" in row.last_error.lower()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with app.app_context():
            assert delivery.dispatch_due(NOW + timedelta(minutes=1), "w1").sent == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_delivery_gives_up_after_max_attempts_and_records_it(app, make_user):
    mail_config(app, free_port())
    staff = make_user("county_staff", email="sun@ankang.test")
    plan(app, staff.id)
    when = NOW
    with app.app_context():
        for _ in range(3):
            delivery.dispatch_due(when, "w1", max_attempts=3)
            when += timedelta(days=1)
        assert delivery.dispatch_due(when, "w1", max_attempts=3).failed == 0
    [row] = outbox(app)
    assert row.attempts == 3 and row.gave_up_at is not None and row.sent_at is None


def test_backoff_doubles_from_one_minute():
    assert [delivery.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's hook name)
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length).decode("utf-8")))
        body = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_webhook_posts_markdown_json_to_robot(app, make_user):
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app.config["CHAT_WEBHOOK_URL"] = f"http://127.0.0.1:{server.server_port}/robot?key=abc"
        staff = make_user("county_staff")
        plan(app, staff.id, title="逾期：回访富硒公司")
        with app.app_context():
            assert delivery.dispatch_due(NOW, "w1").sent == 1
    finally:
        server.shutdown()
        server.server_close()
    [payload] = _Hook.received
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["content"].startswith("### 逾期：回访富硒公司")


def test_webhook_robot_error_is_retried(app, make_user):
    app.config["CHAT_WEBHOOK_URL"] = f"http://127.0.0.1:{free_port()}/robot"
    staff = make_user("county_staff")
    plan(app, staff.id)
    with app.app_context():
        assert delivery.dispatch_due(NOW, "w1").failed == 1
    [row] = outbox(app)
    assert row.channel == "webhook" and row.sent_at is None and row.last_error


def test_second_claim_of_same_message_loses(app, make_user, database_url, tmp_path):
    app.config["CHAT_WEBHOOK_URL"] = "http://127.0.0.1:9/unused"
    staff = make_user("county_staff")
    plan(app, staff.id)
    [row] = outbox(app)
    other = create_app(base_config(database_url, str(tmp_path / "other")))  # its own engine and session
    with app.app_context():
        assert delivery.claim(row.id, "worker-a", now=NOW) is True
    with other.app_context():
        assert delivery.claim(row.id, "worker-b", now=NOW + timedelta(minutes=1)) is False
        # a worker that died holding the claim: after the lease another may take it
        assert delivery.claim(row.id, "worker-b", now=NOW + delivery.LEASE + timedelta(seconds=1)) is True
        db.engine.dispose()


def test_two_dispatchers_racing_send_each_message_once(app, make_user, smtp, database_url, tmp_path):
    mail_config(app, smtp.port)
    users = [make_user("county_staff", email=f"u{i}@ankang.test") for i in range(12)]
    for u in users:
        plan(app, u.id)
    apps = []
    for name in ("a", "b"):
        other = create_app(base_config(database_url, str(tmp_path / name)))
        mail_config(other, smtp.port)
        apps.append(other)
    results, barrier = {}, threading.Barrier(2)

    def run(worker_app, name):
        with worker_app.app_context():
            barrier.wait()
            results[name] = delivery.dispatch_due(NOW, name)
            db.engine.dispose()

    threads = [threading.Thread(target=run, args=(a, n)) for a, n in zip(apps, ("a", "b"), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["a"].sent + results["b"].sent == 12
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(f"u{i}@ankang.test" for i in range(12))
    assert all(r.sent_at == NOW and r.attempts == 1 for r in outbox(app))
