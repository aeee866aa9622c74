"""API bearer tokens: created and shown once, stored as SHA-256 hashes, revocable."""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from crm.extensions import db
from crm.models import ApiToken, User
from crm.services import audit
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import require
from crm.services.validation import Errors, clean_text
from crm.transactions import writing

PREFIX = "crm_"
log = logging.getLogger(__name__)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(actor: User, user: User, *, name: str = "", now: datetime) -> str:
    """Return the plain token; only its hash is kept."""
    require(actor, "token.manage", ApiToken(user_id=user.id))
    errors = Errors()
    name = clean_text(name, field="name", errors=errors, max_length=64)
    if errors:
        raise InvalidInput(errors)
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name or "", token_hash=_digest(plain),
                     prefix=plain[: len(PREFIX) + 4], created_at=now)
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "create", "api_token", token.id, summary=f"{user.username} {token.prefix}…")
    db.session.commit()
    return plain


def user_for_token(plain: str, *, now: datetime) -> User | None:
    if not plain or not plain.startswith(PREFIX) or len(plain) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plain)))
    if token is None or token.revoked_at is not None or not token.user.is_active_user:
        return None
    # Touch at most once a minute: a write per request would serialise readers on SQLite. The touch is a write
    # transaction of its own (the request may be a read, begun deferred: crm.transactions).
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token_id, user_id = token.id, token.user_id
        try:
            with writing():
                db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
                db.session.commit()
        except OperationalError:  # the database stayed locked past the busy timeout: the request goes on
            db.session.rollback()
            log.warning("last use of API token %s not recorded: the database is locked", token_id)
        user = db.session.get(User, user_id)
        return user if user is not None and user.is_active_user else None
    return token.user


def revoke_token(actor: User, token_id: int, *, now: datetime) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("api_token")
    require(actor, "token.manage", token)
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(actor, "revoke", "api_token", token.id, summary=token.prefix)
        db.session.commit()


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))
