"""Bearer-token authentication for /api/v1; the session cookie never authenticates the API."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import g, request

from crm.api.errors import problem
from crm.models import User
from crm.services import audit, auth
from crm.services.tokens import user_for_token

OPEN_PATHS = {"/api/v1/openapi.json"}


def authenticate_request():
    if not request.path.startswith("/api/") or request.path in OPEN_PATHS:
        return None
    audit.client_ip.set(request.remote_addr)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, "A bearer token is required.")
    now, ip = datetime.now(UTC), request.remote_addr or ""
    if auth.token_throttled(ip, now=now):
        response = problem(429, "Too many invalid tokens from this address; wait a few minutes.")
        response.headers["Retry-After"] = str(int(auth.WINDOW.total_seconds()))
        return response
    user = user_for_token(token.strip(), now=now)
    if user is None:
        auth.record_token_failure(ip, now=now)
        return problem(401, "The token is unknown, revoked, or its user is inactive.")
    g.api_user = user
    return None


def actor() -> User:
    return g.api_user
