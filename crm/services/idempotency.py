"""Idempotent creates: a key (a form's one-time token, an API Idempotency-Key) makes a record once per user;
a replay of the key answers with that first record. Only the database's unique constraint decides who was
first — never a read-then-insert — so two concurrent submissions create one record."""
from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, event, select
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.models import IdempotencyKey, User
from crm.services.errors import Conflict, InvalidInput, NotFound

KEEP = timedelta(hours=24)  # a key is honoured at least this long; purge_keys drops older ones
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-.:]{8,100}$")
FIELD = "idempotency_key"


def fingerprint(payload) -> str:
    """A stable hash of a request body, to tell a replay from a different request under the same key."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def clean_key(value) -> str | None:
    if value in (None, ""):
        return None
    value = str(value).strip()
    if not KEY_PATTERN.fullmatch(value):
        raise InvalidInput({FIELD: [_l("An idempotency key is 8 to 100 letters, digits or - _ . :")]})
    return value


def create_once(actor: User, key, model, create: Callable[[], object], *, now: datetime,
                request_hash: str | None = None) -> tuple[object, bool]:
    """Run `create()` (a service command that commits) unless `actor` already used `key`: then return the
    record that first use made. Returns (record, replayed). The key's row is written in the create's own
    transaction, so a failed create (a validation error, a duplicate warning) leaves the key free to retry."""
    key = clean_key(key)
    if key is None:
        return create(), False
    scope = model.__tablename__
    found = _find(actor.id, key)
    if found is not None:
        return _replay(found, model, scope, request_hash), True
    claim = IdempotencyKey(user_id=actor.id, key=key, scope=scope, fingerprint=request_hash, created_at=now)
    db.session.add(claim)
    try:
        db.session.flush()  # waits on a concurrent holder of the key; fails once that one commits
    except IntegrityError:
        db.session.rollback()
        return _replay(_settled(actor.id, key), model, scope, request_hash), True
    with _binding(claim, model):
        record = create()
    if claim.object_id is None:  # the create committed nothing new of `model` (an existing record came back)
        claim = db.session.merge(claim)
        claim.object_id = record.id
        db.session.commit()
    return record, False


class _binding:
    """While the create runs: the first new row of `model` is written into the claim in the same commit."""

    def __init__(self, claim: IdempotencyKey, model):
        self.claim, self.model, self.made = claim, model, None
        self.session = db.session()

    def _persisted(self, _session, instance):
        if self.made is None and isinstance(instance, self.model):
            self.made = instance

    def _before_commit(self, session):
        if self.made is None:
            session.flush()
        if self.made is not None and self.claim.object_id is None and self.claim in session:
            self.claim.object_id = self.made.id

    def __enter__(self):
        event.listen(self.session, "pending_to_persistent", self._persisted)
        event.listen(self.session, "before_commit", self._before_commit)
        return self

    def __exit__(self, *exc):
        event.remove(self.session, "pending_to_persistent", self._persisted)
        event.remove(self.session, "before_commit", self._before_commit)
        return False


def _find(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                          IdempotencyKey.key == key))


def _settled(user_id: int, key: str, *, wait: float = 2.0) -> IdempotencyKey:
    """The row a concurrent create committed; it carries its record's id from that same commit."""
    deadline = time.monotonic() + wait
    while True:
        found = _find(user_id, key)
        if found is not None and found.object_id is not None or time.monotonic() > deadline:
            break
        db.session.rollback()
        time.sleep(0.05)
    if found is None:
        raise Conflict(str(_l("This request is still being processed: try again in a moment.")))
    return found


def _replay(found: IdempotencyKey, model, scope: str, request_hash: str | None):
    if found.scope != scope or (request_hash and found.fingerprint and found.fingerprint != request_hash):
        raise InvalidInput({FIELD: [_l("This idempotency key was already used for a different request.")]})
    if found.object_id is None:
        raise Conflict(str(_l("This request is still being processed: try again in a moment.")))
    record = db.session.get(model, found.object_id)
    if record is None:
        raise NotFound(scope)
    return record


def purge_keys(now: datetime) -> int:
    """Forget keys older than KEEP (a periodic job): a replay after that creates anew."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP))
    db.session.commit()
    return result.rowcount or 0
