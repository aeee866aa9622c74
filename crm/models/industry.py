"""The two-level industry taxonomy (产业链 → 细分行业), each with synonyms; reference data admins edit."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import TimestampMixin


class Industry(TimestampMixin, db.Model):
    __tablename__ = "industries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("industries.id"), nullable=True, index=True)
    synonyms: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    parent: Mapped[Industry | None] = relationship(remote_side="Industry.id", back_populates="children")
    children: Mapped[list[Industry]] = relationship(back_populates="parent", order_by="Industry.sort_order")
