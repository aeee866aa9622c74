"""Problems (诉求/问题) raised on a project or lead, the departments (职能部门) that solve them, and each problem's
timeline of entries (受理, 办理, 办结, 企业确认, 领导批示, 督办 …)."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UtcDateTime, VersionedMixin, utcnow
from crm.models.county import County
from crm.models.user import User


class ProblemCategory(StrEnum):
    LAND = "land"  # 用地
    PLANNING = "planning"  # 规划审批
    ENVIRONMENT = "environment"  # 环评
    UTILITIES = "utilities"  # 水电气
    FINANCING = "financing"  # 融资
    LABOUR = "labour"  # 用工
    POLICY = "policy"  # 政策兑现
    OTHER = "other"  # 其他


class Severity(StrEnum):
    NORMAL = "normal"  # 一般
    PRESSING = "pressing"  # 较急
    URGENT = "urgent"  # 紧急


class ProblemStatus(StrEnum):
    PENDING = "pending"  # 待受理
    IN_PROGRESS = "in_progress"  # 办理中
    RESOLVED = "resolved"  # 已办结
    CONFIRMED = "confirmed"  # 企业确认 (closed)


class EntryKind(StrEnum):
    RAISED = "raised"
    ROUTED = "routed"
    PROGRESS = "progress"  # 办理
    RESOLVED = "resolved"  # 办结
    CONFIRMED = "confirmed"  # 企业确认 with a satisfaction rating on the 回访
    RETURNED = "returned"  # the enterprise is not satisfied: back to 办理中
    INSTRUCTION = "instruction"  # 领导批示
    ESCALATED = "escalated"  # 逾期督办
    MEETING = "meeting"  # a 联席会议 decision
    EDITED = "edited"


class Department(TimestampMixin, VersionedMixin, db.Model):
    """A city department (county_id None) or a county's own department."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    county: Mapped[County | None] = relationship()

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"


class Problem(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "problems"
    __table_args__ = (CheckConstraint("lead_id IS NOT NULL OR project_id IS NOT NULL", name="target"),
                      CheckConstraint("satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)", name="satisfaction"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True, index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), nullable=True, index=True)
    # The county the problem belongs to (the project's landing county or the lead's owner): it raises, confirms
    # and sees it; its head is told when it runs late.
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), nullable=False, index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True, index=True)
    source_interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), nullable=True)
    source_followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    category: Mapped[str] = mapped_column(String(20), nullable=False, default=ProblemCategory.OTHER.value)
    severity: Mapped[str] = mapped_column(String(12), nullable=False, default=Severity.NORMAL.value)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=ProblemStatus.PENDING.value, index=True)
    deadline_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # 0 none yet, 1 the county head was told, 2 the city was told: each level is planned once.
    escalation_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    county: Mapped[County] = relationship()
    department: Mapped[Department | None] = relationship()
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])
    entries: Mapped[list[ProblemEntry]] = relationship(back_populates="problem", order_by="ProblemEntry.id",
                                                        cascade="all, delete-orphan")


class ProblemEntry(db.Model):
    """One step of a problem's timeline: who, when, what."""

    __tablename__ = "problem_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    from_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), nullable=True)

    problem: Mapped[Problem] = relationship(back_populates="entries")
    actor: Mapped[User | None] = relationship()
    department: Mapped[Department | None] = relationship()
