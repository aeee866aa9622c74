"""Process logging: each record carries the request id and the user id; one access line per request with its
duration; JSON lines on request; a proxy's X-Request-ID is kept only when it is plain."""
from __future__ import annotations

import io
import json
import logging

import pytest

from crm.observability import TEXT_FORMAT, ContextFilter, JsonFormatter


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("crm.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_each_request_logs_one_access_line_with_request_and_user_id(login_as, log_lines):
    client = login_as("county_staff")
    response = client.get("/leads")
    lines = [line for line in log_lines() if line.get("path") == "/leads"]
    assert len(lines) == 1
    line = lines[0]
    assert line["status"] == 200 and line["method"] == "GET" and line["duration_ms"] >= 0
    assert line["user_id"] == str(client.user.id)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["remote_addr"] == "127.0.0.1"  # the client, so gunicorn's own access log can stay off


def test_api_request_is_logged_with_the_token_user(api_client, log_lines):
    client = api_client("county_staff")
    client.get("/api/v1/me")
    assert [line["user_id"] for line in log_lines() if line.get("path") == "/api/v1/me"] == [str(client.user.id)]


@pytest.mark.parametrize("given,kept", [("abc-123.x", True), ("evil line<script>", False), ("x" * 200, False)])
def test_a_proxys_request_id_is_kept_only_when_plain(client, given, kept):
    response = client.get("/healthz", headers={"X-Request-ID": given})
    assert (response.headers["X-Request-ID"] == given) is kept
    assert "<" not in response.headers["X-Request-ID"]


def test_outside_a_request_the_ids_are_dashes():
    record = logging.LogRecord("crm.scheduler", logging.INFO, __file__, 1, "job %s", ("x",), None)
    ContextFilter().filter(record)
    assert logging.Formatter(TEXT_FORMAT).format(record).endswith("[req=- user=-] job x")


def test_the_factory_installs_one_handler_however_many_apps_are_made(tmp_path):
    from crm import create_app
    from tests.conftest import base_config

    for _ in range(3):
        create_app(base_config(f"sqlite:///{tmp_path}/x.sqlite3", str(tmp_path)) | {"LOG_FORMAT": "json"})
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_crm_handler", False)]
    assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
