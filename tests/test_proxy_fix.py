"""Behind the configured number of proxies the client's address comes from X-Forwarded-For; with none trusted
the header is ignored (anyone could forge it)."""
from __future__ import annotations

from sqlalchemy import select

from crm import create_app
from crm.extensions import db
from crm.models import LoginAttempt
from tests.conftest import base_config


def _attempt_ip(app) -> str:
    client = app.test_client()
    client.post("/login", data={"username": "nobody", "password": "x"},
                headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    with app.app_context():
        return db.session.scalar(select(LoginAttempt.ip))


def test_sign_in_behind_one_trusted_proxy_counts_the_forwarded_client_address(app, database_url, tmp_path):
    proxied = create_app({**base_config(database_url, str(tmp_path)), "PROXY_FIX_X_FOR": 1})
    assert _attempt_ip(proxied) == "203.0.113.7"
    with proxied.app_context():
        db.engine.dispose()


def test_sign_in_with_no_trusted_proxy_ignores_a_forged_forwarded_header(app):
    assert _attempt_ip(app) == "10.0.0.1"
