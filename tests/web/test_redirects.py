"""Redirect targets from the request (next=…) stay on this site: one check for sign-in and follow-up actions."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

HOSTILE = ["/\t/evil.com", "//evil.com", "/\\evil.com", "https:evil.com", "javascript:alert(1)",
           "/\n/evil.com", "https://evil.com/"]


@pytest.mark.parametrize("target", HOSTILE)
def test_followup_bulk_action_with_offsite_next_falls_back_to_my_list(login_as, target):
    client = login_as("county_staff")
    response = client.post("/followups/bulk", data={"action": "reschedule", "due_at": "2030-05-01T09:00",
                                                    "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/followups/mine"


def test_followup_bulk_action_with_a_local_next_goes_there(login_as):
    client = login_as("county_staff")
    response = client.post("/followups/bulk", data={"action": "reschedule", "due_at": "2030-05-01T09:00",
                                                    "next": "/followups/board?x=1"})
    assert response.headers["Location"] == "/followups/board?x=1"


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_with_offsite_next_lands_on_the_home_page(client, make_user, target):
    user = make_user("county_staff")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
