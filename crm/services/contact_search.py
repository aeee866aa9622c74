"""Leads found by a contact's mobile, landline, e-mail or WeChat id, for readers who see that contact unmasked.

The index never holds contact details (they are masked for other counties, and anything indexed can be matched
or highlighted), so a query that is one such identifier is answered here from the database, limited to the
leads of the reader's own county, every lead for city-level users, and leads the reader has revealed (an
audited `reveal`). A lead whose contact the reader would see masked is never looked at: the answer is the same
as for a number nobody has.
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, or_, select

from crm.extensions import db
from crm.models import AuditEntry, Contact, Lead, User
from crm.services import identity, industries
from crm.services.permissions import is_city_level

LIMIT = 50  # an identifier names one person; more matches than this are not a lookup any more

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# WeChat's own rule for an id: 6–20 letters, digits, _ or -, starting with a letter. Only ids with a digit, _ or -
# are looked up: e-mail and WeChat ids have no index (a scan of every contact costs ~100 ms at 200,000), and
# letters alone are what every pinyin query looks like (shanzhenhua), which must stay a few ms.
_WECHAT_RE = re.compile(r"[A-Za-z][-_A-Za-z0-9]{5,19}")
_NOT_ONLY_LETTERS = re.compile(r"[-_0-9]")
_PHONE_RE = re.compile(r"[0-9+()\-‐‑‒–—\s]{7,}")


def _exact(text: str) -> list:
    """SQL conditions on Contact matching text as a mobile, e-mail or WeChat id; [] when it is none of them."""
    mobile = identity.normalise_mobile(text)
    if mobile:
        return [Contact.mobile_key == mobile]  # indexed; a WeChat id equal to the mobile would need a scan
    if _EMAIL_RE.fullmatch(text):
        return [func.lower(func.trim(Contact.email)) == text.lower()]
    if _WECHAT_RE.fullmatch(text) and _NOT_ONLY_LETTERS.search(text):
        return [func.lower(func.trim(Contact.wechat)) == text.lower()]
    return []


def _same_landline(a: tuple[str, str], b: tuple[str, str] | None) -> bool:
    # 3212345 and 0915-3212345 are one number as far as the reader can tell; 0915- and 029- are not.
    return b is not None and a[1] == b[1] and (not a[0] or not b[0] or a[0] == b[0])


def _visible(actor: User):
    """Condition on Lead: the reader sees its contacts unmasked (own county, city level, or revealed)."""
    if is_city_level(actor):
        return None
    revealed = select(AuditEntry.object_id).where(AuditEntry.actor_id == actor.id, AuditEntry.action == "reveal",
                                                 AuditEntry.object_type == "lead")
    own = Lead.owner_county_id == actor.county_id if actor.county_id is not None else None
    return or_(Lead.id.in_(revealed), *([own] if own is not None else []))


def _filtered(stmt, filters: dict):
    """The search filters (crm.search.index._filter_query) as SQL; None when a value cannot match anything."""
    if filters.get("type") not in (None, "", "lead"):
        return None
    try:
        if filters.get("industry_id") not in (None, ""):
            stmt = stmt.where(Lead.industry_id.in_(industries.descendant_ids(int(filters["industry_id"]))))
        if filters.get("county_id") not in (None, ""):
            stmt = stmt.where(Lead.owner_county_id == int(filters["county_id"]))
    except (TypeError, ValueError, OverflowError):
        return None
    for name in ("kind", "status"):
        if filters.get(name) not in (None, ""):
            stmt = stmt.where(getattr(Lead, name) == filters[name])
    if filters.get("is_key") is not None:
        stmt = stmt.where(Lead.is_key.is_(bool(filters["is_key"])))
    return stmt


def lead_ids(actor: User, q: str | None, filters: dict | None = None) -> list[int]:
    """Live leads with a contact whose mobile, landline, e-mail or WeChat id is q, among those the reader may see
    unmasked; newest first. [] when q is not such an identifier."""
    text = unicodedata.normalize("NFKC", q or "").strip()
    if not text or len(text) > 254:
        return []
    exact = _exact(text)
    landline = identity.landline_key(text) if not exact and _PHONE_RE.fullmatch(text) else None
    if not exact and landline is None:
        return []
    stmt = (select(Lead.id, Contact.phone).join(Contact, Contact.lead_id == Lead.id)
            .where(Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None)))
    # A landline is narrowed in SQL by its local number (hyphens and spaces taken out) and confirmed in Python
    # on the whole number: people write it with and without area code.
    digits = func.replace(func.replace(Contact.phone, "-", ""), " ", "")
    stmt = stmt.where(or_(*exact) if exact else digits.contains(landline[1], autoescape=True))
    visible = _visible(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    stmt = _filtered(stmt, filters or {})
    if stmt is None:
        return []
    out: list[int] = []
    for lead_id, phone in db.session.execute(stmt.order_by(Lead.id.desc()).limit(LIMIT * 4)):
        if lead_id not in out and (exact or _same_landline(landline, identity.landline_key(phone))):
            out.append(lead_id)
    return out[:LIMIT]
