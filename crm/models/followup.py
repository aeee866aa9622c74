"""Follow-ups (跟进任务) on a lead or a project, assigned to a person or a county's inbox."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UtcDateTime, VersionedMixin
from crm.models.county import County
from crm.models.user import User


class FollowupStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Handoff(StrEnum):
    """A follow-up the city hands to a county: pending until the county accepts or returns it."""

    NONE = "none"
    PENDING = "pending"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Followup(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "followups"
    __table_args__ = (CheckConstraint("lead_id IS NOT NULL OR project_id IS NOT NULL", name="target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), nullable=True, index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    priority: Mapped[str] = mapped_column(String(10), nullable=False, default=Priority.NORMAL.value)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=FollowupStatus.OPEN.value, index=True)
    handoff: Mapped[str] = mapped_column(String(12), nullable=False, default=Handoff.NONE.value)
    return_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    source_interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), nullable=True)
    result_interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), nullable=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), nullable=True)
    # Cancelled because its lead was deleted: restoring the lead reopens it (crm.services.lead_lifecycle).
    is_closed_with_lead: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    county: Mapped[County | None] = relationship()
