"""认定: a signing or a funds arrival counts in the annual figures only once a city verifier (users.can_verify,
never the one who entered it) has checked its evidence; returned items are corrected and resubmitted, and
editing a verified record sends it back to 待认定. Also the 撞单 check of projects (the same project signed
again at another event or by another county). Attachments live in crm.services.attachments."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from rapidfuzz import fuzz, process
from sqlalchemy import exists, select

from crm.extensions import db
from crm.models import (
    EvidenceAttachment,
    FundsArrival,
    Project,
    Stage,
    User,
    Verification,
    VerificationKind,
    VerificationStatus,
    project_leads,
)
from crm.services import audit, identity
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import can, is_city_level, require, rule
from crm.services.validation import Errors, clean_choice, clean_text

KINDS = [k.value for k in VerificationKind]
STATUSES = [s.value for s in VerificationStatus]
# What a verifier checked of a signing: changing any of it afterwards sends the signing back to 待认定.
SIGNING_KEYS = ("name", "county_id", "investment_total", "signed_on", "event_id", "lead_ids", "source_channel")
FUNDS_KEYS = ("amount", "arrived_on", "out_of_province", "foreign_amount")
DECISIONS = ("not_duplicate", "duplicate")
_DIGITS = re.compile(r"\d+")


# --- permissions -------------------------------------------------------------------------------------------

@rule("result.verify")
def _verify(actor: User, _obj) -> bool:
    """A city-level user the administrator flagged as a verifier (认定人)."""
    return is_city_level(actor) and bool(getattr(actor, "can_verify", False))


@rule("result.queue")
def _queue(actor: User, _obj) -> bool:
    """The 待认定 queue: the city's business (county staff see their own records' state on each project)."""
    return is_city_level(actor)


@rule("result.submit")
def _submit(actor: User, project) -> bool:
    """Resubmitting a returned item is the data's editors' job: the landing county or the city."""
    return can(actor, "project.edit", project)


def counting_verified_only() -> bool:
    """REPORTS_COUNT_VERIFIED_ONLY (default on): the annual figures count verified records only."""
    return bool(current_app.config.get("REPORTS_COUNT_VERIFIED_ONLY", True))


# --- SQL conditions the figures use ------------------------------------------------------------------------

def signing_verified():
    """On Project: its signing is 已认定."""
    return exists(select(1).where(Verification.kind == VerificationKind.SIGNING.value,
                                  Verification.project_id == Project.id, Verification.funds_id.is_(None),
                                  Verification.status == VerificationStatus.VERIFIED.value))


def funds_verified():
    """On FundsArrival: the arrival is 已认定."""
    return exists(select(1).where(Verification.funds_id == FundsArrival.id,
                                  Verification.status == VerificationStatus.VERIFIED.value))


# --- subjects ----------------------------------------------------------------------------------------------

@dataclass
class Subject:
    """What is being verified: a project's signing, or one of its funds arrivals."""

    kind: str
    project: Project
    funds: FundsArrival | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.funds.id if self.funds is not None else self.project.id}"

    @property
    def ident(self) -> int:
        return self.funds.id if self.funds is not None else self.project.id


def subject(actor: User, kind, ident) -> Subject:
    """The live signing (of a signed, not dropped project) or live funds arrival; NotFound otherwise."""
    errors = Errors()
    kind = clean_choice(kind, KINDS, field="kind", errors=errors)
    if errors:
        raise InvalidInput(errors)
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        raise NotFound(kind) from None
    if kind == VerificationKind.FUNDS:
        funds = db.session.get(FundsArrival, ident)
        if funds is None or funds.withdrawn_at is not None or funds.project.deleted_at is not None:
            raise NotFound("funds")
        return Subject(kind, funds.project, funds)
    project = db.session.get(Project, ident)
    if project is None or project.deleted_at is not None:
        raise NotFound("project")
    if project.signed_on is None or project.stage == Stage.DROPPED:
        raise InvalidInput({"kind": [_l("This project is not signed: there is no signing to verify.")]})
    return Subject(kind, project)


def state(sub: Subject) -> Verification | None:
    return db.session.scalar(select(Verification).where(Verification.subject_key == sub.key))


def status_of(sub: Subject) -> str:
    row = state(sub)
    return row.status if row is not None else VerificationStatus.PENDING.value


def _row(sub: Subject) -> Verification:
    row = state(sub)
    if row is None:
        row = Verification(subject_key=sub.key, kind=sub.kind, project_id=sub.project.id,
                           funds_id=sub.funds.id if sub.funds is not None else None,
                           status=VerificationStatus.PENDING.value, cleared_duplicate_ids=[])
        db.session.add(row)
    return row


def entered_by(sub: Subject) -> set[int]:
    """Everyone who entered or changed the data: none of them may verify it."""
    ids = {getattr(state(sub), "submitted_by_id", None)}
    if sub.funds is not None:
        ids.add(sub.funds.created_by_id)
    else:
        ids.add(sub.project.created_by_id)
        ids.update(c.actor_id for c in sub.project.stage_changes if c.to_stage == Stage.SIGNED)
    return {i for i in ids if i is not None}


def evidence(sub: Subject) -> list[EvidenceAttachment]:
    stmt = select(EvidenceAttachment).where(EvidenceAttachment.project_id == sub.project.id,
                                            EvidenceAttachment.deleted_at.is_(None))
    if sub.funds is not None:
        stmt = stmt.where(EvidenceAttachment.funds_id == sub.funds.id)
    else:
        stmt = stmt.where(EvidenceAttachment.funds_id.is_(None))
    return list(db.session.scalars(stmt.order_by(EvidenceAttachment.id)))


def _label(sub: Subject) -> str:
    if sub.funds is not None:
        return f"{sub.project.name}: {sub.funds.amount} ({sub.funds.arrived_on.isoformat()})"
    return f"{sub.project.name}: {sub.project.investment_total} ({sub.project.signed_on.isoformat()})"


# --- commands ----------------------------------------------------------------------------------------------

def verify(actor: User, kind, ident, *, now: datetime) -> Verification:
    """已认定: by a verifier who entered none of it, with evidence attached, and (a signing) no unresolved 撞单."""
    require(actor, "result.verify")
    sub = subject(actor, kind, ident)
    row = state(sub)
    if row is not None and row.status == VerificationStatus.VERIFIED:
        raise InvalidInput({"status": [_l("This record is verified already.")]})
    if row is not None and row.status == VerificationStatus.RETURNED:
        raise InvalidInput({"status": [_l("This record was returned: it is verified after its editors correct "
                                          "and resubmit it.")]})
    if actor.id in entered_by(sub):
        raise InvalidInput({"verification": [_l("You entered or changed this record, so you may not verify it: "
                                                "another verifier must check it.")]})
    if not evidence(sub):
        raise InvalidInput({"evidence": [_l("No evidence is attached (contract, business licence or bank slip): "
                                            "a record is verified only against its evidence.")]})
    if sub.funds is None:
        suspects = suspected_duplicates(sub.project)
        if suspects:
            raise InvalidInput({"duplicates": [_l(
                "This signing looks like %(names)s: decide whether it is a duplicate (撞单) before verifying it.",
                names="、".join(p.name for p, _r in suspects[:3]))]})
    row = _row(sub)
    row.status, row.decided_by_id, row.decided_at, row.reason = VerificationStatus.VERIFIED.value, actor.id, now, None
    db.session.flush()
    audit.record(actor, "verify", "verification", row.id, summary=_label(sub),
                 after={"kind": sub.kind, "id": sub.ident, "status": row.status})
    db.session.commit()
    return row


def return_item(actor: User, kind, ident, *, reason, now: datetime) -> Verification:
    """退回 with a reason the editors read; a returned record is not counted until resubmitted and verified."""
    require(actor, "result.verify")
    sub = subject(actor, kind, ident)
    errors = Errors()
    reason = clean_text(reason, field="reason", errors=errors, max_length=300, required=True)
    if errors:
        raise InvalidInput(errors)
    row = _row(sub)
    if row.status == VerificationStatus.RETURNED:
        raise InvalidInput({"status": [_l("This record was returned already.")]})
    before = row.status
    row.status, row.decided_by_id, row.decided_at, row.reason = VerificationStatus.RETURNED.value, actor.id, now, reason
    db.session.flush()
    audit.record(actor, "verification_return", "verification", row.id, summary=f"{_label(sub)}: {reason}",
                 before={"status": before}, after={"kind": sub.kind, "id": sub.ident, "status": row.status,
                                                   "reason": reason})
    db.session.commit()
    return row


def resubmit(actor: User, kind, ident, *, now: datetime) -> Verification:
    """A returned record, corrected, goes back to 待认定; the resubmitter may not verify it."""
    sub = subject(actor, kind, ident)
    require(actor, "result.submit", sub.project)
    row = state(sub)
    if row is None or row.status != VerificationStatus.RETURNED:
        raise InvalidInput({"status": [_l("Only a returned record can be resubmitted.")]})
    if row.duplicate_of_id is not None:
        raise InvalidInput({"status": [_l("This signing was judged a duplicate (撞单) of another project: it is "
                                          "not resubmitted; ask the city to review the decision.")]})
    row.status, row.submitted_by_id, row.submitted_at = VerificationStatus.PENDING.value, actor.id, now
    audit.record(actor, "verification_resubmit", "verification", row.id, summary=_label(sub),
                 before={"status": VerificationStatus.RETURNED.value, "reason": row.reason},
                 after={"kind": sub.kind, "id": sub.ident, "status": row.status})
    db.session.commit()
    return row


def _reopen(actor: User, sub: Subject, changed: list[str], now: datetime) -> None:
    row = state(sub)
    if row is None:
        return
    row.submitted_by_id, row.submitted_at = actor.id, now
    if row.status != VerificationStatus.VERIFIED:
        return
    row.status, row.decided_by_id, row.decided_at = VerificationStatus.PENDING.value, None, None
    audit.record(actor, "verification_reopen", "verification", row.id, summary=_label(sub),
                 before={"status": VerificationStatus.VERIFIED.value},
                 after={"kind": sub.kind, "id": sub.ident, "status": row.status, "changed": sorted(changed)})


def signing_changed(actor: User, project: Project, changed, *, now: datetime) -> None:
    """Called by crm.services.projects inside its unit of work (no commit here): a change to what a verifier
    checked sends a verified signing back to 待认定 (audited), and its editor may not verify it."""
    keys = [k for k in changed if k in SIGNING_KEYS]
    if keys and project.signed_on is not None:
        _reopen(actor, Subject(VerificationKind.SIGNING.value, project), keys, now)


def funds_changed(actor: User, funds: FundsArrival, changed, *, now: datetime) -> None:
    """As signing_changed, for a corrected funds arrival (called by crm.services.funds)."""
    keys = [k for k in changed if k in FUNDS_KEYS]
    if keys:
        _reopen(actor, Subject(VerificationKind.FUNDS.value, funds.project, funds), keys, now)


# --- 撞单 of projects --------------------------------------------------------------------------------------

def _numbers(name: str) -> list[str]:
    """Digits in a name tell phases and sizes apart (年产10万吨 / 年产20万吨; 2019签约项目1 / 2019签约项目2)."""
    return _DIGITS.findall(name or "")


def _signed_rows(exclude_id: int | None = None):
    stmt = select(Project).where(Project.deleted_at.is_(None), Project.signed_on.is_not(None),
                                 Project.stage != Stage.DROPPED.value)
    if exclude_id is not None:
        stmt = stmt.where(Project.id != exclude_id)
    return list(db.session.scalars(stmt))


def _lead_sets(ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    if ids:
        for pid, lid in db.session.execute(select(project_leads.c.project_id, project_leads.c.lead_id)
                                           .where(project_leads.c.project_id.in_(ids))):
            out.setdefault(pid, set()).add(lid)
    return out


def _decided(ids: list[int]) -> tuple[dict[int, list], set[int]]:
    """project id → the ids cleared as not its duplicates; and the projects judged duplicates themselves."""
    cleared, rejected = {}, set()
    if ids:
        for row in db.session.scalars(select(Verification).where(
                Verification.kind == VerificationKind.SIGNING.value, Verification.project_id.in_(ids))):
            cleared[row.project_id] = list(row.cleared_duplicate_ids or [])
            if row.duplicate_of_id is not None:
                rejected.add(row.project_id)
    return cleared, rejected


@lru_cache(maxsize=50_000)
def _name_key(name: str) -> str:
    return identity.normalise_company_name(name)


def _similar(name: str, pool: list[Project]) -> list[Project]:
    """The pool's projects whose names score as likely the same (the leads' rule), in one C loop."""
    key = _name_key(name)
    if not key or not pool:
        return []
    keys = [_name_key(p.name) for p in pool]
    cutoff = identity.LIKELY_DUPLICATE_THRESHOLD * 100
    return [pool[i] for _k, _score, i in process.extract(key, keys, scorer=fuzz.WRatio, score_cutoff=cutoff,
                                                          limit=None) if keys[i]]


def suspected_duplicates(project: Project, *, pool: list[Project] | None = None) -> list[tuple[Project, list[str]]]:
    """(other project, reasons) for each signed project that looks like the same one signed again: a similar
    name with the same numbers in it, and a shared investor lead or the same investment; reasons also say
    `other_county` / `other_event`. Pairs a verifier cleared, and projects judged duplicates, are left out."""
    if project.signed_on is None:
        return []
    pool = [p for p in (pool if pool is not None else _signed_rows(project.id))
            if p.id != project.id and _numbers(p.name) == _numbers(project.name)]
    similar = _similar(project.name, pool)
    if not similar:
        return []
    ids = [project.id] + [p.id for p in similar]
    leads, (cleared, rejected) = _lead_sets(ids), _decided(ids)
    mine = leads.get(project.id, set())
    found = []
    for other in similar:
        if other.id in rejected or other.id in cleared.get(project.id, []) or project.id in cleared.get(other.id, []):
            continue
        reasons = []
        if mine & leads.get(other.id, set()):
            reasons.append("same_lead")
        if other.investment_total and other.investment_total == project.investment_total:
            reasons.append("same_investment")
        if not reasons:
            continue
        reasons.append("similar_name")
        if other.county_id != project.county_id:
            reasons.append("other_county")
        if other.event_id != project.event_id:
            reasons.append("other_event")
        found.append((other, reasons))
    return sorted(found, key=lambda pr: (pr[0].signed_on, pr[0].id))


def resolve_duplicate(actor: User, project_id, other_id, decision, *, reason=None, now: datetime) -> Verification:
    """The verifier's decision on a suspected pair: `not_duplicate` (both may be verified) or `duplicate`
    (this signing is returned as a repeat of the other and never counted)."""
    require(actor, "result.verify")
    sub = subject(actor, VerificationKind.SIGNING.value, project_id)
    errors = Errors()
    decision = clean_choice(decision, DECISIONS, field="decision", errors=errors)
    reason = clean_text(reason, field="reason", errors=errors, max_length=300)
    try:
        other_id = int(other_id)
    except (TypeError, ValueError):
        errors.add("other_id", _l("Not one of this project's suspected duplicates."))
    if errors:
        raise InvalidInput(errors)
    suspects = {p.id: p for p, _r in suspected_duplicates(sub.project)}
    if other_id not in suspects:
        raise InvalidInput({"other_id": [_l("Not one of this project's suspected duplicates.")]})
    row = _row(sub)
    if decision == "not_duplicate":
        row.cleared_duplicate_ids = sorted({*(row.cleared_duplicate_ids or []), other_id})
        action, after = "duplicate_cleared", {"other_id": other_id}
    else:
        before = row.status
        row.status, row.duplicate_of_id = VerificationStatus.RETURNED.value, other_id
        row.decided_by_id, row.decided_at = actor.id, now
        row.reason = reason or str(_l("A duplicate (撞单) of %(name)s.", name=suspects[other_id].name))
        action, after = "duplicate_confirmed", {"other_id": other_id, "before": before, "status": row.status}
    db.session.flush()
    audit.record(actor, action, "verification", row.id, summary=f"{sub.project.name} / {suspects[other_id].name}",
                 after={"project_id": sub.project.id, **after, **({"reason": reason} if reason else {})})
    db.session.commit()
    return row
