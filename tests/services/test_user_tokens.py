"""A deactivated user's API tokens are revoked for good: reactivating the account does not revive them."""
from __future__ import annotations

from datetime import UTC, datetime

from crm.extensions import db
from crm.models import User
from crm.services import tokens, users

NOW = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def test_reactivated_user_old_api_token_stays_revoked(app, make_user):
    admin_ref, staff_ref = make_user("admin", None), make_user("county_staff")
    with app.test_request_context():
        admin, staff = db.session.get(User, admin_ref.id), db.session.get(User, staff_ref.id)
        plain = tokens.create_token(admin, staff, name="sync", now=NOW)
        assert tokens.user_for_token(plain, now=NOW) is not None
        users.update_user(admin, staff.id, {"is_active_user": False}, now=NOW)
        users.update_user(admin, staff.id, {"is_active_user": True}, now=NOW)
        assert tokens.user_for_token(plain, now=NOW) is None
