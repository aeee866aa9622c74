"""The JSON API (/api/v1): bearer auth, problem+json errors, OpenAPI generated from the schemas."""
from __future__ import annotations

from flask import Flask

from crm.extensions import api, csrf


def init_app(app: Flask) -> None:
    from crm.api.auth import authenticate_request
    from crm.api.foundation import bp as foundation_bp

    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for bp in (foundation_bp,):
        csrf.exempt(bp)  # bearer tokens, never cookies: nothing for a forged form to ride on
        api.register_blueprint(bp)
    app.before_request(authenticate_request)
