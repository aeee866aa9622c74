"""Lost updates: an edit from a stale copy of a lead, project, follow-up, event or user is refused (EditConflict,
naming who saved in between), status moves make open edit forms stale, and the check is one atomic UPDATE."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from crm.extensions import db
from crm.models import Event, Followup, Lead, Project, User
from crm.services import events, followups, interactions, leads, projects, users, versions
from crm.services.errors import EditConflict

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)


def _u(ref) -> User:
    return db.session.get(User, ref.id)


@pytest.fixture
def staff(make_user):
    return {"first": make_user("county_staff", "610902", display_name="王芳"),
            "second": make_user("county_staff", "610902", display_name="李强"),
            "city": make_user("city_staff", None, display_name="赵敏"),
            "admin": make_user("admin", None, display_name="管理员")}


def _lead(app, who) -> int:
    with app.test_request_context():
        return leads.create_lead(_u(who), {"name": "恒信建设工程有限公司"}, now=NOW).id


def _project(app, who) -> int:
    with app.test_request_context():
        return projects.create_project(_u(who), {"name": "毛绒玩具加工", "investment_total": "1000"}, now=NOW).id


def _followup(app, who, lead_id: int) -> int:
    with app.test_request_context():
        return followups.create_followup(_u(who), {"title": "回访", "due_at": "2027-03-20T09:00", "lead_id": lead_id,
                                                   "assignee_id": who.id}, now=NOW).id


def _event(app, who) -> int:
    with app.test_request_context():
        return events.create_event(_u(who), {"name": "深圳推介会", "held_on": "2027-03-01"}, now=NOW).id


# --- leads -------------------------------------------------------------------------------------------------

def test_update_lead_from_stale_version_is_refused_and_keeps_the_first_save(app, staff):
    lead_id = _lead(app, staff["first"])
    with app.test_request_context():
        saved = leads.update_lead(_u(staff["first"]), lead_id, {"notes": "先保存的"}, now=NOW, expected_version=1)
        assert saved.version == 2
        with pytest.raises(EditConflict) as refused:
            leads.update_lead(_u(staff["second"]), lead_id, {"notes": "后保存的"}, now=NOW + timedelta(minutes=5),
                              expected_version=1)
        assert refused.value.current_version == 2 and refused.value.changed_by == "王芳"
        assert refused.value.changed_at is not None and refused.value.status == 409
        db.session.expire_all()
        lead = db.session.get(Lead, lead_id)
        assert (lead.notes, lead.version) == ("先保存的", 2)


def test_update_lead_from_current_version_saves_and_bumps_it(app, staff):
    lead_id = _lead(app, staff["first"])
    with app.test_request_context():
        leads.update_lead(_u(staff["first"]), lead_id, {"notes": "一"}, now=NOW, expected_version=1)
        leads.update_lead(_u(staff["second"]), lead_id, {"notes": "二"}, now=NOW, expected_version=2)
        db.session.expire_all()
        assert (db.session.get(Lead, lead_id).notes, db.session.get(Lead, lead_id).version) == ("二", 3)


def test_update_lead_without_version_saves_unconditionally_and_bumps_it(app, staff):
    lead_id = _lead(app, staff["first"])
    with app.test_request_context():
        leads.update_lead(_u(staff["first"]), lead_id, {"notes": "一"}, now=NOW)
        leads.update_lead(_u(staff["second"]), lead_id, {"notes": "二"}, now=NOW)
        db.session.expire_all()
        assert db.session.get(Lead, lead_id).version == 3


def test_reveal_between_load_and_save_is_not_named_as_the_change(app, staff, make_user):
    lead_id = _lead(app, staff["first"])
    other = make_user("county_staff", "610924", display_name="旁观者")
    with app.test_request_context():
        leads.update_lead(_u(staff["first"]), lead_id, {"notes": "一"}, now=NOW, expected_version=1)
        leads.reveal_contacts(_u(other), lead_id, now=NOW)
        with pytest.raises(EditConflict) as refused:
            leads.update_lead(_u(staff["second"]), lead_id, {"notes": "二"}, now=NOW, expected_version=1)
        assert refused.value.changed_by == "王芳"


def test_visit_that_advances_lead_status_makes_an_open_edit_form_stale(app, staff):
    lead_id = _lead(app, staff["first"])
    with app.test_request_context():
        interactions.log_interaction(_u(staff["second"]), {"kind": "visit",
                                      "occurred_at": NOW, "summary": "登门拜访"}, now=NOW, lead_id=lead_id)
        db.session.expire_all()
        assert db.session.get(Lead, lead_id).status == "engaged"
        with pytest.raises(EditConflict):
            leads.update_lead(_u(staff["first"]), lead_id, {"status": "new", "notes": "旧表单"}, now=NOW,
                              expected_version=1)
        db.session.expire_all()
        assert db.session.get(Lead, lead_id).status == "engaged"


def test_change_committed_between_read_and_save_is_caught_by_the_update_itself(app, staff):
    """The race a read-then-compare misses: another editor commits after this one read the row at version 1.
    Only PostgreSQL lets that commit land mid-transaction (SQLite here begins every transaction IMMEDIATE)."""
    lead_id = _lead(app, staff["first"])
    with app.test_request_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises whole transactions; run with CRM_TEST_DATABASE_URL=postgresql://…")
        fired = []

        def other_editor_commits_first(conn, cursor, statement, parameters, context, executemany):
            if not fired and statement.startswith("UPDATE leads") and "version" in statement:
                fired.append(True)
                with engine.connect() as other:
                    other.execute(text("UPDATE leads SET version = version + 1, notes = '抢先' WHERE id = :id"),
                                  {"id": lead_id})
                    other.commit()

        event.listen(engine, "before_cursor_execute", other_editor_commits_first)
        try:
            lead = leads.get_lead(_u(staff["second"]), lead_id)
            assert lead.version == 1  # what this editor read
            with pytest.raises(EditConflict) as refused:
                leads.update_lead(_u(staff["second"]), lead_id, {"notes": "覆盖"}, now=NOW, expected_version=1)
        finally:
            event.remove(engine, "before_cursor_execute", other_editor_commits_first)
        assert fired and refused.value.current_version == 2
        db.session.expire_all()
        assert db.session.get(Lead, lead_id).notes == "抢先"


# --- projects ----------------------------------------------------------------------------------------------

def test_update_project_from_stale_version_is_refused(app, staff):
    project_id = _project(app, staff["first"])
    with app.test_request_context():
        projects.update_project(_u(staff["first"]), project_id, {"investment_total": "2000"}, now=NOW,
                                expected_version=1)
        with pytest.raises(EditConflict) as refused:
            projects.update_project(_u(staff["second"]), project_id, {"investment_total": "3000"}, now=NOW,
                                    expected_version=1)
        assert refused.value.changed_by == "王芳"
        db.session.expire_all()
        assert str(db.session.get(Project, project_id).investment_total) == "2000.00"


def test_stage_change_makes_an_open_project_edit_form_stale(app, staff):
    project_id = _project(app, staff["first"])
    with app.test_request_context():
        projects.change_stage(_u(staff["first"]), project_id, "signed", on="2027-03-10", now=NOW)
        with pytest.raises(EditConflict):
            projects.update_project(_u(staff["second"]), project_id, {"notes": "旧表单"}, now=NOW,
                                    expected_version=1)
        db.session.expire_all()
        project = db.session.get(Project, project_id)
        assert project.version == 2 and project.notes is None


# --- follow-ups ----------------------------------------------------------------------------------------------

def test_update_followup_from_stale_version_is_refused(app, staff):
    fu_id = _followup(app, staff["first"], _lead(app, staff["first"]))
    with app.test_request_context():
        followups.update_followup(_u(staff["first"]), fu_id, {"title": "电话回访"}, now=NOW, expected_version=1)
        with pytest.raises(EditConflict):
            followups.update_followup(_u(staff["first"]), fu_id, {"title": "上门回访"}, now=NOW, expected_version=1)
        db.session.expire_all()
        assert db.session.get(Followup, fu_id).title == "电话回访"


def test_save_that_changes_nothing_bumps_the_version_but_not_the_updated_time(app, staff):
    fu_id = _followup(app, staff["first"], _lead(app, staff["first"]))
    with app.test_request_context():
        followups.update_followup(_u(staff["first"]), fu_id, {"title": "回访"}, now=NOW, expected_version=1)
        db.session.expire_all()
        fu = db.session.get(Followup, fu_id)
        assert (fu.version, fu.updated_at) == (2, NOW)


def test_handoff_makes_an_open_followup_edit_form_stale(app, staff):
    fu_id = _followup(app, staff["city"], _lead(app, staff["first"]))
    with app.test_request_context():
        from crm.services.counties import county_by_code

        followups.handoff_followup(_u(staff["city"]), fu_id, county_by_code("610902").id, now=NOW)
        with pytest.raises(EditConflict):
            followups.update_followup(_u(staff["city"]), fu_id, {"title": "旧表单"}, now=NOW, expected_version=1)
        db.session.expire_all()
        assert db.session.get(Followup, fu_id).title == "回访"


def test_bulk_reschedule_makes_an_open_followup_edit_form_stale(app, staff):
    fu_id = _followup(app, staff["first"], _lead(app, staff["first"]))
    with app.test_request_context():
        followups.bulk_reschedule(_u(staff["first"]), [fu_id], "2027-04-01T09:00", now=NOW)
        with pytest.raises(EditConflict):
            followups.update_followup(_u(staff["first"]), fu_id, {"title": "旧表单"}, now=NOW, expected_version=1)


# --- events and users ----------------------------------------------------------------------------------------

def test_update_event_from_stale_version_is_refused(app, staff):
    event_id = _event(app, staff["city"])
    with app.test_request_context():
        events.update_event(_u(staff["city"]), event_id, {"city": "深圳"}, now=NOW, expected_version=1)
        with pytest.raises(EditConflict):
            events.update_event(_u(staff["admin"]), event_id, {"city": "广州"}, now=NOW, expected_version=1)
        db.session.expire_all()
        assert db.session.get(Event, event_id).city == "深圳"


def test_admin_edit_of_user_from_stale_version_is_refused(app, staff):
    with app.test_request_context():
        target = staff["second"].id
        users.update_user(_u(staff["admin"]), target, {"display_name": "李强强"}, expected_version=1)
        with pytest.raises(EditConflict):
            users.update_user(_u(staff["admin"]), target, {"phone": "13800138000"}, expected_version=1)
        db.session.expire_all()
        assert db.session.get(User, target).phone is None


def test_garbled_or_out_of_range_version_counts_as_stale():
    assert versions.parse("") is None and versions.parse(None) is None and versions.parse(" 3 ") == 3
    for bad in ("abc", "9" * 40, "0", "-2", True, 2**31):
        assert versions.parse(bad) == versions.STALE, bad


def test_last_change_ignores_reads(app, staff, make_user):
    lead_id = _lead(app, staff["first"])
    with app.test_request_context():
        leads.reveal_contacts(_u(make_user("viewer", None)), lead_id, now=NOW)
        entry = versions.last_change("lead", lead_id)
        assert entry.action == "create" and db.session.scalar(select(Lead.version).where(Lead.id == lead_id)) == 1


# --- the targets grid (one form for every cell of a year) ------------------------------------------------

def test_targets_grid_save_leaves_cells_the_editor_did_not_touch(app, staff):
    from crm.services import targets

    with app.test_request_context():
        admin, other = _u(staff["admin"]), _u(make_admin(app, "王芳"))
        targets.set_targets(admin, 2027, [{"metric": "signed_count", "value": "10"}], now=NOW)
        targets.set_targets(other, 2027, [{"metric": "signed_count", "value": "20"}], now=NOW)  # meanwhile
        targets.set_targets(admin, 2027, [{"metric": "signed_count", "value": "10", "was": "10"},
                                          {"metric": "funds_in_place", "value": "500", "was": ""}], now=NOW)
        assert {k[1]: str(v) for k, v in targets.target_map(2027).items()} == {
            "signed_count": "20.00", "funds_in_place": "500.00"}


def test_targets_cell_changed_meanwhile_is_refused_naming_who(app, staff):
    from crm.services import targets
    from crm.services.errors import InvalidInput

    with app.test_request_context():
        admin, other = _u(staff["admin"]), _u(make_admin(app, "王芳"))
        targets.set_targets(admin, 2027, [{"metric": "signed_count", "value": "10"}], now=NOW)
        targets.set_targets(other, 2027, [{"metric": "signed_count", "value": "20"}], now=NOW)
        with pytest.raises(InvalidInput) as refused:
            targets.set_targets(admin, 2027, [{"metric": "funds_in_place", "value": "500", "was": ""},
                                              {"metric": "signed_count", "value": "15", "was": "10"}], now=NOW)
        assert "王芳" in str(refused.value.errors["1.value"][0]) and refused.value.errors["1.was"] == ["20"]
        assert {k[1]: str(v) for k, v in targets.target_map(2027).items()} == {"signed_count": "20.00"}


def make_admin(app, name: str):
    from crm.services.passwords import hash_password

    user = User(username=f"admin-{name}", display_name=name, role="admin", password_hash=hash_password("x" * 12),
                password_changed_at=NOW)
    db.session.add(user)
    db.session.commit()
    return user


def test_import_update_and_its_revert_each_make_an_open_lead_edit_form_stale(app, staff, tmp_path):
    from crm.services import imports
    from tests.services.test_imports import add_lead, csv_bytes, do_import

    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")
    lead_id = add_lead(app, "安康甲公司", mobile="13800000002")
    batch_id = do_import(app, staff["first"], csv_bytes("安康甲公司,商会,,富硒茶,,赵六,,13900000003,,新备注"),
                         duplicate_mode="update")
    with app.test_request_context():
        assert db.session.get(Lead, lead_id).version == 2
        with pytest.raises(EditConflict):
            leads.update_lead(_u(staff["second"]), lead_id, {"notes": "导入前打开的表单"}, now=NOW, expected_version=1)
        imports.revert_import(_u(staff["first"]), batch_id, now=NOW)
        db.session.expire_all()
        assert db.session.get(Lead, lead_id).version == 3
        with pytest.raises(EditConflict):
            leads.update_lead(_u(staff["second"]), lead_id, {"notes": "导入后打开的表单"}, now=NOW, expected_version=2)


def test_admin_edit_of_county_from_stale_version_is_refused(app, staff):
    from crm.models import County
    from crm.services import counties

    with app.test_request_context():
        county = counties.county_by_code("610902")
        counties.update_county(_u(staff["admin"]), county.id, {"name": "汉滨区（新）", "kind": county.kind},
                               expected_version=1)
        with pytest.raises(EditConflict):
            counties.update_county(_u(staff["admin"]), county.id, {"name": "汉滨", "kind": "district"},
                                   expected_version=1)
        db.session.expire_all()
        assert db.session.get(County, county.id).name == "汉滨区（新）"
