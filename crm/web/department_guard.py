"""The one guard for department contacts (role department, 部门联络员): whatever they sign in with (session or API
token), they reach only the pages meant for them — their department's problems, their profile and notifications —
and every other endpoint answers 403, whatever its own checks would say."""
from __future__ import annotations

from flask import Flask, abort, g, request
from flask_login import current_user

from crm.models import Role

ALLOWED = frozenset({
    # their department's problems: the list, the detail (the project or lead by name only) and 办理/办结
    "problems.index", "problems.detail", "problems.advance",
    "api_problems.problem_list", "api_problems.problem_get", "api_problems.problem_advance",
    "api_problems.department_list",
    # themselves
    "home.index", "auth.profile", "auth.change_password", "auth.create_token", "auth.revoke_token", "auth.logout",
    "notifications.index", "notifications.read", "notifications.read_all", "notifications.channels",
    "api_foundation.me", "api_notifications.notification_list", "api_notifications.notification_read",
    # what anyone may reach
    "static", "auth.login", "auth.set_language", "health.healthz", "health.readyz", "api-docs.openapi_json",
    "apidocs.index", "home.favicon", "webapp.manifest", "webapp.service_worker", "webapp.session_state",
    "followups.calendar_feed",  # the token in the URL is the key, whoever else is signed in
})


def allows(user, endpoint: str | None) -> bool:
    return getattr(user, "role", None) != Role.DEPARTMENT or endpoint in ALLOWED


def _check():
    if request.path.startswith("/api/"):
        user = g.get("api_user")
    else:
        user = current_user if current_user.is_authenticated else None
    if user is not None and not allows(user, request.endpoint):
        abort(403)


def init_app(app: Flask) -> None:
    """After the API's bearer authentication (crm.api.init_app), so g.api_user is known."""
    app.before_request(_check)
