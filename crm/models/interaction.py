"""Contact history: interactions (接洽记录) with who went, and trips (招商考察) that group them."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UtcDateTime
from crm.models.user import User


class InteractionKind(StrEnum):
    VISIT = "visit"
    RECEPTION = "reception"
    REVISIT = "revisit"
    CALL = "call"
    WECHAT = "wechat"
    MEETING = "meeting"
    EVENT = "event"
    GREETING = "greeting"
    SIGNING = "signing"


class LeaderLevel(StrEnum):
    CITY = "city"
    COUNTY = "county"
    DEPARTMENT = "department"
    NONE = "none"


interaction_participants = Table(
    "interaction_participants", db.metadata,
    Column("interaction_id", ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

trip_participants = Table(
    "trip_participants", db.metadata,
    Column("trip_id", ForeignKey("trips.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Trip(TimestampMixin, db.Model):
    __tablename__ = "trips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    leader_name: Mapped[str | None] = mapped_column(String(60), nullable=True)
    leader_level: Mapped[str] = mapped_column(String(20), nullable=False, default=LeaderLevel.NONE.value)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    cities: Mapped[str | None] = mapped_column(String(200), nullable=True)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    participants: Mapped[list[User]] = relationship(secondary=trip_participants)


class Interaction(TimestampMixin, db.Model):
    __tablename__ = "interactions"
    __table_args__ = (CheckConstraint("lead_id IS NOT NULL OR project_id IS NOT NULL", name="target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), nullable=True, index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    location: Mapped[str | None] = mapped_column(String(200), nullable=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    leader_level: Mapped[str] = mapped_column(String(20), nullable=False, default=LeaderLevel.NONE.value)
    leader_name: Mapped[str | None] = mapped_column(String(60), nullable=True)
    visitor_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id"), nullable=True, index=True)
    # The county whose staff logged it: the annual report counts visits per county by this.
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    # Withdrawn (撤回) is kept, not deleted: the history stays, and every figure leaves it out.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    withdraw_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    participants: Mapped[list[User]] = relationship(secondary=interaction_participants)
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    trip: Mapped[Trip | None] = relationship()
