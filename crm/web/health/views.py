"""/healthz (the process answers) and /readyz (it can serve: database and schema), for load balancers and
monitoring: no sign-in, no data, never cached."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify

from crm.services import health

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    return _no_store(jsonify(status="ok"), 200)


@bp.route("/readyz")
def readyz():
    ready, checks = health.readiness(datetime.now(UTC))
    return _no_store(jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503)


def _no_store(response, status: int):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
