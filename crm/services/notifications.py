"""The notification centre: in-app notifications and the outbox rows (e-mail, webhook) planned beside them.

Each planned message carries a dedupe key, unique per user (centre) and per channel (outbox), so a job that
runs twice, or two schedulers, plan it once. Sending lives in crm.services.delivery."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.models import Followup, Notification, OutboxMessage, User
from crm.services.errors import NotFound

EMAIL, WEBHOOK = "email", "webhook"
TZ = ZoneInfo("Asia/Shanghai")
# Reminders about the state of a follow-up (not events such as a hand-off): at most one per task, kind and
# Asia/Shanghai day for a user, and they lose their urgency once the follow-up is closed.
REMINDER_KINDS = ("due_soon", "overdue", "escalation")
FOLLOWUP_LINK = re.compile(r"^/followups/(\d+)$")


@contextmanager
def in_language(user: User):
    """Text written for a user (notification titles, mail) in the user's own language."""
    with force_locale(user.language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        yield


def _insert_once(row) -> bool:
    """Add a row guarded by a unique key inside a savepoint: a duplicate leaves the outer work intact."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
        return True
    except IntegrityError:
        return False


def notify(user: User, kind: str, title: str, body: str, link: str | None, dedupe_key: str, *,
           now: datetime) -> Notification | None:
    """Plan a message for a user once: the in-app notification and, per the user's choices and the
    configuration, its e-mail and webhook deliveries. Returns None when it was already planned (or, for a
    reminder, when the user already had one of that kind about that follow-up today; an older unread one is
    marked read, so the centre shows one per task). Adds and flushes; the caller commits."""
    if user is None or not user.is_active_user:
        return None
    exists = db.session.scalar(select(Notification.id).where(Notification.user_id == user.id,
                                                             Notification.dedupe_key == dedupe_key))
    if exists:
        return None
    if kind in REMINDER_KINDS and link:
        same = (Notification.user_id == user.id, Notification.kind == kind, Notification.link == link)
        day_start = datetime.combine(now.astimezone(TZ).date(), time(0), tzinfo=TZ)
        if db.session.scalar(select(Notification.id).where(*same, Notification.created_at >= day_start).limit(1)):
            return None
        db.session.execute(update(Notification).where(*same, Notification.read_at.is_(None)).values(read_at=now))
    note = Notification(user_id=user.id, kind=kind[:30], title=str(title)[:200], body=str(body or ""),
                        link=(link or None) and link[:300], dedupe_key=dedupe_key[:120], created_at=now)
    if not _insert_once(note):
        return None
    for channel, recipient in _channels(user):
        message = OutboxMessage(channel=channel, dedupe_key=f"{user.id}:{dedupe_key}"[:160], user_id=user.id,
                                notification_id=note.id, recipient=recipient, subject=note.title,
                                body=_outbox_body(user, note), planned_at=now, next_attempt_at=now,
                                attempts=0, created_at=now)
        _insert_once(message)
    return note


def _channels(user: User) -> list[tuple[str, str]]:
    cfg = current_app.config
    out = []
    if cfg.get("MAIL_SERVER") and user.notify_email and user.email:
        out.append((EMAIL, user.email))
    if cfg.get("CHAT_WEBHOOK_URL") and user.notify_webhook:
        out.append((WEBHOOK, cfg["CHAT_WEBHOOK_URL"]))
    return out


def _outbox_body(user: User, note: Notification) -> str:
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    text = note.body or ""
    if note.link:
        text = f"{text}\n\n{base}{note.link}" if text else f"{base}{note.link}"
    return text


# --- the centre ------------------------------------------------------------------------------------

def unread_count(user: User | None) -> int:
    if user is None or getattr(user, "id", None) is None:
        return 0
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notifications_query(user: User, *, unread_only: bool = False):
    stmt = (select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt


def list_notifications(user: User, *, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(notifications_query(user, unread_only=unread_only).limit(limit)))


def mark_read(user: User, notification_id: int, *, now: datetime) -> Notification:
    """Only the caller's own; someone else's is reported as not found (it does not exist for them)."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound("notification")
    if note.read_at is None:
        note.read_at = now
        db.session.commit()
    return note


def mark_all_read(user: User, *, now: datetime) -> int:
    result = db.session.execute(update(Notification).where(Notification.user_id == user.id,
                                                           Notification.read_at.is_(None)).values(read_at=now))
    db.session.commit()
    return result.rowcount or 0


def settle_reminders(link: str, *, now: datetime) -> int:
    """A follow-up was closed: its unread reminders (due soon, overdue, escalation) stop calling for attention.
    In the caller's unit of work."""
    result = db.session.execute(update(Notification).where(
        Notification.link == link, Notification.kind.in_(REMINDER_KINDS), Notification.read_at.is_(None))
        .values(read_at=now))
    return result.rowcount or 0


def linked_followups(notes) -> dict[int, str]:
    """{notification id: status of the follow-up it links to}, in one query, so the centre can show a reminder
    about a task done since as done rather than still overdue."""
    ids = {}
    for note in notes:
        match = FOLLOWUP_LINK.match(note.link or "")
        if match:
            ids[note.id] = int(match.group(1))
    if not ids:
        return {}
    status = dict(db.session.execute(select(Followup.id, Followup.status)
                                     .where(Followup.id.in_(set(ids.values())))).all())
    return {note_id: status[fu_id] for note_id, fu_id in ids.items() if fu_id in status}


def channels_available() -> dict[str, bool]:
    """Which channels besides the centre this server can send on."""
    cfg = current_app.config
    return {EMAIL: bool(cfg.get("MAIL_SERVER")), WEBHOOK: bool(cfg.get("CHAT_WEBHOOK_URL"))}


def set_channels(user: User, *, email: bool, webhook: bool) -> User:
    """A user's own choice of channels besides the in-app centre."""
    from crm.services import audit

    before = {"notify_email": user.notify_email, "notify_webhook": user.notify_webhook}
    user.notify_email, user.notify_webhook = bool(email), bool(webhook)
    after = {"notify_email": user.notify_email, "notify_webhook": user.notify_webhook}
    if before != after:
        audit.record(user, "user.notify_channels", "user", user.id, before=before, after=after)
    db.session.commit()
    return user
