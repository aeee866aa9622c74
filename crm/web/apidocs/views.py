"""The API's reference (ReDoc over /api/v1/openapi.json), from vendored assets: open like the spec itself."""
from __future__ import annotations

from flask import Blueprint, make_response, render_template

from crm.web.security_headers import CSP

bp = Blueprint("apidocs", __name__)


@bp.route("/api/v1/docs")
def index():
    response = make_response(render_template("apidocs/redoc.html"))
    # ReDoc searches in a web worker it creates from a blob: allowed on this page only.
    # (The site's policy names worker-src already, and a browser obeys a directive's first occurrence only.)
    response.headers["Content-Security-Policy"] = CSP.replace("worker-src 'self'", "worker-src 'self' blob:")
    return response
