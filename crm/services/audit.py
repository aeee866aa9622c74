"""Writing and reading the append-only audit log; the request's IP arrives through a context variable."""
from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, User
from crm.transactions import writing

# Set by the web/API layer per request so services need not know about requests.
client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record(actor: User | None, action: str, object_type: str, object_id: int | None, *,
           summary: str = "", before: dict | None = None, after: dict | None = None) -> AuditEntry:
    """Add an entry to the current unit of work; the caller's commit makes it durable with the change."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:255],
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        ip=client_ip.get(),
    )
    db.session.add(entry)
    return entry


def record_read(actor: User | None, action: str, object_type: str, object_id: int | None, *,
                summary: str = "", after: dict | None = None) -> None:
    """The trace of a read (an export, a download), committed at once in a write transaction of its own: the
    read itself took no write lock (crm.transactions), and the entry depends on nothing it read."""
    actor_id = actor.id if actor is not None else None
    with writing():
        db.session.add(AuditEntry(actor_id=actor_id, action=action, object_type=object_type, object_id=object_id,
                                  summary=summary[:255], after=_plain(after) if after is not None else None,
                                  ip=client_ip.get()))
        db.session.commit()


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def audit_query(*, actor_id: int | None = None, object_type: str | None = None, action: str | None = None,
                object_id: int | None = None):
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if actor_id:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    return stmt
