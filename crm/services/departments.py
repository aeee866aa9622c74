"""Departments (职能部门): reference data loaded from crm/reference/departments.tsv, editable by admins; a department
is the city's (county_id None) or a county's own."""
from __future__ import annotations

import csv
import re
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import County, Department, User
from crm.services import audit, versions
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import is_admin, require, rule
from crm.services.validation import Errors, clean_text

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "departments.tsv"
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{2,40}$")
FIELDS = ("code", "name", "county_id", "sort_order", "is_active")


@rule("department.manage")
def _manage(actor: User, _obj) -> bool:
    return is_admin(actor)


def load_reference_departments(*, commit: bool = True) -> int:
    """Insert departments missing by code; never overwrite an admin's edits. Returns how many were added
    (commit=False: flushed into the caller's unit of work, as the demo seed does)."""
    existing = set(db.session.scalars(select(Department.code)))
    counties = {c.code: c.id for c in db.session.scalars(select(County))}
    added = 0
    with REFERENCE.open(encoding="utf-8") as fh:
        for order, row in enumerate(csv.DictReader(fh, delimiter="\t")):
            county_code = (row.get("county_code") or "").strip()
            if row["code"] in existing or (county_code and county_code not in counties):
                continue
            db.session.add(Department(code=row["code"], name=row["name"], sort_order=order,
                                      county_id=counties.get(county_code) if county_code else None))
            added += 1
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return added


def all_departments(*, active_only: bool = False, county_id: int | None = None, city_only: bool = False
                    ) -> list[Department]:
    stmt = select(Department).order_by(Department.county_id.is_not(None), Department.county_id,
                                       Department.sort_order, Department.id)
    if active_only:
        stmt = stmt.where(Department.is_active.is_(True))
    if city_only:
        stmt = stmt.where(Department.county_id.is_(None))
    elif county_id is not None:
        stmt = stmt.where(Department.county_id == county_id)
    return list(db.session.scalars(stmt))


def get_department(department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None:
        raise NotFound("department")
    return department


def department_by_code(code: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.code == code))


def snapshot(department: Department) -> dict:
    return {k: getattr(department, k) for k in FIELDS}


def _clean(data: dict, current: Department | None) -> dict:
    errors = Errors()
    out: dict = {}
    if current is None or "code" in data:
        code = clean_text(data.get("code"), field="code", errors=errors, max_length=40, required=True)
        if code and not CODE_RE.match(code):
            errors.add("code", _l("Use 2–40 letters, digits, dash or underscore."))
        elif code and (other := department_by_code(code)) is not None and other is not current:
            errors.add("code", _l("This code is taken."))
        out["code"] = code
    if current is None or "name" in data:
        out["name"] = clean_text(data.get("name"), field="name", errors=errors, max_length=60, required=True)
    if current is None or "county_id" in data:
        county_id = data.get("county_id")
        if county_id in (None, "", 0, "0"):
            out["county_id"] = None
        else:
            try:
                county = db.session.get(County, int(county_id))
            except (TypeError, ValueError):
                county = None
            if county is None:
                errors.add("county_id", _l("Unknown county."))
            else:
                out["county_id"] = None if county.is_city else county.id
    if "sort_order" in data:
        try:
            out["sort_order"] = max(0, min(int(data.get("sort_order") or 0), 100_000))
        except (TypeError, ValueError):
            errors.add("sort_order", _l("Not a valid number."))
    if "is_active" in data:
        out["is_active"] = bool(data.get("is_active"))
    if errors:
        raise InvalidInput(errors)
    return out


def create_department(actor: User, data: dict) -> Department:
    require(actor, "department.manage")
    fields = _clean(data, None)
    department = Department(**fields)
    db.session.add(department)
    db.session.flush()
    audit.record(actor, "create", "department", department.id, summary=department.name, after=snapshot(department))
    db.session.commit()
    return department


def update_department(actor: User, department_id: int, data: dict, *, expected_version: int | None = None
                      ) -> Department:
    require(actor, "department.manage")
    department = get_department(department_id)
    fields = _clean(data, department)
    versions.bump(department, "department", expected_version)
    before = snapshot(department)
    for key, value in fields.items():
        setattr(department, key, value)
    old, new = audit.changes(before, snapshot(department))
    if new:
        audit.record(actor, "update", "department", department.id, summary=department.name, before=old, after=new)
    db.session.commit()
    return department


def contacts_of(department_id: int) -> list[User]:
    """The department's active contact users (role department)."""
    return list(db.session.scalars(select(User).where(User.department_id == department_id,
                                                      User.role == "department",
                                                      User.is_active_user.is_(True)).order_by(User.id)))
