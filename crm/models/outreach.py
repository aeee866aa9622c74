"""Holiday outreach (节日走访慰问): per-holiday settings, campaigns, and one item per lead to greet."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import UtcDateTime, utcnow
from crm.models.lead import Lead
from crm.models.user import User


class ItemStatus(StrEnum):
    PENDING = "pending"
    GREETED = "greeted"
    VISITED = "visited"
    UNREACHABLE = "unreachable"
    DECLINED = "declined"


class HolidaySetting(db.Model):
    __tablename__ = "holiday_settings"

    key: Mapped[str] = mapped_column(String(30), primary_key=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    days_before: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    template: Mapped[str | None] = mapped_column(Text, nullable=True)


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("holiday_key", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holiday_key: Mapped[str] = mapped_column(String(30), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    holiday_date: Mapped[date] = mapped_column(Date, nullable=False)
    target_kinds: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    filters: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    remind_days_before: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    template: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

    items: Mapped[list[OutreachItem]] = relationship(back_populates="campaign")


class OutreachItem(db.Model):
    __tablename__ = "outreach_items"
    __table_args__ = (UniqueConstraint("campaign_id", "lead_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False, index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), nullable=False, index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=ItemStatus.PENDING.value, index=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), nullable=True)

    campaign: Mapped[Campaign] = relationship(back_populates="items")
    lead: Mapped[Lead] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
