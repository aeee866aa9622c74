"""月报 (issue 15, item 5): a frozen snapshot keeps the figures as they were when frozen; the diff shows what
changed since; the scheduler freezes the previous month once; only city users freeze on demand."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import ReportSnapshot, User
from crm.services import projects, snapshots
from crm.services.errors import InvalidInput, PermissionDenied
from tests.conftest import county_id

NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)
HANBIN = "610902"
COVERED_ACTIONS = {"snapshot.view", "snapshot.freeze"}


@pytest.mark.parametrize("role,freeze", [("admin", True), ("city_staff", True), ("county_staff", False),
                                         ("viewer", False)])
def test_snapshot_permission_matrix(role, freeze):
    from crm.services.permissions import can

    actor = User(id=1, username=role, display_name=role, role=role, county_id=1 if role == "county_staff" else None,
                 is_active_user=True, password_hash="!")
    assert can(actor, "snapshot.view") and can(actor, "snapshot.freeze") is freeze


def _u(ref) -> User:
    return db.session.get(User, ref.id)


def test_a_snapshot_keeps_its_figures_and_the_diff_shows_the_change(app, make_user):
    staff, city = make_user("county_staff", HANBIN), make_user("city_staff", None)
    hanbin = county_id(app, HANBIN)
    with app.test_request_context():
        pid = projects.create_project(_u(staff), {"name": "汉江水电站", "county_id": hanbin,
                                                  "stage": "signed", "signed_on": "2020-02-01",
                                                  "investment_total": "30000.50"}, now=NOW).id
        snap = snapshots.freeze(_u(city), 2020, 5, note="5月月报", now=NOW)
        snap_id = snap.id
        assert snapshots.diff(snap) == []
        projects.update_project(_u(staff), pid, {"investment_total": "35000"}, now=NOW)
        projects.create_project(_u(staff), {"name": "安康机场物流园", "county_id": hanbin,
                                            "stage": "signed", "signed_on": "2020-03-01", "investment_total": "100"},
                                now=NOW)
    with app.test_request_context():
        snap = db.session.get(ReportSnapshot, snap_id)
        frozen = snapshots.figures(snap)["report"]["signed_projects"]
        assert frozen["count"] == 1 and frozen["investment"] == Decimal("30000.50")
        changed = {d["path"]: (d["snapshot"], d["live"]) for d in snapshots.diff(snap)}
        assert changed["signed_projects.count"] == (1, 2)
        assert changed["signed_projects.investment"] == (Decimal("30000.50"), Decimal("35100.00"))
        assert changed[f"ranking.{hanbin}.signed_count"] == (1, 2)
        assert "funds_in_place.total" not in changed


def test_the_scheduled_freeze_runs_once_per_month(app, make_user):
    with app.test_request_context():
        assert snapshots.freeze_previous_month(datetime(2021, 1, 1, 0, 30, tzinfo=UTC)) == "2020-12 frozen"
        assert snapshots.freeze_previous_month(datetime(2021, 1, 2, 0, 30, tzinfo=UTC)) == "2020-12 already frozen"
        rows = list(db.session.scalars(select(ReportSnapshot)))
        assert [(r.year, r.month, r.source, r.frozen_by_id) for r in rows] == [(2020, 12, "scheduled", None)]


def test_freezing_on_demand_is_for_city_users_and_checks_the_month(app, make_user):
    staff, city = make_user("county_staff", HANBIN), make_user("city_staff", None)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            snapshots.freeze(_u(staff), 2020, 5, now=NOW)
        for year, month in ((2020, 13), ("x", 1), (2020, 7)):
            with pytest.raises(InvalidInput):
                snapshots.freeze(_u(city), year, month, now=NOW)
        assert db.session.scalar(select(db.func.count()).select_from(ReportSnapshot)) == 0
