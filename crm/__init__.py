"""Application factory: a wiring diagram of config, extensions, blueprints, CLI and scheduler; no work here."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    instance_path = os.environ.get("CRM_INSTANCE_PATH") or str(ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
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

    web.init_app(app)
    api.init_app(app)


def _register_cli(app: Flask) -> None:
    from crm.cli import crm_cli

    app.cli.add_command(crm_cli)
