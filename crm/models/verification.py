"""认定 (verified results), their evidence attachments and the frozen monthly report snapshots (月报)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UtcDateTime, VersionedMixin, utcnow
from crm.models.project import FundsArrival, Project
from crm.models.user import User


class VerificationKind(StrEnum):
    SIGNING = "signing"  # a project's signing (签约): signed_on, investment, county, event, investors
    FUNDS = "funds"  # one funds arrival (到位资金)


class VerificationStatus(StrEnum):
    PENDING = "pending"  # 待认定
    VERIFIED = "verified"  # 已认定
    RETURNED = "returned"  # 退回


class EvidenceKind(StrEnum):
    CONTRACT = "contract"  # 合同
    LICENCE = "licence"  # 营业执照
    BANK_SLIP = "bank_slip"  # 银行进账单
    OTHER = "other"


class Verification(TimestampMixin, VersionedMixin, db.Model):
    """The 认定 state of one signing or one funds arrival. A record without a row is 待认定 (never checked)."""

    __tablename__ = "result_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "signing:<project id>" or "funds:<funds id>": one row per subject, whatever the kind.
    subject_key: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    funds_id: Mapped[int | None] = mapped_column(ForeignKey("funds_arrivals.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=VerificationStatus.PENDING.value,
                                        index=True)
    # Who last entered or changed the data (and so may not verify it), and when.
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # 撞单: the project this signing was judged a repeat of (returned, never counted) …
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"),
                                                        nullable=True)
    # … and the projects a verifier judged "not a duplicate" of it.
    cleared_duplicate_ids: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    project: Mapped[Project] = relationship(foreign_keys=[project_id])
    funds: Mapped[FundsArrival | None] = relationship()


class EvidenceAttachment(db.Model):
    """A file kept under the attachments folder by its SHA-256; the row says what it is and whose it is."""

    __tablename__ = "evidence_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    funds_id: Mapped[int | None] = mapped_column(ForeignKey("funds_arrivals.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    project: Mapped[Project] = relationship()


class ReportSnapshot(db.Model):
    """月报: the annual figures as computed when frozen, stored as JSON and never changed afterwards."""

    __tablename__ = "report_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    month: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)  # scheduled | manual
    # "YYYY-MM" for the scheduled freeze of a month (one each); NULL for on-demand ones (NULLs never collide).
    scheduled_key: Mapped[str | None] = mapped_column(String(7), nullable=True, unique=True)
    figures: Mapped[dict] = mapped_column(JSON, nullable=False)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    frozen_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow, index=True)

    frozen_by: Mapped[User | None] = relationship()
