"""The HTML side: blueprints, sign-in wiring, error pages and template helpers."""
from __future__ import annotations

import importlib
import importlib.util
import json
from datetime import UTC, datetime

from flask import Flask, render_template, request
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from crm.extensions import login_manager
from crm.services import audit
from crm.services.auth import load_session_user
from crm.services.permissions import can
from crm.web import labels

# Each feature is a package crm/web/<name>/ whose views.py defines `bp`; listed here in navigation order.
FEATURES = ["home", "auth", "admin", "leads", "interactions", "conflicts", "followups", "notifications", "search",
            "outreach", "projects", "problems", "commitments", "funds", "events", "reports", "verification", "snapshots",
            "imports", "health", "apidocs", "webapp"]


def init_app(app: Flask) -> None:
    from crm.web import request_guards, security_headers

    request_guards.init_app(app)  # before the blueprints: their routes use the bounded <int:> converter
    for name in FEATURES:
        if importlib.util.find_spec(f"crm.web.{name}") is None:
            continue  # a feature not built yet
        app.register_blueprint(importlib.import_module(f"crm.web.{name}.views").bp)
    _init_login()
    _register_errors(app)
    app.before_request(_remember_client_ip)
    security_headers.init_app(app)
    app.json.ensure_ascii = False  # API.md: Chinese text unescaped
    app.jinja_env.globals.update(get_locale=get_locale, can=can, now_utc=lambda: datetime.now(UTC), nav_items=labels.nav_items,
                                 admin_nav_items=labels.admin_nav_items,
                                 role_label=labels.role_label, county_kind_label=labels.county_kind_label)
    app.jinja_env.filters["localtime"] = _localtime
    app.jinja_env.filters["plainjson"] = lambda value: json.dumps(value, ensure_ascii=False)


def _init_login() -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_session_user)


def _remember_client_ip() -> None:
    audit.client_ip.set(request.remote_addr)


def _localtime(value, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    return format_datetime(value, fmt) if value else ""


def _register_errors(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    from crm.services.errors import DomainError, NotFound, PermissionDenied

    def http_error(error: HTTPException):
        if request.path.startswith("/api/"):
            from crm.api.errors import problem_for_http

            return problem_for_http(error)
        status = error.code or 500
        template = status if status in (403, 404, 500) else 400
        return render_template(f"errors/{template}.html", error=error), status

    app.register_error_handler(HTTPException, http_error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        from crm.web.forms import wants_json

        if wants_json():  # a page script's send (static/js/visit-form.js): it refreshes the token and retries
            return {"error": "csrf", "message": str(_l("The form has expired. Reload the page and try again."))}, 400
        # A form page answers GET at the address it posts to: back there, not to the start page. The visit
        # form keeps a draft of what was typed (static/js/visit-form.js), so going back loses nothing.
        back = request.path if request.method == "POST" and request.url_rule is not None and \
            "GET" in (request.url_rule.methods or ()) else None
        kept = request.endpoint in ("interactions.create", "interactions.create_for_lead")
        return render_template("errors/400.html", error=error, csrf=True, back=back, draft_kept=kept), 400

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        """A service refused: problem+json for the API, the matching error page for HTML."""
        if request.path.startswith("/api/"):
            from crm.api.errors import problem_for_domain

            return problem_for_domain(error)
        if isinstance(error, PermissionDenied):
            return render_template("errors/403.html", error=error), 403
        if isinstance(error, NotFound):
            return render_template("errors/404.html", error=error), 404
        return render_template("errors/400.html", error=error), error.status

    @app.errorhandler(500)
    def server_error(error):
        if request.path.startswith("/api/"):
            from crm.api.errors import problem

            return problem(500)
        return render_template("errors/500.html", error=error), 500

    from sqlalchemy.exc import OperationalError

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        """The database is down, restarting or busy past the timeout: a clean 503 to retry, not a crash page."""
        app.logger.error("database unavailable: %s", str(error).splitlines()[0][:300])
        from crm.extensions import db

        try:
            db.session.remove()
        except Exception:  # noqa: BLE001  (the connection is already gone)
            pass
        if request.path.startswith("/api/"):
            from crm.api.errors import problem

            response = problem(503, "The database is not reachable at the moment; try again shortly.")
        else:
            try:
                response = app.make_response((render_template("errors/500.html", error=error), 503))
            except Exception:  # noqa: BLE001  (the page itself needed the database)
                response = app.make_response(("503 Service Unavailable", 503, {"Content-Type": "text/plain"}))
        response.headers["Retry-After"] = "5"
        return response
