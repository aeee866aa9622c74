"""The search index's outbox: which documents a committed transaction changed, until the index has them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.models.base import UtcDateTime, utcnow


class SearchOutboxEntry(db.Model):
    """One lead or project whose index document is out of date. Written in the same transaction as the change
    (a rollback takes it away too), deleted once the index holds a document read after it; one entry per change,
    so a document changed twice may have two."""

    __tablename__ = "search_outbox"
    __table_args__ = (Index("ix_search_outbox_doc", "doc_type", "doc_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(10), nullable=False)  # lead | project
    doc_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
