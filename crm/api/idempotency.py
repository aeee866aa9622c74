"""The Idempotency-Key header on POST creates: the same key from the same user answers with the record its first
use made (the same status, the same id, and `Idempotent-Replayed: true`); the same key with a different body
(or on another endpoint) is 422; a key whose first request is still running is 409 (retry it)."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import request

from crm.api.auth import actor
from crm.services import idempotency

HEADER = "Idempotency-Key"
DESCRIPTION = ("Optional. A client-chosen key (8–100 of A–Z a–z 0–9 - _ . :), new for each record to create and "
               "kept for a retry: a repeat with the same key answers with the first record (same status and id, "
               "header Idempotent-Replayed: true) instead of creating again; the same key with a different body "
               "is 422. Keys are honoured for at least 24 hours.")
PARAMETER = {"in": "header", "name": HEADER, "required": False, "description": DESCRIPTION,
             "schema": {"type": "string", "pattern": idempotency.KEY_PATTERN.pattern}}


def create_once(model, create) -> tuple[object, dict]:
    """→ (record, response headers) for a create endpoint's return value."""
    body = request.get_json(silent=True)
    record, replayed = idempotency.create_once(
        actor(), request.headers.get(HEADER), model, create, now=datetime.now(UTC),
        request_hash=idempotency.fingerprint({"path": request.path, "body": body}))
    return record, ({"Idempotent-Replayed": "true"} if replayed else {})
