"""Saved searches: a user's named query and filters of the search page, private or shared with a county or the
whole city."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import UtcDateTime, utcnow
from crm.models.user import User


class SearchScope(StrEnum):
    PRIVATE = "private"  # only its owner
    COUNTY = "county"    # everyone of the owner's county
    CITY = "city"        # everyone


class SavedSearch(db.Model):
    __tablename__ = "saved_searches"
    __table_args__ = (
        CheckConstraint("scope IN ('private', 'county', 'city')", name="scope_known"),
        CheckConstraint("scope != 'county' OR county_id IS NOT NULL", name="county_scope_has_county"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    # {"q": str, "industry_id": int, "county_id": int, "kind": str, "status": str, "is_key": bool, "type": str}
    query: Mapped[dict] = mapped_column(JSON, nullable=False)
    scope: Mapped[str] = mapped_column(String(10), nullable=False, default=SearchScope.PRIVATE.value)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
