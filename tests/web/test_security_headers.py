"""Security headers on every page: framing refused, no sniffing, no referrer to other sites, no caching of
signed-in pages or API answers."""
from __future__ import annotations

import re

import pytest


def _assert_common(response):
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "object-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_sign_in_page_carries_security_headers_and_may_be_cached(client):
    response = client.get("/login")
    _assert_common(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/", "/leads/", "/followups/mine", "/reports/annual?year=2019", "/nope"])
def test_signed_in_pages_carry_security_headers_and_are_not_stored(login_as, path):
    response = login_as("county_staff").get(path)
    _assert_common(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_api_answers_carry_security_headers_and_are_not_stored(api_client):
    response = api_client().get("/api/v1/leads")
    assert response.status_code == 200
    _assert_common(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_csp_allows_scripts_from_this_site_only(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy


def test_templates_carry_no_inline_script_nor_event_handler_attributes():
    """CSP script-src 'self' would silently break them: behaviour lives in static/js, data in JSON blocks."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for path in sorted(root.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{path.relative_to(root)}: {tag}")
        offenders += [f"{path.relative_to(root)}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
        offenders += [f"{path.relative_to(root)}: javascript: URL" for _m in re.findall(r"javascript:", text)]
    assert offenders == []


def test_json_blocks_in_pages_escape_a_closing_script_tag(app, login_as, make_user):
    """JSON meets HTML only through tojson: a hostile county/industry name cannot close the data block."""
    client = login_as("city_staff", None)
    page = client.get("/reports/annual").get_data(as_text=True)
    for block in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S):
        assert "<" not in block and ">" not in block
