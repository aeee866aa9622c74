"""Configuration: defaults, then instance/config.py, then CRM_* environment variables (Flask's
from_prefixed_env, checked against each default's type), or instead of both a test mapping."""
from __future__ import annotations

import copy
import json
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from flask import Flask


class ConfigError(RuntimeError):
    """The configuration cannot run: the message says what to set."""


DEFAULTS: dict = {
    "ENV_NAME": "development",  # development | production | testing
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "text",  # text | json (one JSON object per line, for a log collector)
    "SECRET_KEY": None,
    "SQLALCHEMY_DATABASE_URI": None,  # default: SQLite file in the instance folder
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SQLITE_BUSY_TIMEOUT_MS": 10_000,
    "BABEL_DEFAULT_LOCALE": "zh",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ["zh", "en"],
    "DISPLAY_TIMEZONE": "Asia/Shanghai",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # True in production (served over HTTPS)
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": timedelta(days=14),
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
    # 认定 (issue 15): the annual figures count verified signings and funds only; evidence files up to 10 MB,
    # kept under ATTACHMENT_FOLDER (default instance/attachments).
    "REPORTS_COUNT_VERIFIED_ONLY": True,
    "ATTACHMENT_MAX_BYTES": 10_000_000,
    "ATTACHMENT_FOLDER": None,
    # Sign-in throttling, counted in the database so every worker sees the same numbers.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCK_MINUTES": 15,
    "LOGIN_IP_MAX_FAILURES": 30,
    "API_TOKEN_IP_MAX_FAILURES": 20,  # unknown or revoked bearer tokens from one address per 15 minutes
    # Duplicate checks answered only by another county's masked contact data, per user per hour (PIPL).
    "DUPLICATE_PROBE_LIMIT": 20,
    # How many proxies in front of gunicorn set X-Forwarded-For/-Proto (werkzeug ProxyFix); 0 trusts none.
    "PROXY_FIX_X_FOR": 0,
    # argon2 parameters (OWASP minimum is t=2, m=19 MiB); tests use cheaper ones.
    "ARGON2_TIME_COST": 2,
    "ARGON2_MEMORY_COST": 19 * 1024,
    "ARGON2_PARALLELISM": 1,
    "PASSWORD_MIN_LENGTH": 8,
    # How long the owning county (or city staff) may restore a lead it deleted; administrators always may.
    "LEAD_RESTORE_DAYS": 30,
    "SEARCH_INDEX_PATH": None,  # default: instance/search-index
    "SCHEDULER_ENABLED": False,  # `flask crm serve` and `flask crm scheduler` turn it on
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "crm@localhost",
    "MAIL_TIMEOUT": 10,
    "CHAT_WEBHOOK_URL": None,
    # Yuan per US dollar: the foreign part (万美元) of a funds arrival times this must fit inside it (万元).
    "USD_CNY_RATE": "7.1",
    # Problems (诉求): days from raising to the deadline per severity, and how long overdue before the city is told
    # (the county head is told the day after the deadline).
    "PROBLEM_DAYS_NORMAL": 30,
    "PROBLEM_DAYS_PRESSING": 15,
    "PROBLEM_DAYS_URGENT": 7,
    "PROBLEM_CITY_ESCALATE_DAYS": 7,
    "API_TITLE": "招商客商管理平台 API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}

_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def load(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(copy.deepcopy(DEFAULTS))  # nested CRM_X__Y variables must not edit DEFAULTS
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        _from_environment(app)
    else:
        app.config.from_mapping(test_config)
    _fill_derived(app)


def _from_environment(app: Flask) -> None:
    """CRM_* variables through Flask's from_prefixed_env (JSON values: CRM_LOGIN_MAX_FAILURES=7,
    CRM_LANGUAGES='["zh"]', nested keys with "__"); CRM_DATABASE_URL names the database. A value that does not
    fit its setting's type stops the start with a message naming the variable."""
    app.config.from_prefixed_env("CRM", loads=_loads)
    app.config.pop("INSTANCE_PATH", None)  # read by the factory itself
    if "DATABASE_URL" in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config.pop("DATABASE_URL")
    for name, raw in os.environ.items():
        if name.startswith("CRM_") and name[4:] in DEFAULTS:
            app.config[name[4:]] = _typed(name, raw, app.config[name[4:]], DEFAULTS[name[4:]])


def _loads(raw: str):
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _typed(name: str, raw: str, value, default):
    """The parsed value, checked against the default's type (bool before int: bool is an int)."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if raw.strip().lower() in _BOOL:
            return _BOOL[raw.strip().lower()]
        raise ConfigError(f"{name}={raw!r}: expected true or false.")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{name}={raw!r}: expected a whole number.")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{name}={raw!r}: expected a number.")
    if isinstance(default, (list, dict)):
        if isinstance(value, type(default)):
            return value
        raise ConfigError(f"{name}={raw!r}: expected JSON ({type(default).__name__}).")
    return raw  # text settings (and those without a default: paths, URLs, keys) keep the variable as written


def _fill_derived(app: Flask) -> None:
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    cfg = app.config
    if not cfg["SQLALCHEMY_DATABASE_URI"]:
        cfg["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'crm.sqlite3'}"
    url = cfg["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql://"):
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + url[len("postgresql://"):]
    if not cfg["SEARCH_INDEX_PATH"]:
        cfg["SEARCH_INDEX_PATH"] = str(instance / "search-index")
    if cfg["ENV_NAME"] == "production":
        cfg["SESSION_COOKIE_SECURE"] = True
        cfg["REMEMBER_COOKIE_SECURE"] = True
    if not cfg["SECRET_KEY"]:
        if cfg["ENV_NAME"] == "production":
            raise ConfigError(
                "SECRET_KEY is not set. In production set CRM_SECRET_KEY (a long random string) "
                "or SECRET_KEY in instance/config.py; refusing to start without it."
            )
        cfg["SECRET_KEY"] = _development_secret(instance)


def _development_secret(instance: Path) -> str:
    """Generated once into the instance folder so sessions survive restarts in development. Written whole or
    not at all, owner-only from the start (mkstemp): a full disk left an empty file, which the next start took
    for the key (an empty SECRET_KEY). An empty or unreadable file is replaced."""
    path = instance / "secret_key"
    try:
        key = path.read_text().strip()
    except OSError:
        key = ""
    if key:
        return key
    key = secrets.token_hex(32)
    try:
        fd, part = tempfile.mkstemp(prefix=".secret_key-", dir=instance)
    except OSError:
        return key  # kept for this process only: sessions end with it
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except OSError:
        Path(part).unlink(missing_ok=True)
    return key
