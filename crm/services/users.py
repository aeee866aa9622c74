"""User accounts: create, edit, deactivate, reset passwords (admins), and the profile a user edits."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import ApiToken, County, Role, User
from crm.models.user import new_session_token
from crm.services import audit, auth, versions
from crm.services.errors import InvalidInput, NotFound
from crm.services.passwords import hash_password, password_problems
from crm.services.permissions import require
from crm.services.validation import Errors, clean_choice, clean_email, clean_text

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
ROLES = [r.value for r in Role]
AUDITED = ("username", "display_name", "role", "county_id", "email", "phone", "language", "is_active_user",
           "can_verify")


def snapshot(user: User) -> dict:
    return {k: getattr(user, k) for k in AUDITED}


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user


def user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def users_query(*, role: str | None = None, county_id: int | None = None, active: bool | None = None):
    stmt = select(User).order_by(User.county_id.is_(None).desc(), User.county_id, User.username)
    if role:
        stmt = stmt.where(User.role == role)
    if county_id:
        stmt = stmt.where(User.county_id == county_id)
    if active is not None:
        stmt = stmt.where(User.is_active_user.is_(active))
    return stmt


def _clean_profile(data: dict, errors: Errors, *, partial: bool) -> dict:
    out = {}
    if not partial or "display_name" in data:
        out["display_name"] = clean_text(data.get("display_name"), field="display_name", errors=errors,
                                         max_length=64, required=True)
    if "email" in data:
        out["email"] = clean_email(data.get("email"), field="email", errors=errors)
    if "phone" in data:
        out["phone"] = clean_text(data.get("phone"), field="phone", errors=errors, max_length=32)
    if "language" in data:
        out["language"] = clean_choice(data.get("language") or "zh", current_app.config["LANGUAGES"],
                                       field="language", errors=errors)
    return out


def _clean_role_and_county(data: dict, errors: Errors, current: User | None) -> dict:
    out = {}
    role = data.get("role", current.role if current else None)
    role = clean_choice(role, ROLES, field="role", errors=errors)
    county_id = data.get("county_id", current.county_id if current else None)
    county_id = int(county_id) if county_id not in (None, "", 0, "0") else None
    if county_id is not None and db.session.get(County, county_id) is None:
        errors.add("county_id", _l("Unknown county."))
    if role == Role.COUNTY_STAFF and county_id is None:
        errors.add("county_id", _l("County staff need a county."))
    out["role"], out["county_id"] = role, county_id
    # 认定 (issue 15): only city-level users may be verifiers; a role change away from them drops the flag.
    can_verify = bool(data.get("can_verify", current.can_verify if current else False))
    if can_verify and role not in (Role.ADMIN, Role.CITY_STAFF):
        if "can_verify" in data and data.get("can_verify"):
            errors.add("can_verify", _l("Only city staff and administrators can verify results (认定)."))
        can_verify = False
    out["can_verify"] = can_verify
    out["department_id"] = _clean_department(data, errors, current, role)
    return out


def _clean_department(data: dict, errors: Errors, current: User | None, role) -> int | None:
    """A department contact (role department) needs the department whose problems they act on; others have none."""
    from crm.models import Department

    if role != Role.DEPARTMENT:
        return None
    value = data.get("department_id", current.department_id if current else None)
    try:
        department = db.session.get(Department, int(value)) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        department = None
    if department is None:
        errors.add("department_id", _l("A department contact needs a department."))
        return None
    return department.id


def create_user(actor: User, data: dict, *, now: datetime) -> User:
    require(actor, "user.manage")
    errors = Errors()
    username = clean_text(data.get("username"), field="username", errors=errors, max_length=64, required=True)
    if username and not USERNAME_RE.match(username):
        errors.add("username", _l("Use 2–64 letters, digits, dot, dash or underscore."))
    elif username and user_by_username(username) is not None:
        errors.add("username", _l("This username is taken."))
    fields = _clean_profile(data, errors, partial=False) | _clean_role_and_county(data, errors, None)
    password = data.get("password") or ""
    for problem in password_problems(password, username=username or ""):
        errors.add("password", problem)
    if errors:
        raise InvalidInput(errors)
    user = User(username=username, password_hash=hash_password(password), password_changed_at=now, **fields)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "create", "user", user.id, summary=username, after=snapshot(user))
    db.session.commit()
    return user


def update_user(actor: User, user_id: int, data: dict, *, now: datetime | None = None,
                expected_version: int | None = None) -> User:
    """Admins edit anyone (role, county, active flag too); a user edits their own profile fields. With
    `expected_version`, a user changed since the editor loaded the form is refused (EditConflict)."""
    user = get_user(user_id)
    admin_edit = actor.role == Role.ADMIN
    require(actor, "user.manage" if admin_edit else "self.edit", user)
    errors = Errors()
    fields = _clean_profile(data, errors, partial=True)
    if admin_edit:
        fields |= _clean_role_and_county(data, errors, user)
        if "is_active_user" in data:
            fields["is_active_user"] = bool(data["is_active_user"])
            if user.id == actor.id and not fields["is_active_user"]:
                errors.add("is_active_user", _l("You cannot deactivate yourself."))
    if errors:
        raise InvalidInput(errors)
    versions.bump(user, "user", expected_version)
    before = snapshot(user)
    for key, value in fields.items():
        setattr(user, key, value)
    if before["is_active_user"] and not user.is_active_user:
        user.session_token = new_session_token()  # deactivation ends every session at once
        _revoke_tokens(actor, user, now or datetime.now(UTC))  # and its API tokens, for good: reactivating revives none
    old, new = audit.changes(before, snapshot(user))
    if new:
        audit.record(actor, "update", "user", user.id, summary=user.username, before=old, after=new)
    db.session.commit()
    return user


def _revoke_tokens(actor: User, user: User, now: datetime) -> None:
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = now
        audit.record(actor, "revoke", "api_token", token.id, summary=token.prefix)


def reset_password(actor: User, user_id: int, password: str, *, now: datetime) -> None:
    require(actor, "user.manage")
    user = get_user(user_id)
    problems = password_problems(password or "", username=user.username)
    if problems:
        raise InvalidInput({"password": problems})
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.locked_until = None
    auth.clear_failures(user.username)
    user.session_token = new_session_token()
    audit.record(actor, "reset_password", "user", user.id, summary=user.username)
    db.session.commit()
