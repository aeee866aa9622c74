"""Commitments (履约承诺) made at a project's signing, by the investor and by the government, and the dated
actuals recorded against them. Funds in place are the investment commitment's actuals and are not copied here."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UtcDateTime, VersionedMixin, utcnow


class CommitmentSide(StrEnum):
    INVESTOR = "investor"  # 企业承诺
    GOVERNMENT = "government"  # 政府承诺


class CommitmentKind(StrEnum):
    INVESTMENT = "investment"  # 总投资到位 by a date (actuals: funds in place)
    START = "start"  # 开工 by (actual: the project's started_on)
    PRODUCTION = "production"  # 投产 by (actual: the project's producing_on)
    OUTPUT = "output"  # 年产值 (万元)
    TAX = "tax"  # 年税收 (万元)
    JOBS = "jobs"  # 就业 (人)
    INCENTIVE = "incentive"  # 政策兑现 (万元)
    LAND = "land"  # 土地交付 by (actual: the delivery date entered)
    SERVICE = "service"  # 代办服务 (text)


class CommitmentStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    MISSED = "missed"
    WAIVED = "waived"


class Commitment(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    side: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    due_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    target_quantity: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=CommitmentStatus.OPEN.value, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    project = relationship("Project")
    actuals: Mapped[list[CommitmentActual]] = relationship(
        back_populates="commitment", order_by="CommitmentActual.recorded_on", cascade="all, delete-orphan")


class CommitmentActual(db.Model):
    """One dated entry against a commitment: a year's output, tax or jobs, a payment of an incentive, the day
    land was handed over, a step of a 代办 service."""

    __tablename__ = "commitment_actuals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    recorded_on: Mapped[date] = mapped_column(Date, nullable=False)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

    commitment: Mapped[Commitment] = relationship(back_populates="actuals")
