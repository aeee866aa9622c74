"""Users, their API tokens and the sign-in attempts that throttle them."""
from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin, UtcDateTime, VersionedMixin, utcnow
from crm.models.county import County


class Role(StrEnum):
    ADMIN = "admin"
    CITY_STAFF = "city_staff"
    COUNTY_STAFF = "county_staff"
    VIEWER = "viewer"
    DEPARTMENT = "department"  # 部门联络员: a department's contact, acting on its problems only


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_calendar_token", "calendar_token", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(64), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default=Role.VIEWER.value)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), nullable=True, index=True)
    # Department contacts (role department) only: the department whose problems they act on.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True,
                                                      index=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="zh")
    is_active_user: Mapped[bool] = mapped_column("is_active", Boolean, nullable=False, default=True)
    # Rotated on logout and password change: a copied session cookie stops working (DESIGN.md §12).
    session_token: Mapped[str] = mapped_column(String(64), nullable=False, default=new_session_token)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    notify_email: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    notify_webhook: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The secret in the URL of the user's iCal feed of follow-ups (crm.services.calendar); None until first asked.
    # unique through an index (uq_users_calendar_token below): SQLite can add that without copying `users`
    calendar_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # 认定: a city-level user the admin trusts to check evidence (issue 15); separate from entering results.
    can_verify: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    county: Mapped[County | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_user

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_city_level(self) -> bool:
        """Admins and city staff act city-wide; county staff act for their own county."""
        return self.role in (Role.ADMIN, Role.CITY_STAFF)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(db.Model):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="", index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow, index=True)
