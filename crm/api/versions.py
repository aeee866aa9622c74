"""Optimistic concurrency over HTTP: reads carry `ETag: "<version>"` (and a `version` field); an update sent with
`If-Match` (412 when stale) or a body `version` (409 when stale) is refused if the record changed since."""
from __future__ import annotations

from contextlib import contextmanager

from flask import request

from crm.services import versions
from crm.services.errors import EditConflict

IF_MATCH_DOC = {"parameters": [{
    "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
    "description": 'The ETag of the read this update is based on (`"3"`); a record changed since answers 412. '
                   "Or send `version` in the body (409 when stale). Without either the update is unconditional."}],
    "responses": {
        "409": {"description": "The body's `version` is stale: problem+json with `current_version`, `changed_by`, "
                               "`changed_at`"},
        "412": {"description": "The If-Match ETag is stale: problem+json with `current_version`, `changed_by`, "
                               "`changed_at`"}}}


class PreconditionFailed(EditConflict):
    """The If-Match ETag no longer names the record's version."""

    status = 412


def etag(version: int) -> dict:
    return {"ETag": f'"{version}"'}


def expected_version(data: dict) -> tuple[int | None, bool]:
    """(the version the client based its update on, or None; whether it came from If-Match). Pops `version`
    from the body. If-Match wins; `*` (any version) and an absent header check nothing."""
    body = versions.parse(data.pop("version", None))
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return body, False
    tags = request.if_match.as_set()  # strong tags only: a weak one never matches under If-Match (RFC 9110)
    only = next(iter(tags)) if len(tags) == 1 else None
    return (versions.parse(only) if only is not None and only.isdigit() else versions.STALE), True


@contextmanager
def precondition(from_header: bool):
    """Let a stale update through as 409, or as 412 when the client asked with If-Match."""
    try:
        yield
    except EditConflict as error:
        if not from_header:
            raise
        raise PreconditionFailed(error.message, current_version=error.current_version,
                                 changed_by=error.changed_by, changed_at=error.changed_at) from None
