"""Optimistic concurrency for edited records: bump a row's version atomically, refusing a stale expected one.

The check and the bump are one conditional UPDATE (`… SET version = version + 1 WHERE id = :id AND version =
:expected`), so two editors holding the same version cannot both pass: the database serialises them on the
row and the second finds the version moved. Only edits bump the counter (not, say, a new last-contact time),
so writes nobody edits by hand never make a form stale and never fail for one."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from crm.extensions import db
from crm.models import AuditEntry
from crm.services.errors import EditConflict

# Audited actions on a versioned record that do not change what its edit form shows.
NOT_EDITS = frozenset({"reveal", "export", "add_funds", "login", "logout", "lock", "change_password",
                       "reset_password", "user.notify_channels"})


STALE = -1  # what a garbled or impossible version becomes: it can only fail the check
MAX_VERSION = 2**31 - 1  # the column is a 32-bit INTEGER on PostgreSQL; a bigger number would not even bind


def parse(value) -> int | None:
    """A version as a form, header or JSON body carries it; blank means the caller did not say (no check)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return STALE
    try:
        number = int(value)
    except (TypeError, ValueError):
        return STALE
    return number if 0 < number <= MAX_VERSION else STALE


def bump(record, object_type: str, expected: int | None = None) -> int:
    """Raise the record's version by one inside the caller's unit of work and return the new one. With
    `expected`, refuse (roll back, raise EditConflict naming the last change) unless the row still has it."""
    table = type(record).__table__
    stmt = update(table).where(table.c.id == record.id)
    if expected is not None:
        stmt = stmt.where(table.c.version == expected)
    values = {"version": table.c.version + 1}
    if "updated_at" in table.c:
        values["updated_at"] = table.c.updated_at  # not the onupdate default: only a changed field moves it
    new = db.session.execute(stmt.values(**values).returning(table.c.version)).scalar_one_or_none()
    if new is None:
        db.session.rollback()  # release the write lock the refused UPDATE took; the caller changes nothing
        raise stale(record, object_type)
    set_committed_value(record, "version", new)
    return new


def stale(record, object_type: str) -> EditConflict:
    table = type(record).__table__
    current = db.session.scalar(select(table.c.version).where(table.c.id == record.id))
    entry = last_change(object_type, record.id)
    who = (entry.actor.display_name if entry.actor else None) if entry else None
    return EditConflict(_("This record was changed by someone else after you opened it; your changes were not "
                          "saved."), current_version=current if current is not None else 0, changed_by=who,
                        changed_at=entry.at if entry else None)


def last_change(object_type: str, object_id: int) -> AuditEntry | None:
    """The latest audited change of the record (reads such as a contact reveal do not count)."""
    return db.session.scalar(select(AuditEntry).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == object_id,
        AuditEntry.action.not_in(NOT_EDITS)).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(1))
