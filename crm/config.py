"""Configuration: defaults, then instance/config.py, then CRM_* environment variables, then a test mapping."""
from __future__ import annotations

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
    # Sign-in throttling, counted in the database so every worker sees the same numbers.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCK_MINUTES": 15,
    "LOGIN_IP_MAX_FAILURES": 30,
    # How many proxies in front of gunicorn set X-Forwarded-For/-Proto (werkzeug ProxyFix); 0 trusts none.
    "PROXY_FIX_X_FOR": 0,
    # argon2 parameters (OWASP minimum is t=2, m=19 MiB); tests use cheaper ones.
    "ARGON2_TIME_COST": 2,
    "ARGON2_MEMORY_COST": 19 * 1024,
    "ARGON2_PARALLELISM": 1,
    "PASSWORD_MIN_LENGTH": 8,
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
    "API_TITLE": "招商客商管理平台 API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}

_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def load(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        _from_environment(app)
    else:
        app.config.from_mapping(test_config)
    _fill_derived(app)


def _from_environment(app: Flask) -> None:
    for name, raw in os.environ.items():
        if not name.startswith("CRM_") or name == "CRM_INSTANCE_PATH":
            continue
        key = name[4:]
        if key == "DATABASE_URL":
            key = "SQLALCHEMY_DATABASE_URI"
        app.config[key] = _parse(raw, app.config.get(key))


def _parse(raw: str, current):
    if isinstance(current, bool):
        return _BOOL.get(raw.strip().lower(), current)
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            return current
    if isinstance(current, (list, dict)):
        try:
            return json.loads(raw)
        except ValueError:
            return current
    return raw


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
