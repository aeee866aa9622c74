"""Targets (考核目标): admin only, upsert per year × county × metric, removal, validation, audit."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crm.extensions import db
from crm.models import AuditEntry, User
from crm.services import targets
from crm.services.errors import InvalidInput, PermissionDenied
from tests.conftest import county_id

COVERED_ACTIONS = {"target.manage"}
NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)


def test_set_targets_upserts_city_and_county_values(app, make_user):
    admin = make_user("admin", None)
    hb = county_id(app, "610902")
    with app.test_request_context():
        actor = db.session.get(User, admin.id)
        targets.set_targets(actor, 2019, [{"metric": "signed_count", "value": 400},
                                          {"county_id": hb, "metric": "signed_count", "value": "40"}], now=NOW)
        targets.set_targets(actor, 2019, [{"metric": "signed_count", "value": 458},
                                          {"county_id": hb, "metric": "foreign_capital", "value": "4000.5"}], now=NOW)
        assert targets.target_map(2019) == {(None, "signed_count"): Decimal("458"), (hb, "signed_count"): Decimal("40"),
                                            (hb, "foreign_capital"): Decimal("4000.50")}
        entries = db.session.query(AuditEntry).filter_by(object_type="target").order_by(AuditEntry.id).all()
        assert entries[-1].before == {"city.signed_count": "400.00", f"{hb}.foreign_capital": None}


def test_set_targets_with_empty_value_removes_the_target(app, make_user):
    admin = make_user("admin", None)
    with app.test_request_context():
        actor = db.session.get(User, admin.id)
        targets.set_targets(actor, 2019, [{"metric": "funds_in_place", "value": "776780"}], now=NOW)
        targets.set_targets(actor, 2019, [{"metric": "funds_in_place", "value": None}], now=NOW)
        assert targets.target_map(2019) == {}


@pytest.mark.parametrize("role", ["city_staff", "county_staff", "viewer"])
def test_set_targets_by_non_admin_is_forbidden(app, make_user, role):
    user = make_user(role, "610902")
    with app.test_request_context(), pytest.raises(PermissionDenied):
        targets.set_targets(db.session.get(User, user.id), 2019, [{"metric": "signed_count", "value": 1}], now=NOW)


@pytest.mark.parametrize("year,item,field", [
    (2019, {"metric": "profit", "value": 1}, "0.metric"), (2019, {"metric": "signed_count", "value": "1.5"}, "0.value"),
    (2019, {"metric": "funds_in_place", "value": "-1"}, "0.value"),
    (2019, {"metric": "funds_in_place", "value": "多"}, "0.value"),
    (2019, {"metric": "funds_in_place", "value": 1, "county_id": 987654}, "0.county_id"),
    ("abc", {"metric": "funds_in_place", "value": 1}, "year"),
])
def test_set_targets_bad_input_is_refused(app, make_user, year, item, field):
    admin = make_user("admin", None)
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        targets.set_targets(db.session.get(User, admin.id), year, [item], now=NOW)
    assert field in info.value.errors
