"""The JSON API (/api/v1): bearer auth, problem+json errors, OpenAPI generated from the schemas."""
from __future__ import annotations

import importlib
import importlib.util

from flask import Flask

from crm.extensions import api, csrf

# Each resource module crm/api/<name>.py defines a flask-smorest Blueprint `bp`.
FEATURES = ["foundation", "leads", "interactions", "followups", "notifications", "search", "outreach", "projects",
            "problems", "commitments", "funds", "events", "targets", "reports", "imports", "verification"]


def init_app(app: Flask) -> None:
    from crm.api.auth import authenticate_request
    from crm.web.request_guards import INT_MAX, BoundedIntConverter

    api.register_converter(BoundedIntConverter, lambda _c: {"type": "integer", "minimum": 0, "maximum": INT_MAX})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for name in FEATURES:
        if importlib.util.find_spec(f"crm.api.{name}") is None:
            continue  # a feature not built yet
        bp = importlib.import_module(f"crm.api.{name}").bp
        csrf.exempt(bp)  # bearer tokens, never cookies: nothing for a forged form to ride on
        api.register_blueprint(bp)
    app.before_request(authenticate_request)
