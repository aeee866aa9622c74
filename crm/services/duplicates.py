"""Duplicate leads (DESIGN.md §5): exact USCC refuses, likely matches warn; forcing past another county's
lead opens a claim conflict (撞单) for the city to arbitrate."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select

from crm.extensions import db
from crm.models import ClaimConflict, ConflictStatus, Contact, Lead, User
from crm.services import audit, identity
from crm.services.errors import Conflict
from crm.services.permissions import is_city_level, same_county

CANDIDATE_LIMIT = 200


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
    found: dict[int, tuple[Lead, str]] = {}

    def add(leads, reason: str) -> None:
        for lead in leads:
            if lead.id != exclude_id and lead.id not in found:
                found[lead.id] = (lead, reason)

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


def _hidden_from(actor: User | None, lead: Lead, reason: str) -> bool:
    """A match resting only on another county's masked contact data must not name the lead nor confirm the value."""
    return (actor is not None and reason in CONTACT_REASONS and not is_city_level(actor)
            and not same_county(actor, lead.owner_county_id))


def describe(found: list[tuple[Lead, str]], *, actor: User | None = None) -> list[dict]:
    return [{"id": None, "name": None, "owner_county_id": lead.owner_county_id, "reason": "contact"}
            if _hidden_from(actor, lead, reason) else
            {"id": lead.id, "name": lead.name, "owner_county_id": lead.owner_county_id, "reason": reason}
            for lead, reason in found]


def check(fields: dict, *, force: bool, exclude_id: int | None = None, actor: User | None = None
          ) -> list[tuple[Lead, str]]:
    """Raise DuplicateLead for an exact USCC match (always) or likely matches (unless forced); return the
    likely matches a forced save goes past."""
    mobiles = [c.get("mobile") for c in fields.get("contacts") or []]
    found = find(fields.get("name"), uscc=fields.get("uscc"), mobiles=mobiles, exclude_id=exclude_id)
    exact = [f for f in found if f[1] == "uscc"]
    if exact:
        raise DuplicateLead(_("A lead with this unified social credit code already exists."), describe(exact),
                            exact=True)
    if found and not force:
        raise DuplicateLead(_("This looks like a lead that already exists."), describe(found, actor=actor),
                            exact=False)
    return found


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
