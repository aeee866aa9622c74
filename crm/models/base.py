"""Shared column types and mixins for the models; no business rules."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """Stores naive UTC (SQLite drops tzinfo) and always hands back an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class VersionedMixin:
    """A counter every edit bumps with a conditional UPDATE (crm.services.versions), so an edit made from a
    stale form is refused instead of silently overwriting the change saved in between."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
