"""Application factory: a wiring diagram of config, extensions, blueprints, CLI and scheduler; no work here."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def _site() -> Path:
    """Where templates/, static/ and migrations/ are: beside crm/ in a checkout, else in the installed data
    package crm_site (a wheel; see setup.py)."""
    if (ROOT / "templates").is_dir():
        return ROOT
    spec = importlib.util.find_spec("crm_site")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("templates/ not found beside crm/ and crm_site is not installed")
    return Path(list(spec.submodule_search_locations)[0])


SITE = _site()
# A checkout keeps its instance folder beside crm/; an installed copy uses ./instance unless CRM_INSTANCE_PATH says.
DEFAULT_INSTANCE = ROOT / "instance" if SITE == ROOT else Path.cwd() / "instance"


def create_app(test_config: dict | None = None) -> Flask:
    instance_path = os.environ.get("CRM_INSTANCE_PATH") or str(DEFAULT_INSTANCE)
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path),
        instance_relative_config=True,
        template_folder=str(SITE / "templates"),
        static_folder=str(SITE / "static"),
    )
    _configure(app, test_config)
    _configure_logging(app)
    _trust_proxies(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _configure(app: Flask, test_config: dict | None) -> None:
    from crm import config

    config.load(app, test_config)


def _configure_logging(app: Flask) -> None:
    from crm import observability

    observability.init_app(app)


def _trust_proxies(app: Flask) -> None:
    """Behind a proxy every request comes from its address: take the client's from the trusted hops only."""
    hops = app.config["PROXY_FIX_X_FOR"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _init_extensions(app: Flask) -> None:
    from crm import extensions, models  # noqa: F401  (models: every table registered before migrations look)
    from crm.services import search_outbox  # noqa: F401  (its after_flush hook queues search index updates)

    extensions.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from crm import api, web
    from crm.web import department_guard

    web.init_app(app)
    api.init_app(app)
    department_guard.init_app(app)  # after the API's bearer authentication


def _register_cli(app: Flask) -> None:
    from crm.cli import crm_cli

    app.cli.add_command(crm_cli)
