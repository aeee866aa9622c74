"""认定 (issue 15, item 4): the annual figures count a signing or a funds arrival only once a verifier who did not
enter it has checked its evidence; returned items are resubmitted; editing a verified record sends it back to
待认定; evidence files are checked by content and size and read only by the city and the project's county;
suspected 撞单 projects are not verified until a verifier decides."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, EvidenceAttachment, Project, User, Verification
from crm.services import attachments, funds, projects, reports, verification, verification_queue
from crm.services.errors import InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can
from tests.conftest import county_id

NOW = datetime(2020, 6, 1, 4, 0, tzinfo=UTC)
HANBIN, ZIYANG = "610902", "610924"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
COVERED_ACTIONS = {"result.verify", "result.queue", "result.submit", "attachment.view", "attachment.upload",
                   "attachment.delete"}


def _actor(role: str, county: int | None, *, verifier: bool = False) -> User:
    return User(id=1, username=role, display_name=role, role=role, county_id=county, is_active_user=True,
                password_hash="!", can_verify=verifier)


# (role, county of the actor: the project's = 1, another = 2, none, verifier flag) → allowed actions
@pytest.mark.parametrize("role,county,flag,allowed", [
    ("admin", None, False, {"result.queue", "result.submit", "attachment.view", "attachment.upload",
                            "attachment.delete"}),
    ("admin", None, True, set(COVERED_ACTIONS)),
    ("city_staff", None, True, set(COVERED_ACTIONS)),
    ("city_staff", None, False, COVERED_ACTIONS - {"result.verify"}),
    ("county_staff", 1, False, {"result.submit", "attachment.view", "attachment.upload", "attachment.delete"}),
    ("county_staff", 1, True, {"result.submit", "attachment.view", "attachment.upload", "attachment.delete"}),
    ("county_staff", 2, False, set()),
    ("viewer", 1, False, {"attachment.view"}),
    ("viewer", None, False, set()),
])
def test_verification_permission_matrix(role, county, flag, allowed):
    project = Project(county_id=1)
    attachment = EvidenceAttachment(project=project)
    actor = _actor(role, county, verifier=flag)
    got = {a for a, obj in (("result.verify", None), ("result.queue", None), ("result.submit", project),
                            ("attachment.view", attachment), ("attachment.upload", project),
                            ("attachment.delete", attachment)) if can(actor, a, obj)}
    assert got == allowed


@pytest.fixture
def gated(app):
    app.config["REPORTS_COUNT_VERIFIED_ONLY"] = True
    return app


@pytest.fixture
def people(gated, make_user):
    return {"hanbin": make_user("county_staff", HANBIN), "ziyang": make_user("county_staff", ZIYANG),
            "city": make_user("city_staff", None), "verifier": make_user("city_staff", None, can_verify=True),
            "verifier2": make_user("admin", None, can_verify=True), "viewer": make_user("viewer", None)}


def _u(ref) -> User:
    return db.session.get(User, ref.id)


def _project(app, who, **data):
    data = {"name": "富硒茶深加工项目", "county_id": county_id(app, HANBIN), "stage": "signed", "signed_on": "2020-01-10",
            "investment_total": "1000", **data}
    with app.test_request_context():
        return projects.create_project(_u(who), data, now=NOW).id


def _attach(app, who, pid, *, funds_id=None, name="合同.pdf", data=PDF, kind="contract"):
    with app.test_request_context():
        return attachments.add_attachment(_u(who), pid, name, data, kind=kind, funds_id=funds_id, now=NOW).id


def _report(app, year=2020):
    with app.test_request_context():
        return reports.annual_report(year)


def test_a_signing_counts_only_once_verified_and_pending_shows_beside_it(gated, people):
    pid = _project(gated, people["hanbin"])
    report = _report(gated)
    assert report["signed_projects"]["count"] == 0
    assert report["pending"]["signed_projects"] == {"count": 1, "investment": Decimal("1000.00")}
    _attach(gated, people["hanbin"], pid)
    with gated.test_request_context():
        verification.verify(_u(people["verifier"]), "signing", pid, now=NOW)
    report = _report(gated)
    assert report["signed_projects"]["count"] == 1 and report["signed_projects"]["investment"] == Decimal("1000.00")
    assert report["pending"]["signed_projects"]["count"] == 0
    with gated.test_request_context():
        ranking = {r["county_id"]: r for r in reports.county_ranking(2020)}
    assert ranking[county_id(gated, HANBIN)]["metrics"]["signed_count"]["actual"] == 1


def test_funds_count_once_verified_and_an_edit_sends_them_back_to_pending(gated, people):
    pid = _project(gated, people["hanbin"])
    with gated.test_request_context():
        fid = funds.add_funds(_u(people["hanbin"]), pid, "600", "2020-02-01", out_of_province=True, now=NOW).id
    assert _report(gated)["funds_in_place"]["total"] == Decimal("0.00")
    assert _report(gated)["pending"]["funds_in_place"]["total"] == Decimal("600.00")
    with gated.test_request_context(), pytest.raises(InvalidInput) as refused:
        verification.verify(_u(people["verifier"]), "funds", fid, now=NOW)
    assert "evidence" in refused.value.errors  # verifying without evidence
    _attach(gated, people["hanbin"], pid, funds_id=fid, name="进账单.png", data=PNG, kind="bank_slip")
    with gated.test_request_context():
        verification.verify(_u(people["verifier"]), "funds", fid, now=NOW)
    assert _report(gated)["funds_in_place"]["out_of_province"] == Decimal("600.00")
    with gated.test_request_context():
        funds.update_funds(_u(people["verifier2"]), fid, {"amount": "500"}, reason="按进账单更正", now=NOW)
    report = _report(gated)
    assert report["funds_in_place"]["total"] == Decimal("0.00")
    assert report["pending"]["funds_in_place"]["total"] == Decimal("500.00")
    with gated.test_request_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "verification_reopen")) is not None
        with pytest.raises(InvalidInput):  # the one who changed it may not verify it now
            verification.verify(_u(people["verifier2"]), "funds", fid, now=NOW)
        verification.verify(_u(people["verifier"]), "funds", fid, now=NOW)


def test_editing_a_verified_signing_returns_it_to_pending(gated, people):
    pid = _project(gated, people["hanbin"])
    _attach(gated, people["hanbin"], pid)
    with gated.test_request_context():
        verification.verify(_u(people["verifier"]), "signing", pid, now=NOW)
        projects.update_project(_u(people["hanbin"]), pid, {"notes": "只改备注"}, now=NOW)
    assert _report(gated)["signed_projects"]["count"] == 1  # notes are not what was verified
    with gated.test_request_context():
        projects.update_project(_u(people["hanbin"]), pid, {"investment_total": "1200"}, now=NOW)
    assert _report(gated)["signed_projects"]["count"] == 0
    assert _report(gated)["pending"]["signed_projects"]["investment"] == Decimal("1200.00")


def test_the_one_who_entered_a_record_may_not_verify_it(gated, people):
    pid = _project(gated, people["verifier"])
    _attach(gated, people["verifier"], pid)
    with gated.test_request_context(), pytest.raises(InvalidInput) as refused:
        verification.verify(_u(people["verifier"]), "signing", pid, now=NOW)
    assert "verification" in refused.value.errors
    with gated.test_request_context():
        verification.verify(_u(people["verifier2"]), "signing", pid, now=NOW)


def test_only_flagged_city_users_verify(gated, people):
    pid = _project(gated, people["hanbin"])
    _attach(gated, people["hanbin"], pid)
    for who in ("hanbin", "city", "viewer"):
        with gated.test_request_context(), pytest.raises(PermissionDenied):
            verification.verify(_u(people[who]), "signing", pid, now=NOW)
    flagged_county = User(id=9, username="x", display_name="x", role="county_staff", county_id=1,
                          is_active_user=True, password_hash="!", can_verify=True)
    assert not can(flagged_county, "result.verify")


def test_return_resubmit_verify(gated, people):
    pid = _project(gated, people["hanbin"])
    _attach(gated, people["hanbin"], pid)
    with gated.test_request_context():
        with pytest.raises(InvalidInput):
            verification.return_item(_u(people["verifier"]), "signing", pid, reason="  ", now=NOW)
        verification.return_item(_u(people["verifier"]), "signing", pid, reason="合同金额与录入不符", now=NOW)
        with pytest.raises(InvalidInput):
            verification.verify(_u(people["verifier2"]), "signing", pid, now=NOW)
        items = verification_queue.queue(status="returned")
        assert [i["reason"] for i in items] == ["合同金额与录入不符"]
        with pytest.raises(PermissionDenied):
            verification.resubmit(_u(people["ziyang"]), "signing", pid, now=NOW)
        projects.update_project(_u(people["hanbin"]), pid, {"investment_total": "900"}, now=NOW)
        verification.resubmit(_u(people["hanbin"]), "signing", pid, now=NOW)
        assert verification_queue.pending_counts() == {"signing": 1, "funds": 0}
        verification.verify(_u(people["verifier"]), "signing", pid, now=NOW)
    assert _report(gated)["signed_projects"]["investment"] == Decimal("900.00")


def test_attachment_that_is_not_what_it_claims_or_too_large_is_refused_and_nothing_saved(gated, people):
    pid = _project(gated, people["hanbin"])
    cases = [("合同.pdf", PNG, None), ("合同.png", PDF, None), ("合同.pdf", b"MZ\x90\x00 not a pdf", None),
             ("合同.pdf", PDF, "image/png"), ("合同.pdf", b"", None)]
    for name, data, claimed in cases:
        with gated.test_request_context(), pytest.raises(InvalidInput) as refused:
            attachments.add_attachment(_u(people["hanbin"]), pid, name, data, kind="contract", content_type=claimed,
                                       now=NOW)
        assert refused.value.errors["file"]
    gated.config["ATTACHMENT_MAX_BYTES"] = 1000
    with gated.test_request_context(), pytest.raises(InvalidInput) as refused:
        attachments.add_attachment(_u(people["hanbin"]), pid, "合同.pdf", PDF + b"0" * 1000, kind="contract", now=NOW)
    assert "MB" in str(refused.value.errors["file"][0])
    with gated.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(EvidenceAttachment)) == 0
        assert not any(attachments.folder().iterdir())


def test_attachments_are_read_by_the_city_and_the_county_only(gated, people):
    pid = _project(gated, people["hanbin"])
    aid = _attach(gated, people["hanbin"], pid)
    for who in ("hanbin", "city", "verifier"):
        with gated.test_request_context():
            attachment, data = attachments.read_attachment(_u(people[who]), aid)
            assert data == PDF and attachment.content_type == "application/pdf"
    for who in ("ziyang", "viewer"):
        with gated.test_request_context(), pytest.raises(PermissionDenied):
            attachments.read_attachment(_u(people[who]), aid)
    with gated.test_request_context(), pytest.raises(PermissionDenied):
        attachments.add_attachment(_u(people["ziyang"]), pid, "x.pdf", PDF, kind="contract", now=NOW)
    with gated.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "download")) == 3


def test_verified_evidence_cannot_be_removed(gated, people):
    pid = _project(gated, people["hanbin"])
    aid = _attach(gated, people["hanbin"], pid)
    with gated.test_request_context():
        verification.verify(_u(people["verifier"]), "signing", pid, now=NOW)
        with pytest.raises(InvalidInput):
            attachments.delete_attachment(_u(people["hanbin"]), aid, now=NOW)


def test_a_project_signed_again_by_another_county_is_held_until_the_verifier_decides(gated, people):
    first = _project(gated, people["hanbin"], name="安康富硒茶深加工项目", investment_total="50000")
    again = _project(gated, people["ziyang"], name="富硒茶深加工项目", county_id=county_id(gated, ZIYANG),
                     investment_total="50000", signed_on="2020-03-01")
    other = _project(gated, people["ziyang"], name="富硒茶深加工项目二期2", county_id=county_id(gated, ZIYANG),
                     investment_total="50000")
    for pid in (first, again, other):
        _attach(gated, people["hanbin"] if pid == first else people["ziyang"], pid)
    with gated.test_request_context():
        project = db.session.get(Project, again)
        suspects = verification.suspected_duplicates(project)
        assert [(p.id, "other_county" in r) for p, r in suspects] == [(first, True)]  # "二期2" has other numbers
        with pytest.raises(InvalidInput) as refused:
            verification.verify(_u(people["verifier"]), "signing", again, now=NOW)
        assert "duplicates" in refused.value.errors
        verification.verify(_u(people["verifier"]), "signing", other, now=NOW)
        verification.resolve_duplicate(_u(people["verifier"]), again, first, "duplicate", now=NOW)
        with pytest.raises(InvalidInput):
            verification.resubmit(_u(people["ziyang"]), "signing", again, now=NOW)
        assert verification.suspected_duplicates(db.session.get(Project, first)) == []
        verification.verify(_u(people["verifier"]), "signing", first, now=NOW)
    report = _report(gated)
    assert report["signed_projects"]["count"] == 2 and report["pending"]["signed_projects"]["count"] == 1


def test_not_a_duplicate_lets_both_count(gated, people):
    first = _project(gated, people["hanbin"], name="月河工业园标准化厂房", investment_total="8000")
    again = _project(gated, people["ziyang"], name="月河工业园标准化厂房", county_id=county_id(gated, ZIYANG),
                     investment_total="8000")
    _attach(gated, people["hanbin"], first)
    _attach(gated, people["ziyang"], again)
    with gated.test_request_context():
        with pytest.raises(InvalidInput):
            verification.resolve_duplicate(_u(people["verifier"]), again, 999999, "not_duplicate", now=NOW)
        verification.resolve_duplicate(_u(people["verifier"]), again, first, "not_duplicate", reason="两县各建一期",
                                       now=NOW)
        verification.verify(_u(people["verifier"]), "signing", again, now=NOW)
        verification.verify(_u(people["verifier"]), "signing", first, now=NOW)
    assert _report(gated)["signed_projects"]["count"] == 2


def test_unsigned_or_missing_subjects(gated, people):
    pid = _project(gated, people["hanbin"], stage="negotiating", signed_on=None)
    with gated.test_request_context():
        with pytest.raises(InvalidInput):
            verification.verify(_u(people["verifier"]), "signing", pid, now=NOW)
        with pytest.raises(NotFound):
            verification.verify(_u(people["verifier"]), "funds", 999999, now=NOW)
        with pytest.raises(InvalidInput):
            verification.verify(_u(people["verifier"]), "contract", pid, now=NOW)
        assert db.session.scalar(select(db.func.count()).select_from(Verification)) == 0


def test_only_city_users_can_be_made_verifiers_and_the_flag_is_audited(gated, people, make_user):
    from crm.services import users

    admin = make_user("admin", None)
    cid = county_id(gated, HANBIN)
    with gated.test_request_context():
        with pytest.raises(InvalidInput) as refused:
            users.create_user(_u(admin), {"username": "zs_verifier", "display_name": "张三", "role": "county_staff",
                                          "county_id": cid, "password": "Verify-pass-2027", "can_verify": True},
                              now=NOW)
        assert "can_verify" in refused.value.errors
        user = users.update_user(_u(admin), people["city"].id, {"can_verify": True}, now=NOW)
        assert user.can_verify
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "user",
                                                           AuditEntry.object_id == people["city"].id))
        assert entry.after == {"can_verify": True}
        assert not users.update_user(_u(admin), people["city"].id, {"role": "viewer"}, now=NOW).can_verify
