"""Extension objects, created unbound and bound in init_app; nothing else lives here."""
from __future__ import annotations

from flask import Flask
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

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
    from crm import transactions

    transactions.init_app(app)
    with app.app_context():
        transactions.track_writes(db.engine)
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            transactions.tune_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _migrations_dir():
    from crm import SITE

    return SITE / "migrations"


def _translations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent / "translations"
