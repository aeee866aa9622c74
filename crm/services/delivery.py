"""Sending the outbox: claim each due message with a conditional UPDATE (only the worker whose update hit
the row sends it), send by e-mail (smtplib) or chat webhook (urllib), and record sent or the error with
exponential backoff. Two schedulers on one database therefore never both send a message.

A crash after a message left but before `sent_at` was written resends it once its lease expires: the
claim narrows the window to that moment, it cannot close it (no mail server takes part in our transaction)."""
from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, update

from crm.extensions import db
from crm.models import OutboxMessage
from crm.services.notifications import EMAIL, WEBHOOK

LEASE = timedelta(minutes=5)  # longer than any send can take (MAIL_TIMEOUT, webhook timeout)
MAX_ATTEMPTS = 8  # 1 + 2 + 4 … 64 minutes: about two hours of retries, then give up (recorded)


class DeliveryError(Exception):
    pass


@dataclass
class DispatchResult:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    skipped: int = 0  # claimed by another worker first


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 1, 2, 4 … minutes, at most a day."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 24 * 60))


def _claimable(now: datetime, lease: timedelta):
    return (OutboxMessage.sent_at.is_(None), OutboxMessage.gave_up_at.is_(None),
            or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - lease))


def claim(message_id: int, worker_id: str, *, now: datetime, lease: timedelta = LEASE) -> bool:
    """Take one message for sending; True only for the one worker whose conditional update changed the row."""
    result = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, *_claimable(now, lease))
        .values(claimed_at=now, claimed_by=worker_id[:80]).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def dispatch_due(now: datetime, worker_id: str, *, limit: int = 100, lease: timedelta = LEASE,
                 max_attempts: int | None = None) -> DispatchResult:
    """Send every outbox message that is due; each one in its own claim → send → record cycle."""
    max_attempts = max_attempts or current_app.config.get("OUTBOX_MAX_ATTEMPTS", MAX_ATTEMPTS)
    ids = list(db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.next_attempt_at <= now, *_claimable(now, lease)).order_by(OutboxMessage.id).limit(limit)))
    db.session.rollback()  # end the read before claiming, so each claim is its own short write
    result = DispatchResult()
    for message_id in ids:
        if not claim(message_id, worker_id, now=now, lease=lease):
            result.skipped += 1
            continue
        message = db.session.get(OutboxMessage, message_id)
        try:
            send(message)
        except Exception as exc:  # noqa: BLE001  (any failure is recorded and retried, never lost)
            _record_failure(message, exc, now=now, max_attempts=max_attempts)
            result.failed += 1
            result.gave_up += message.gave_up_at is not None
        else:
            message.sent_at, message.attempts, message.last_error = now, message.attempts + 1, None
            message.claimed_at = None
            result.sent += 1
        db.session.commit()
    return result


def _record_failure(message: OutboxMessage, exc: Exception, *, now: datetime, max_attempts: int) -> None:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    message.claimed_at = None
    if message.attempts >= max_attempts:
        message.gave_up_at = now
        current_app.logger.error("outbox %s: gave up after %s attempts: %s", message.id, message.attempts,
                                 message.last_error)
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        current_app.logger.warning("outbox %s: attempt %s failed: %s", message.id, message.attempts,
                                   message.last_error)


def send(message: OutboxMessage) -> None:
    if message.channel == EMAIL:
        send_email(message)
    elif message.channel == WEBHOOK:
        send_webhook(message)
    else:
        raise DeliveryError(f"unknown channel {message.channel!r}")


def outbox_message_id(outbox_id: int, sender: str) -> str:
    domain = sender.rpartition("@")[2].strip(" <>") or "localhost"
    return f"<crm-outbox-{outbox_id}@{domain}>"


def send_email(message: OutboxMessage) -> None:
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        raise DeliveryError("MAIL_SERVER is not configured")
    mail = EmailMessage()
    mail["From"] = cfg["MAIL_SENDER"]
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    # The same Message-ID on every attempt: if a crash repeats a send the server had already accepted, mail stores
    # that deduplicate on it (most do) keep one copy.
    mail["Message-ID"] = outbox_message_id(message.id, cfg["MAIL_SENDER"])
    mail["X-CRM-Outbox"] = str(message.id)
    mail.set_content(message.body or message.subject)
    smtp_class = smtplib.SMTP_SSL if cfg.get("MAIL_USE_SSL") else smtplib.SMTP
    with smtp_class(cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT") or 25), timeout=cfg.get("MAIL_TIMEOUT", 10)) as smtp:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        refused = smtp.send_message(mail)
    if refused:
        raise DeliveryError(f"recipients refused: {refused}")


def webhook_payload(message: OutboxMessage) -> dict:
    """企业微信 / 钉钉 group robots both take this markdown message."""
    content = f"### {message.subject}\n{message.body}".strip()
    return {"msgtype": "markdown", "markdown": {"title": message.subject, "content": content, "text": content}}


def send_webhook(message: OutboxMessage) -> None:
    url = message.recipient or current_app.config.get("CHAT_WEBHOOK_URL")
    if not url or not url.startswith(("http://", "https://")):
        raise DeliveryError("no webhook URL")
    data = json.dumps(webhook_payload(message), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    timeout = current_app.config.get("MAIL_TIMEOUT", 10)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            raw = response.read(65536)
    except (TimeoutError, urllib.error.URLError) as exc:
        raise DeliveryError(str(exc)) from exc
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise DeliveryError(f"robot refused: {answer.get('errcode')} {answer.get('errmsg')}")
