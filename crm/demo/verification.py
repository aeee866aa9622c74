"""The demo city's 认定: 李晓燕 (city2) is the verifier; signings and funds older than three months carry their
evidence and are verified, so the annual figures show them; recent ones wait in her queue (most with evidence,
some without, one returned for a clearer scan), and one project is signed again by another county (撞单)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from crm.demo.context import Demo
from crm.extensions import db
from crm.models import (
    EvidenceAttachment,
    EvidenceKind,
    Project,
    Stage,
    StageChange,
    Verification,
    VerificationKind,
    VerificationStatus,
)
from crm.services import attachments

VERIFIER = "city2"
SETTLED_DAYS = 90  # older records have been checked; newer ones wait
# A placeholder scan: a valid one-page PDF saying what it stands for (one file on disk for every row).
PLACEHOLDER = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
               b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>endobj\n"
               b"4 0 obj<</Length 44>>stream\nBT /F1 18 Tf 72 760 Td (Demo evidence) Tj ET\nendstream endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _evidence(demo: Demo, project: Project, kind: EvidenceKind, name: str, *, funds=None, when) -> None:
    digest = hashlib.sha256(PLACEHOLDER).hexdigest()
    db.session.add(EvidenceAttachment(project_id=project.id, funds_id=funds.id if funds else None, kind=kind.value,
                                      filename=name, content_type="application/pdf", size=len(PLACEHOLDER),
                                      sha256=digest, uploaded_by_id=project.manager_id, uploaded_at=when))


def _state(kind: str, project: Project, funds, status: VerificationStatus, verifier, when, reason=None):
    key = f"{kind}:{funds.id if funds is not None else project.id}"
    db.session.add(Verification(subject_key=key, kind=kind, project_id=project.id,
                                funds_id=funds.id if funds is not None else None, status=status.value,
                                decided_by_id=verifier.id if status != VerificationStatus.PENDING else None,
                                decided_at=when if status != VerificationStatus.PENDING else None,
                                reason=reason, cleared_duplicate_ids=[], created_at=when, updated_at=when))


def _signed_again(demo: Demo, original: Project) -> int:
    """The same project, same investor and amount, registered as signed by another county a few days later."""
    other = next(c for c in demo.real_counties if c.id != original.county_id)
    manager = (demo.staff_of(other) or [demo.users[VERIFIER]])[0]
    day = min(original.signed_on + timedelta(days=3), demo.today)
    copy = Project(name=original.name, industry_id=original.industry_id, county_id=other.id, stage=Stage.SIGNED,
                   investment_total=original.investment_total, is_foreign=original.is_foreign,
                   source_channel=original.source_channel, manager_id=manager.id, created_by_id=manager.id,
                   signed_on=day, created_at=demo.at((day - demo.today).days, 11),
                   updated_at=demo.at((day - demo.today).days, 11), notes="（演示）另一县区再次登记的同一签约项目")
    copy.leads = list(original.leads)
    copy.stage_changes.append(StageChange(from_stage=None, to_stage=Stage.SIGNED.value, changed_on=day,
                                          actor_id=manager.id, at=copy.created_at))
    db.session.add(copy)
    db.session.flush()
    _evidence(demo, copy, EvidenceKind.CONTRACT, "投资合同（扫描件）.pdf", when=copy.created_at)
    return 1


def build_verification(demo: Demo) -> dict:
    verifier = demo.users[VERIFIER]
    verifier.can_verify = True
    attachments._keep(PLACEHOLDER, hashlib.sha256(PLACEHOLDER).hexdigest())
    counts = {"verified": 0, "pending": 0, "returned": 0, "attachments": 0, "duplicates": 0}
    cutoff = demo.on(-SETTLED_DAYS)
    recent_signings = []
    for project in sorted(demo.projects, key=lambda p: p.id):
        if project.signed_on and project.stage != Stage.DROPPED:
            when = demo.at((project.signed_on - demo.today).days, 16)
            if project.signed_on < cutoff:
                _evidence(demo, project, EvidenceKind.CONTRACT, "投资合同.pdf", when=when)
                _state(VerificationKind.SIGNING.value, project, None, VerificationStatus.VERIFIED, verifier,
                       when + timedelta(days=7))
                counts["verified"] += 1
                counts["attachments"] += 1
            else:
                recent_signings.append(project)
        for funds in project.funds:
            when = demo.at((funds.arrived_on - demo.today).days, 17)
            if funds.withdrawn_at is not None:
                continue
            if funds.arrived_on < cutoff:
                _evidence(demo, project, EvidenceKind.BANK_SLIP, "银行进账单.pdf", funds=funds, when=when)
                _state(VerificationKind.FUNDS.value, project, funds, VerificationStatus.VERIFIED, verifier,
                       when + timedelta(days=5))
                counts["verified"] += 1
                counts["attachments"] += 1
            elif demo.rng.random() < 0.7:
                _evidence(demo, project, EvidenceKind.BANK_SLIP, "银行进账单.pdf", funds=funds, when=when)
                counts["attachments"] += 1
                counts["pending"] += 1
            else:
                counts["pending"] += 1
    for n, project in enumerate(recent_signings):
        when = demo.at((project.signed_on - demo.today).days, 16)
        if n % 3 != 2:  # two in three have their contract uploaded already
            _evidence(demo, project, EvidenceKind.CONTRACT, "投资合同.pdf", when=when)
            counts["attachments"] += 1
        if n == 1:
            _state(VerificationKind.SIGNING.value, project, None, VerificationStatus.RETURNED, verifier,
                   min(when + timedelta(days=2), demo.now), reason="合同扫描件缺少签字页，请补充后重新提交")
            counts["returned"] += 1
        else:
            counts["pending"] += 1
    if recent_signings:
        counts["duplicates"] += _signed_again(demo, recent_signings[0])
    return counts
