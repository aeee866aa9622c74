"""The permission matrix: role × action for the foundation's actions (each feature extends it)."""
from __future__ import annotations

import pytest

from crm.models import ApiToken, Role, User
from crm.services.permissions import can, known_actions


def actor(role: str, county_id: int | None = None, active: bool = True, uid: int = 1) -> User:
    return User(id=uid, username=role, display_name=role, role=role, county_id=county_id, is_active_user=active,
                password_hash="!")


MATRIX = {
    "user.manage": {"admin"},
    "county.manage": {"admin"},
    "audit.view": {"admin"},
    "industry.manage": {"admin"},
    "target.manage": {"admin"},
    "user.view_list": {"admin"},
}


@pytest.mark.parametrize("action", sorted(MATRIX))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_action_matrix(role, action):
    assert can(actor(role, 1), action) is (role in MATRIX[action])


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_inactive_users_can_do_nothing(role):
    assert not any(can(actor(role, 1, active=False), a) for a in MATRIX)


def test_nobody_is_nobody():
    assert can(None, "user.manage") is False


def test_unknown_action_fails_loudly():
    with pytest.raises(LookupError):
        can(actor("admin"), "no.such.action")


def test_tokens_are_managed_by_their_owner_or_an_admin():
    owner, other, admin = actor("county_staff", 1, uid=1), actor("county_staff", 1, uid=2), actor("admin", uid=3)
    token = ApiToken(user_id=1)
    assert can(owner, "token.manage", token) and can(admin, "token.manage", token)
    assert not can(other, "token.manage", token)


def test_every_registered_action_is_in_some_matrix():
    """A new action without a matrix row is a rule nobody tested: extend MATRIX (or the feature's matrix)."""
    from tests.services import matrices

    covered = set(MATRIX) | {"self.edit", "token.manage"} | matrices.covered()
    assert set(known_actions()) - covered == set()
