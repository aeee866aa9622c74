"""Idempotency keys: which record a user's create (a form's one-time token, an API Idempotency-Key) made."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.models.base import UtcDateTime, utcnow


class IdempotencyKey(db.Model):
    """One (user, key): written in the transaction that creates the record, so the unique constraint lets only
    one of two concurrent submissions create; the other finds this row and answers with the first record."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(100), nullable=False)
    scope: Mapped[str] = mapped_column(String(40), nullable=False)  # what was created: "interaction", "lead" …
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the API request body's hash
    object_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow, index=True)
