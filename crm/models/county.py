"""Counties: the city itself plus its districts, counties and development zones (reference data)."""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.models.base import TimestampMixin, VersionedMixin


class CountyKind(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    COUNTY = "county"
    COUNTY_CITY = "county_city"
    ZONE = "zone"


class County(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default=CountyKind.COUNTY.value)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    @property
    def is_city(self) -> bool:
        return self.kind == CountyKind.CITY

    def __repr__(self) -> str:
        return f"<County {self.code} {self.name}>"
