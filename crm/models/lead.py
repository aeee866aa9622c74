"""Leads (客商) with their contacts and tags; claim conflicts (撞单) between counties."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UtcDateTime, VersionedMixin, utcnow
from crm.models.county import County
from crm.models.industry import Industry
from crm.models.user import User


class LeadKind(StrEnum):
    ENTERPRISE = "enterprise"
    CHAMBER = "chamber"
    ADVISER = "adviser"
    HOMETOWN_ENTREPRENEUR = "hometown_entrepreneur"
    INTERMEDIARY = "intermediary"
    FOREIGN_INVESTOR = "foreign_investor"


# Kinds whose name is a person's (乡贤, 顾问): its pinyin reads a surname at its head as a surname (crm.surnames).
PERSON_KINDS = frozenset({LeadKind.ADVISER.value, LeadKind.HOMETOWN_ENTREPRENEUR.value})

class LeadStatus(StrEnum):
    NEW = "new"
    ENGAGED = "engaged"
    INTERESTED = "interested"
    SIGNED = "signed"
    DORMANT = "dormant"
    DROPPED = "dropped"


class SourceChannel(StrEnum):
    CHAMBER = "chamber"
    ADVISER = "adviser"
    HOMETOWN = "hometown"
    INTERMEDIARY = "intermediary"
    EVENT = "event"
    SELF = "self"
    SUPERIOR = "superior"
    VISIT = "visit"


class Lead(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False, default=LeadKind.ENTERPRISE.value, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Derived keys kept beside the name for duplicate checks and the typeahead (DESIGN.md §5).
    name_key: Mapped[str] = mapped_column(String(200), nullable=False, default="", index=True)
    pinyin_full: Mapped[str] = mapped_column(String(400), nullable=False, default="")
    pinyin_initials: Mapped[str] = mapped_column(String(200), nullable=False, default="", index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True, index=True)
    industry_id: Mapped[int | None] = mapped_column(ForeignKey("industries.id"), nullable=True, index=True)
    origin_region: Mapped[str | None] = mapped_column(String(100), nullable=True)
    home_county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    owner_county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), nullable=False, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    source_channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=LeadStatus.NEW.value, index=True)
    is_key: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, index=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_contacted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    import_batch_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), nullable=True, index=True)

    industry: Mapped[Industry | None] = relationship(lazy="joined")
    owner_county: Mapped[County] = relationship(foreign_keys=[owner_county_id], lazy="joined")
    home_county: Mapped[County | None] = relationship(foreign_keys=[home_county_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    referrer: Mapped[Lead | None] = relationship(remote_side="Lead.id", foreign_keys=[referrer_id])
    contacts: Mapped[list[Contact]] = relationship(back_populates="lead", cascade="all, delete-orphan",
                                                   order_by="(Contact.is_primary.desc(), Contact.id)")
    tag_rows: Mapped[list[LeadTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class LeadTag(db.Model):
    __tablename__ = "lead_tags"
    __table_args__ = (UniqueConstraint("lead_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), nullable=False, index=True)
    tag: Mapped[str] = mapped_column(String(40), nullable=False, index=True)


class Contact(TimestampMixin, db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    title: Mapped[str | None] = mapped_column(String(60), nullable=True)
    mobile: Mapped[str | None] = mapped_column(String(32), nullable=True)
    mobile_key: Mapped[str | None] = mapped_column(String(11), nullable=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    wechat: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    lead: Mapped[Lead] = relationship(back_populates="contacts")


class ConflictStatus(StrEnum):
    OPEN = "open"
    KEPT_FIRST = "kept_first"
    REASSIGNED = "reassigned"
    MERGED = "merged"


class ClaimConflict(db.Model):
    """Two counties claiming one investor; the first registration (首报首谈) keeps it unless the city decides."""

    __tablename__ = "claim_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), nullable=False, index=True)
    claimant_lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), nullable=True, index=True)
    claimant_county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), nullable=False, index=True)
    claimant_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=ConflictStatus.OPEN.value, index=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

    lead: Mapped[Lead] = relationship(foreign_keys=[lead_id])
    claimant_lead: Mapped[Lead | None] = relationship(foreign_keys=[claimant_lead_id])
    claimant_county: Mapped[County] = relationship()
