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
from crm.transactions import writing

WINDOW = timedelta(minutes=15)
# Failed bearer tokens (and calendar-feed tokens) are counted in the same table under names no user can have
# (USERNAME_RE has no "#").
API_TOKEN_ATTEMPT = "#api-token"
CALENDAR_TOKEN_ATTEMPT = "#calendar-token"


def _failures(now: datetime, window: timedelta, **match) -> int:
    stmt = select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at >= now - window)
    for column, value in match.items():
        stmt = stmt.where(getattr(LoginAttempt, column) == value)
    return db.session.scalar(stmt) or 0


def _address_failures(ip: str, now: datetime) -> int:
    """Failed sign-ins from one address (any username); bad API tokens are counted on their own."""
    return db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.ip == ip, ~LoginAttempt.username.startswith("#"), LoginAttempt.succeeded.is_(False),
        LoginAttempt.at >= now - WINDOW)) or 0


def _lock_window() -> timedelta:
    return timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def authenticate(username: str, password: str, *, ip: str, now: datetime) -> User:
    """Return the user or raise AuthError. Throttling is checked before hashing: a hash costs ~100 ms.

    Two counters, both per address, so a stranger elsewhere can neither lock an account nor a whole office:
    LOGIN_MAX_FAILURES bad passwords for one username from one address refuse that username from that address
    for LOGIN_LOCK_MINUTES (whether or not the username exists: the answer must not tell), and
    LOGIN_IP_MAX_FAILURES failures of any username from one address throttle that address. Behind a proxy the
    address is the client's only with PROXY_FIX_X_FOR set (crm/__init__.py)."""
    cfg = current_app.config
    username = (username or "").strip()[:64]
    if _address_failures(ip, now) >= cfg["LOGIN_IP_MAX_FAILURES"]:
        raise AuthError("throttled")
    if username and _failures(now, _lock_window(), username=username, ip=ip) >= cfg["LOGIN_MAX_FAILURES"]:
        raise AuthError("locked")
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    ok = verify_password(user.password_hash if user else None, password or "")
    db.session.add(LoginAttempt(username=username, ip=ip, succeeded=ok, at=now))
    if not ok:
        if (user is not None and _failures(now, _lock_window(), username=username, ip=ip) + 1
                == cfg["LOGIN_MAX_FAILURES"]):
            user.locked_until = now + _lock_window()  # shown to administrators; the refusal is per address
            audit.record(None, "lock", "user", user.id, summary=f"failed sign-ins for {username} from {ip}"[:255])
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


def clear_failures(username: str) -> None:
    """An administrator's reset ends every per-address lock of the account (in the caller's unit of work)."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.username == username,
                                                  LoginAttempt.succeeded.is_(False)))


def token_throttled(ip: str, *, now: datetime, kind: str = API_TOKEN_ATTEMPT) -> bool:
    """Too many unknown or revoked tokens of this kind from this address: refuse before looking the next one up."""
    return _failures(now, WINDOW, username=kind, ip=ip) >= current_app.config["API_TOKEN_IP_MAX_FAILURES"]


def record_token_failure(ip: str, *, now: datetime, kind: str = API_TOKEN_ATTEMPT) -> None:
    """Counted in a write transaction of its own: the request may be a GET, whose reads take no write lock."""
    db.session.rollback()
    with writing():
        db.session.add(LoginAttempt(username=kind, ip=ip, succeeded=False, at=now))
        db.session.commit()


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
