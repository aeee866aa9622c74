"""Duplicate leads (DESIGN.md §5): exact USCC refuses, likely matches warn; forcing past another county's
lead opens a claim conflict (撞单) for the city to arbitrate."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from crm.extensions import db
from crm.models import AuditEntry, ClaimConflict, ConflictStatus, Contact, Lead, User
from crm.services import audit, identity
from crm.services.errors import Conflict, DomainError
from crm.services.permissions import is_city_level, same_county

CANDIDATE_LIMIT = 200
PROBE_ACTION = "reveal.probe"


class DuplicateLead(Conflict):
    """A likely (or, with exact=True, certain) duplicate: `duplicates` lists the candidates."""

    def __init__(self, message: str, duplicates: list[dict], *, exact: bool):
        super().__init__(message, duplicates=duplicates, exact=exact)
        self.duplicates, self.exact = duplicates, exact


def _live():
    return select(Lead).where(Lead.deleted_at.is_(None))


def find(name: str | None, *, uscc: str | None = None, mobiles=(), exclude_id: int | None = None
         ) -> list[tuple[Lead, str]]:
    """(lead, reason) for every live lead that looks like this one, strongest reason per lead."""
    return [(lead, reasons[0]) for lead, reasons in find_all(name, uscc=uscc, mobiles=mobiles, exclude_id=exclude_id)]


def find_all(name: str | None, *, uscc: str | None = None, mobiles=(), exclude_id: int | None = None
             ) -> list[tuple[Lead, list[str]]]:
    """(lead, every reason it matches, strongest first) for every live lead that looks like this one."""
    found: dict[int, tuple[Lead, list[str]]] = {}

    def add(leads, reason: str) -> None:
        for lead in leads:
            if lead.id != exclude_id:
                reasons = found.setdefault(lead.id, (lead, []))[1]
                if reason not in reasons:
                    reasons.append(reason)

    if uscc:
        add(db.session.scalars(_live().where(Lead.uscc == uscc)), "uscc")
    keys = {k for k in (identity.normalise_mobile(m) for m in mobiles) if k}
    if keys:
        add(db.session.scalars(_live().join(Contact, Contact.lead_id == Lead.id)
                               .where(Contact.mobile_key.in_(keys)).distinct()), "mobile")
    name_key = identity.normalise_company_name(name)
    if name_key:
        add(db.session.scalars(_live().where(Lead.name_key == name_key)), "name")
        _full, initials = identity.pinyin_keys(name)
        stmt = _live().where(or_(Lead.name_key.startswith(name_key[:2], autoescape=True),
                                 Lead.pinyin_initials == initials)).limit(CANDIDATE_LIMIT)
        add([lead for lead in db.session.scalars(stmt)
             if identity.name_similarity(name, lead.name) >= identity.LIKELY_DUPLICATE_THRESHOLD], "similar_name")
    return list(found.values())


CONTACT_REASONS = ("mobile",)
PROBE_WINDOW = timedelta(hours=1)


def masked_for(actor: User | None, county_id: int | None) -> bool:
    """Whether another county's contact data is masked for this actor (city-level users see it all)."""
    return actor is not None and not is_city_level(actor) and not same_county(actor, county_id)


def visible_reasons(actor: User | None, county_id: int | None, reasons: list[str]) -> list[str]:
    """The reasons the actor may be told: a match on masked contact data is never confirmed by name, and a
    lead that also matches by name is reported by its name alone, so adding a mobile changes nothing visible."""
    if not masked_for(actor, county_id):
        return list(reasons)
    return [r for r in reasons if r not in CONTACT_REASONS]


def describe(found, *, actor: User | None = None) -> list[dict]:
    """Candidates as the actor may see them; `found` holds (lead, reason) or (lead, [reasons])."""
    described = []
    for lead, reasons in found:
        reasons = [reasons] if isinstance(reasons, str) else reasons
        shown = visible_reasons(actor, lead.owner_county_id, reasons)
        described.append({"id": lead.id, "name": lead.name, "owner_county_id": lead.owner_county_id,
                          "reason": shown[0]} if shown else
                         {"id": None, "name": None, "owner_county_id": lead.owner_county_id, "reason": "contact"})
    return described


class ProbeLimited(DomainError):
    """Too many duplicate checks answered only by other counties' masked contact data (a probe for values)."""

    status = 429


def record_probes(actor: User, lead_ids: list[int], *, where: str, count: int | None = None) -> None:
    """A duplicate answer that rests on another county's masked contact data is a partial reveal: audited like
    a reveal (PIPL), one entry per matched lead (the first 50), in the caller's unit of work."""
    for lead_id in lead_ids[:50]:
        audit.record(actor, PROBE_ACTION, "lead", lead_id, summary=f"{where}: contact matches a masked lead")
    if count is not None and count > len(lead_ids[:50]):
        audit.record(actor, PROBE_ACTION, "lead", None, summary=f"{where}: {count} rows matched masked contacts")


def recent_probes(actor: User, *, now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.actor_id == actor.id, AuditEntry.action == PROBE_ACTION,
        AuditEntry.at >= now - PROBE_WINDOW)) or 0


def _guard_probe(actor: User | None, hidden: list[Lead], now: datetime | None) -> None:
    if actor is None or actor.id is None or not hidden:
        return
    now = now or datetime.now(UTC)
    if recent_probes(actor, now=now) >= current_app.config["DUPLICATE_PROBE_LIMIT"]:
        raise ProbeLimited(_("Too many of your duplicate checks matched other counties' contact details in the "
                             "last hour. Ask the city to check this lead, or try again later."))
    record_probes(actor, [lead.id for lead in hidden], where="duplicate check")
    db.session.commit()  # the trace must outlive the refusal that follows (check runs before anything is added)


def check(fields: dict, *, force: bool, exclude_id: int | None = None, actor: User | None = None,
          now: datetime | None = None) -> list[tuple[Lead, str]]:
    """Raise DuplicateLead for an exact USCC match (always) or likely matches (unless forced); return the
    likely matches a forced save goes past. Matches resting only on another county's masked contact data are
    audited as probes and limited to DUPLICATE_PROBE_LIMIT an hour per user."""
    mobiles = [c.get("mobile") for c in fields.get("contacts") or []]
    found = find_all(fields.get("name"), uscc=fields.get("uscc"), mobiles=mobiles, exclude_id=exclude_id)
    exact = [(lead, "uscc") for lead, reasons in found if reasons[0] == "uscc"]
    if exact:
        raise DuplicateLead(_("A lead with this unified social credit code already exists."), describe(exact),
                            exact=True)
    hidden = [lead for lead, reasons in found if not visible_reasons(actor, lead.owner_county_id, reasons)]
    _guard_probe(actor, hidden, now)
    if found and not force:
        raise DuplicateLead(_("This looks like a lead that already exists."), describe(found, actor=actor),
                            exact=False)
    return [(lead, reasons[0]) for lead, reasons in found]


def open_conflicts(actor: User, lead: Lead, found: list[tuple[Lead, str]], *, now: datetime) -> list[ClaimConflict]:
    """A forced save against another county's lead: the first registration is protected until the city decides."""
    opened = []
    for other, reason in found:
        if other.owner_county_id == lead.owner_county_id:
            continue
        first, claimant = (other, lead) if (other.created_at, other.id) <= (lead.created_at, lead.id) else (lead, other)
        already = db.session.scalar(select(ClaimConflict.id).where(
            ClaimConflict.status == ConflictStatus.OPEN.value,
            or_((ClaimConflict.lead_id == first.id) & (ClaimConflict.claimant_lead_id == claimant.id),
                (ClaimConflict.lead_id == claimant.id) & (ClaimConflict.claimant_lead_id == first.id))))
        if already:
            continue
        conflict = ClaimConflict(lead_id=first.id, claimant_lead_id=claimant.id,
                                 claimant_county_id=claimant.owner_county_id, claimant_user_id=actor.id,
                                 reason=reason, status=ConflictStatus.OPEN.value, created_at=now)
        db.session.add(conflict)
        db.session.flush()
        audit.record(actor, "conflict.open", "conflict", conflict.id, summary=f"{first.name} / {claimant.name}",
                     after={"lead_id": first.id, "claimant_lead_id": claimant.id, "reason": reason})
        opened.append(conflict)
    return opened
