"""Security headers on every response (one after_request hook); nothing else lives here."""
from __future__ import annotations

from flask import Flask, Response, g, request

# Scripts only from this site: templates carry no inline script or on* handler (static/js/app.js wires data-*
# attributes; page data travels in <script type="application/json"> blocks, which are not executed).
# tests/web/test_security_headers.py scans the templates for both. The visit form's service worker and manifest
# (crm/web/webapp) come from this site too.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
       "object-src 'none'")


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    user = g.get("_login_user")  # flask-login's cache: read it, never load a user here
    if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
        headers["Cache-Control"] = "no-store"  # personal data must not sit in a shared or browser cache
    return response
