"""Logging for the whole process: one format (text, or JSON lines with CRM_LOG_FORMAT=json), every record
carrying the request id and user id of the request it belongs to, and one access line per request with its
duration. Configured by the factory; the scheduler's INFO lines (job runs, catch-up) go through it too."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, g, has_request_context, request

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s user=%(user_id)s] %(message)s"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # a proxy's X-Request-ID is kept only if it is this plain
_MARK = "_crm_handler"
access_log = logging.getLogger("crm.request")


class ContextFilter(logging.Filter):
    """Adds request_id and user_id ("-" outside a request or before sign-in) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = user_id = "-"
        if has_request_context():
            request_id = g.get("request_id", "-")
            user = g.get("api_user") or g.get("_login_user")
            if user is not None and getattr(user, "is_authenticated", False):
                user_id = str(user.id)
        record.request_id, record.user_id = request_id, user_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", "-"), "user_id": getattr(record, "user_id", "-")}
        for key in ("method", "path", "status", "duration_ms", "remote_addr"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def init_app(app: Flask) -> None:
    _configure_root(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    app.before_request(_start)
    app.after_request(_finish)


def _configure_root(level: str, fmt: str) -> None:
    """One handler on the root logger, replaced (not added again) when another app is created in the process."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    setattr(handler, _MARK, True)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(getattr(logging, str(level).upper(), logging.INFO))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a dozen lines per app otherwise


_FEED_TOKEN = re.compile(r"^(/followups/calendar/)[^/]+\.ics$")


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
    g.request_started = time.perf_counter()


def _logged_path() -> str:
    """The path as logged: a calendar feed's token is its only key, so it never reaches a log file."""
    return _FEED_TOKEN.sub(r"\1***.ics", request.path)


def _finish(response):
    started = g.get("request_started")
    if started is not None and not request.path.startswith("/static/"):
        duration = round((time.perf_counter() - started) * 1000, 1)
        path = _logged_path()
        access_log.info("%s %s %s %.1fms %s", request.method, path, response.status_code, duration,
                        request.remote_addr or "-",
                        extra={"method": request.method, "path": path, "status": response.status_code,
                               "duration_ms": duration, "remote_addr": request.remote_addr})
    if g.get("request_id"):
        response.headers["X-Request-ID"] = g.request_id
    return response
