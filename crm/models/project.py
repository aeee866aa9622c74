"""Projects (招商项目) through their stages, funds in place (到位资金), events (推介会) and yearly targets."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UtcDateTime, VersionedMixin, utcnow
from crm.models.county import County
from crm.models.industry import Industry
from crm.models.lead import Lead


class Stage(StrEnum):
    PLANNED = "planned"
    NEGOTIATING = "negotiating"
    SIGNED = "signed"
    STARTED = "started"
    OPERATING = "operating"
    DROPPED = "dropped"


project_leads = Table(
    "project_leads", db.metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("lead_id", ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True),
)

event_leads = Table(
    "event_leads", db.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("lead_id", ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True),
    Column("attended", Boolean, nullable=False, default=False),
)


class Event(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    leaders: Mapped[str | None] = mapped_column(String(300), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    county: Mapped[County | None] = relationship()
    leads: Mapped[list[Lead]] = relationship(secondary=event_leads)


class Project(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    industry_id: Mapped[int | None] = mapped_column(ForeignKey("industries.id"), nullable=True, index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), nullable=False, index=True)
    stage: Mapped[str] = mapped_column(String(20), nullable=False, default=Stage.PLANNED.value, index=True)
    investment_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    is_foreign: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # 续建: begun before this system's records (or a previous year's project continuing), so funds may arrive
    # whatever stage the pipeline shows.
    is_continuing: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    source_channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), nullable=True, index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True, index=True)
    signed_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    started_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    producing_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # 投产: set by the move to operating
    planned_start_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)

    industry: Mapped[Industry | None] = relationship()
    county: Mapped[County] = relationship()
    leads: Mapped[list[Lead]] = relationship(secondary=project_leads)
    event: Mapped[Event | None] = relationship()
    funds: Mapped[list[FundsArrival]] = relationship(back_populates="project", order_by="FundsArrival.arrived_on")
    stage_changes: Mapped[list[StageChange]] = relationship(order_by="StageChange.id")


class StageChange(db.Model):
    __tablename__ = "project_stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_stage: Mapped[str] = mapped_column(String(20), nullable=False)
    changed_on: Mapped[date] = mapped_column(Date, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class FundsArrival(db.Model):
    __tablename__ = "funds_arrivals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)  # 万元
    arrived_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    out_of_province: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    foreign_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)  # 万美元, within amount
    note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    # 撤回: a withdrawn arrival stays for the record but no figure counts it.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)

    project: Mapped[Project] = relationship(back_populates="funds")


class Target(db.Model):
    """A yearly target per county (county_id NULL = the city as a whole) for one metric."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("year", "county_key", "metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    # 0 for the city: NULLs never collide in a unique constraint, so uniqueness keys on this instead.
    county_key: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    metric: Mapped[str] = mapped_column(String(40), nullable=False)
    value: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow, onupdate=utcnow)
