"""Reverting an import touches only what is still the batch's (issue 13 item 6): a lead handed to another county,
edited by anyone, or given visits, follow-ups or projects since the import is kept — not deleted, not rolled back —
and the result names what was reverted and what was kept, with a reason per lead; it is stored and audited."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, ImportBatch, Lead
from crm.services import conflicts, followups, imports, leads, projects
from tests.services.test_imports import NOW, add_lead, csv_bytes, do_import, user
from tests.services.test_leads import cid

LATER = NOW + timedelta(days=3)


@pytest.fixture(autouse=True)
def _import_folder(app, tmp_path):
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")


def _ids(app, batch_id) -> dict[str, int]:
    with app.app_context():
        return {name: i for i, name in db.session.execute(select(Lead.id, Lead.name)
                                                          .where(Lead.import_batch_id == batch_id))}


def _revert(app, ref, batch_id) -> dict:
    with app.test_request_context():
        batch = imports.revert_import(user(ref.id), batch_id, now=LATER)
        return imports.revert_result(batch)


def _kept(result) -> dict[str, tuple[str, str]]:
    return {k["name"]: (k["was"], k["reason"]) for k in result["kept_leads"]}


def test_revert_keeps_a_lead_the_city_handed_to_another_county_with_that_countys_changes(app, make_user):
    hanbin, ziyang, city = (make_user("county_staff", "610902"), make_user("county_staff", "610924"),
                            make_user("city_staff", None))
    batch_id = do_import(app, hanbin, csv_bytes("安康甲公司,,,,,,,,,", "安康乙公司,,,,,,,,,"))
    ids = _ids(app, batch_id)
    with app.test_request_context():
        leads.update_lead(user(city.id), ids["安康甲公司"], {"owner_county_id": cid("610924")}, now=NOW)
        leads.update_lead(user(ziyang.id), ids["安康甲公司"], {"notes": "紫阳县跟进中", "status": "engaged"}, now=NOW)
    result = _revert(app, hanbin, batch_id)
    with app.app_context():
        lead = db.session.get(Lead, ids["安康甲公司"])
        assert lead.deleted_at is None and lead.owner_county_id == cid("610924")
        assert (lead.notes, lead.status) == ("紫阳县跟进中", "engaged")
        assert db.session.get(Lead, ids["安康乙公司"]) is None
    assert _kept(result) == {"安康甲公司": ("created", "transferred")}
    assert (result["deleted"], result["restored"], result["kept"]) == (1, 0, 1)
    assert result["reverted_leads"] == [{"lead_id": ids["安康乙公司"], "name": "安康乙公司", "action": "deleted"}]
    assert result["kept_leads"][0]["message"] == "导入后已移交给其他区县。"


def test_revert_keeps_a_lead_reassigned_by_a_claim_conflict_decision(app, make_user):
    hanbin, ziyang, city = (make_user("county_staff", "610902"), make_user("county_staff", "610924"),
                            make_user("city_staff", None))
    batch_id = do_import(app, hanbin, csv_bytes("恒信建设工程有限公司,,,,,,,,,"))
    first = _ids(app, batch_id)["恒信建设工程有限公司"]
    with app.test_request_context():
        leads.create_lead(user(ziyang.id), {"name": "恒信建设工程股份有限公司"}, now=NOW, force=True)
        conflict = conflicts.open_conflicts().limit(1)
        conflict_id = db.session.scalars(conflict).one().id
        conflicts.decide_conflict(user(city.id), conflict_id, "reassign", now=NOW)
    result = _revert(app, hanbin, batch_id)
    assert _kept(result) == {"恒信建设工程有限公司": ("created", "transferred")}
    with app.app_context():
        assert db.session.get(Lead, first).owner_county_id == cid("610924")


def test_revert_keeps_leads_edited_or_given_followups_or_projects_since(app, make_user):
    hanbin = make_user("county_staff", "610902")
    batch_id = do_import(app, hanbin, csv_bytes(*[f"安康{n}公司,,,,,,,,," for n in "甲乙丙丁"]))
    ids = _ids(app, batch_id)
    with app.test_request_context():
        staff = user(hanbin.id)
        leads.update_lead(staff, ids["安康甲公司"], {"is_key": True}, now=NOW)
        followups.create_followup(staff, {"lead_id": ids["安康乙公司"], "title": "回访", "due_at": LATER,
                                          "assignee_id": staff.id}, now=NOW)
        projects.create_project(staff, {"name": "丙项目", "lead_ids": [ids["安康丙公司"]]}, now=NOW)
    result = _revert(app, hanbin, batch_id)
    assert _kept(result) == {"安康甲公司": ("created", "edited"), "安康乙公司": ("created", "followups"),
                             "安康丙公司": ("created", "projects")}
    with app.app_context():
        assert sorted(db.session.scalars(select(Lead.name).where(Lead.deleted_at.is_(None)))) == [
            "安康丙公司", "安康乙公司", "安康甲公司"]
        assert db.session.get(Lead, ids["安康甲公司"]).is_key


def test_revert_does_not_roll_back_an_updated_lead_edited_since(app, make_user):
    hanbin = make_user("county_staff", "610902")
    edited_id = add_lead(app, "安康甲公司")
    untouched_id = add_lead(app, "安康乙公司")
    batch_id = do_import(app, hanbin, csv_bytes("安康甲公司,商会,,,,,,,,导入的备注", "安康乙公司,商会,,,,,,,,导入的备注"),
                         duplicate_mode="update")
    with app.test_request_context():
        leads.update_lead(user(hanbin.id), edited_id, {"status": "interested"}, now=NOW)
    result = _revert(app, hanbin, batch_id)
    with app.app_context():
        edited, untouched = db.session.get(Lead, edited_id), db.session.get(Lead, untouched_id)
        assert (edited.kind, edited.notes, edited.status) == ("chamber", "导入的备注", "interested")
        assert (untouched.kind, untouched.notes) == ("enterprise", None)
    assert _kept(result) == {"安康甲公司": ("updated", "edited")}
    assert result["reverted_leads"] == [{"lead_id": untouched_id, "name": "安康乙公司", "action": "restored"}]


def test_revert_of_an_untouched_batch_reverts_everything_and_keeps_nothing(app, make_user):
    hanbin = make_user("county_staff", "610902")
    batch_id = do_import(app, hanbin, csv_bytes("安康甲公司,,,,,,,,,", "安康乙公司,,,,,,,,,"))
    result = _revert(app, hanbin, batch_id)
    assert (result["deleted"], result["restored"], result["kept"], result["kept_leads"]) == (2, 0, 0, [])
    with app.app_context():
        assert db.session.scalar(select(Lead.id)) is None
        batch = db.session.get(ImportBatch, batch_id)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "revert"))
        assert entry.after == batch.revert_summary and entry.after["deleted"] == 2
