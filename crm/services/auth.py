"""Sign-in, throttling and lockout (counted in the database, so every worker agrees), logout, password change."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from crm.extensions import db
from crm.models import LoginAttempt, User
from crm.models.user import new_session_token
from crm.services import audit
from crm.services.errors import AuthError, InvalidInput
from crm.services.passwords import hash_password, password_problems, verify_password

WINDOW = timedelta(minutes=15)


def _recent_failures(column, value: str, now: datetime) -> int:
    return db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= now - WINDOW)
    ) or 0


def authenticate(username: str, password: str, *, ip: str, now: datetime) -> User:
    """Return the user or raise AuthError. Throttling is checked before hashing: a hash costs ~100 ms."""
    cfg = current_app.config
    username = (username or "").strip()[:64]
    if _recent_failures(LoginAttempt.ip, ip, now) >= cfg["LOGIN_IP_MAX_FAILURES"]:
        raise AuthError("throttled")
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise AuthError("locked")
    ok = verify_password(user.password_hash if user else None, password or "")
    db.session.add(LoginAttempt(username=username, ip=ip, succeeded=ok, at=now))
    if not ok:
        if user is not None and _recent_failures(LoginAttempt.username, username, now) + 1 >= cfg["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
            audit.record(None, "lock", "user", user.id, summary=f"locked after failed sign-ins: {username}")
        db.session.commit()
        raise AuthError("bad_credentials")
    if not user.is_active_user:
        db.session.commit()
        raise AuthError("inactive")
    user.locked_until = None
    user.last_login_at = now
    audit.record(user, "login", "user", user.id, summary=user.username)
    db.session.commit()
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the id must carry the user's current session token."""
    user_id, _, token = (session_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_token != token or not user.is_active_user:
        return None
    return user


def end_sessions(user: User) -> None:
    """Log out everywhere: every copy of the old session or remember cookie stops working."""
    user.session_token = new_session_token()
    audit.record(user, "logout", "user", user.id, summary=user.username)
    db.session.commit()


def change_password(user: User, current: str, new: str, *, now: datetime) -> None:
    if not verify_password(user.password_hash, current or ""):
        raise InvalidInput({"current_password": [_l("Current password is wrong.")]})
    problems = password_problems(new or "", username=user.username)
    if problems:
        raise InvalidInput({"new_password": problems})
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    user.session_token = new_session_token()
    audit.record(user, "change_password", "user", user.id, summary=user.username)
    db.session.commit()


def prune_login_attempts(now: datetime, keep: timedelta = timedelta(days=30)) -> int:
    result = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - keep))
    db.session.commit()
    return result.rowcount or 0
