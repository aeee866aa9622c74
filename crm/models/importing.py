"""Import batches of leads from spreadsheets, their rejected rows, and what each batch changed (for revert)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.models.base import UtcDateTime, utcnow


class ImportBatch(db.Model):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    file_format: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending", index=True)
    duplicate_mode: Mapped[str] = mapped_column(String(20), nullable=False, default="skip")
    mapping: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    total_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner_county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reverted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reverted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # What the revert did: counts, the leads it reverted (the first ones) and those it kept, each with its reason.
    revert_summary: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ImportRowResult(db.Model):
    """A row that was rejected (with its reason) or that updated an existing lead (with the values before)."""

    __tablename__ = "import_row_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    row_number: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)  # rejected | updated | skipped
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    lead_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    data: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
