"""Extension objects, created unbound and bound in init_app; nothing else lives here."""
from __future__ import annotations

from flask import Flask
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Stable constraint names, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class QuietApi(Api):
    """flask-smorest's Api, minus its app-wide HTTP error handler: crm.api renders problem+json for
    /api/ paths and the HTML pages keep their own error pages."""

    def _register_error_handlers(self):
        pass


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
api = QuietApi()


def init_app(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=str(_migrations_dir()))
    login_manager.init_app(app)
    csrf.init_app(app)
    from crm.web.locale import select_locale, select_timezone

    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(_translations_dir()),
    )
    api.init_app(app, spec_kwargs={"info": {"description": "招商客商管理平台 JSON API (v1)"}})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            _tune_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _migrations_dir():
    from crm import SITE

    return SITE / "migrations"


def _translations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent / "translations"


def _tune_sqlite(engine: Engine, busy_ms: int) -> None:
    """WAL, a busy timeout, foreign keys on, and BEGIN IMMEDIATE: DESIGN.md §12 measured plain
    deferred transactions losing updates silently under concurrent read-then-write."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
