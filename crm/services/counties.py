"""Counties: reference data loaded from crm/reference/counties.tsv, editable by admins."""
from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from crm.extensions import db
from crm.models import County, CountyKind, User
from crm.services import audit, versions
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import require
from crm.services.validation import Errors, clean_choice, clean_text

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "counties.tsv"
KINDS = [k.value for k in CountyKind]


def load_reference_counties() -> int:
    """Insert counties missing by code; never overwrite an admin's edits. Returns how many were added."""
    existing = set(db.session.scalars(select(County.code)))
    added = 0
    with REFERENCE.open(encoding="utf-8") as fh:
        for order, row in enumerate(csv.DictReader(fh, delimiter="\t")):
            if row["code"] in existing:
                continue
            db.session.add(County(code=row["code"], name=row["name"], kind=row["kind"], sort_order=order))
            added += 1
    db.session.commit()
    return added


def all_counties(*, active_only: bool = False) -> list[County]:
    stmt = select(County).order_by(County.sort_order, County.id)
    if active_only:
        stmt = stmt.where(County.is_active.is_(True))
    return list(db.session.scalars(stmt))


def county_by_code(code: str) -> County | None:
    return db.session.scalar(select(County).where(County.code == code))


def city_county() -> County | None:
    return db.session.scalar(select(County).where(County.kind == CountyKind.CITY).order_by(County.id))


def get_county(county_id: int) -> County:
    county = db.session.get(County, county_id)
    if county is None:
        raise NotFound("county")
    return county


def update_county(actor: User, county_id: int, data: dict, *, expected_version: int | None = None) -> County:
    """Rename, reorder or (de)activate a county; with `expected_version`, one changed since the form opened is
    refused (EditConflict)."""
    require(actor, "county.manage")
    county = get_county(county_id)
    errors = Errors()
    name = clean_text(data.get("name"), field="name", errors=errors, max_length=60, required=True)
    kind = clean_choice(data.get("kind"), KINDS, field="kind", errors=errors)
    if errors:
        raise InvalidInput(errors)
    versions.bump(county, "county", expected_version)
    before = {"name": county.name, "kind": county.kind, "is_active": county.is_active, "sort_order": county.sort_order}
    county.name, county.kind = name, kind
    county.is_active = bool(data.get("is_active", county.is_active))
    county.sort_order = int(data.get("sort_order", county.sort_order) or 0)
    old, new = audit.changes(before, {"name": county.name, "kind": county.kind, "is_active": county.is_active,
                                      "sort_order": county.sort_order})
    if new:
        audit.record(actor, "update", "county", county.id, summary=county.name, before=old, after=new)
    db.session.commit()
    return county
