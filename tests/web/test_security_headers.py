"""Security headers on every page: framing refused, no sniffing, no referrer to other sites, no caching of
signed-in pages or API answers."""
from __future__ import annotations

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
