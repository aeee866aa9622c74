"""Leads (客商) and their contacts: permissions, validation, create/edit/delete/restore, lists, masking, reveal.

Duplicate checks live in crm.services.duplicates, conflicts and merging in crm.services.conflicts."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select, update

from crm.extensions import db
from crm.models import (
    Contact,
    County,
    Industry,
    Lead,
    LeadKind,
    LeadStatus,
    LeadTag,
    Role,
    SourceChannel,
    User,
)
from crm.models.lead import PERSON_KINDS
from crm.services import audit, identity, industries, versions
from crm.services.errors import Conflict, InvalidInput, NotFound
from crm.services.permissions import can, is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_choice, clean_email, clean_text

try:  # the search index is written by another feature; leads work without it
    from crm.services import indexing
except ImportError:  # pragma: no cover
    indexing = None

KINDS = [k.value for k in LeadKind]
STATUSES = [s.value for s in LeadStatus]
CHANNELS = [c.value for c in SourceChannel]
AUDITED = ("kind", "name", "uscc", "industry_id", "origin_region", "home_county_id", "owner_county_id", "owner_id",
           "source_channel", "referrer_id", "status", "is_key", "notes", "tags")
CONTACT_FIELDS = ("name", "title", "mobile", "phone", "email", "wechat", "is_primary")
MAX_CONTACTS, MAX_TAGS = 20, 20
SORTS = {"updated": Lead.updated_at.desc(), "name": Lead.name_key.asc(), "created": Lead.created_at.desc(),
         "last_contacted": Lead.last_contacted_at.desc(), "silent": Lead.last_contacted_at.asc()}
_PHONE_RE = re.compile(r"^[0-9０-９+＋()（）\-\s转#*xX]{3,40}$")
STAFF = (Role.ADMIN, Role.CITY_STAFF, Role.COUNTY_STAFF)


# --- permissions (DESIGN.md §4) ----------------------------------------------------------------------------

@rule("lead.view")
def _view(_actor: User, _lead) -> bool:
    return True  # shared city-wide for reading; can() already refuses inactive users


@rule("lead.create")
def _create(actor: User, _obj) -> bool:
    return actor.role in STAFF


@rule("lead.edit")
def _edit(actor: User, lead) -> bool:
    if actor.role not in STAFF:
        return False
    if lead is None or is_city_level(actor):
        return True
    return same_county(actor, lead.owner_county_id)


@rule("lead.delete")
def _delete(actor: User, lead) -> bool:
    return _edit(actor, lead)


@rule("lead.restore")
def _restore(actor: User, lead) -> bool:
    """Whoever may edit the lead may undo its delete: its county, the city (the time limit is the service's)."""
    return _edit(actor, lead)


@rule("lead.view_deleted")
def _view_deleted(actor: User, _obj) -> bool:
    """The recently-deleted list: staff, each seeing what they may restore."""
    return actor.role in STAFF


@rule("lead.merge")
def _merge(actor: User, _obj) -> bool:
    return is_city_level(actor)


@rule("lead.reveal_contacts")
def _reveal(_actor: User, _lead) -> bool:
    return True  # any active reader may reveal, and every reveal is audited


@rule("conflict.decide")
def _decide(actor: User, _conflict) -> bool:
    return is_city_level(actor)


def contacts_masked(actor: User, lead: Lead) -> bool:
    """Another county's lead shows its contacts masked until revealed; city-level users see them."""
    return not is_city_level(actor) and not same_county(actor, lead.owner_county_id)


# --- reading -------------------------------------------------------------------------------------------------

def get_lead(actor: User, lead_id: int, *, include_deleted: bool = False) -> Lead:
    lead = db.session.get(Lead, lead_id)
    if lead is None or not can(actor, "lead.view", lead):
        raise NotFound("lead")
    if lead.deleted_at is not None and not (include_deleted and can(actor, "lead.restore", lead)):
        raise NotFound("lead")
    return lead


def pickable_lead(actor: User, lead_id) -> Lead | None:
    """A lead a form may show as already chosen (a re-displayed lead_id/referrer_id): live and readable, else
    None, so a deleted lead's name never shows through a posted id."""
    if not isinstance(lead_id, int) or lead_id <= 0:
        return None
    try:
        return get_lead(actor, lead_id)
    except NotFound:
        return None


def pickable_leads(actor: User, lead_ids) -> list[Lead]:
    """The live, readable leads among `lead_ids` (a multi-picker's chosen ones), by name; a page of ids at most."""
    ids = [i for i in dict.fromkeys(lead_ids or []) if isinstance(i, int) and 0 < i < 2**31][:1000]
    if not ids:
        return []
    found = db.session.scalars(select(Lead).where(Lead.id.in_(ids), Lead.deleted_at.is_(None)).order_by(Lead.name))
    return [lead for lead in found if can(actor, "lead.view", lead)]


def snapshot(lead: Lead) -> dict:
    return {k: getattr(lead, k) for k in AUDITED}


def contact_values(contact: Contact, *, masked: bool) -> dict:
    values = {"id": contact.id, "name": contact.name, "title": contact.title, "is_primary": contact.is_primary,
              "mobile": contact.mobile, "phone": contact.phone, "email": contact.email, "wechat": contact.wechat}
    if masked:
        values.update(mobile=identity.mask_mobile(contact.mobile) or None,
                      phone=identity.mask_phone(contact.phone) or None,
                      email=identity.mask_email(contact.email) or None,
                      wechat=identity.mask_wechat(contact.wechat) or None)
    return values


def lead_values(actor: User, lead: Lead) -> dict:
    """The lead as the API shows it to this actor (contacts masked where DESIGN.md §4 says)."""
    masked = contacts_masked(actor, lead)
    values = {k: getattr(lead, k) for k in ("id", "kind", "name", "uscc", "industry_id", "origin_region",
                                            "home_county_id", "owner_county_id", "owner_id", "source_channel",
                                            "referrer_id", "status", "is_key", "notes", "last_contacted_at",
                                            "created_at", "updated_at", "tags", "version")}
    values["contacts"] = [contact_values(c, masked=masked) for c in lead.contacts]
    values["contacts_masked"] = masked
    return values


def reveal_contacts(actor: User, lead_id: int, *, now: datetime) -> list[dict]:
    """The unmasked contacts of a lead; each reveal is written to the audit log (PIPL)."""
    lead = get_lead(actor, lead_id)
    require(actor, "lead.reveal_contacts", lead)
    audit.record(actor, "reveal", "lead", lead.id, summary=lead.name,
                 after={"contacts": [c.id for c in lead.contacts]})
    db.session.commit()
    return [contact_values(c, masked=False) for c in lead.contacts]


def leads_query(*, kind=None, industry_id=None, county_id=None, status=None, owner_id=None, is_key=None,
                silent_days=None, q=None, sort="updated", deleted=False, now: datetime | None = None):
    """A select() of leads with the list filters; every filter is optional."""
    stmt = select(Lead).where(Lead.deleted_at.is_not(None) if deleted else Lead.deleted_at.is_(None))
    if kind:
        stmt = stmt.where(Lead.kind == kind)
    if industry_id:
        stmt = stmt.where(Lead.industry_id.in_(industries.descendant_ids(int(industry_id))))
    if county_id:
        stmt = stmt.where(Lead.owner_county_id == county_id)
    if status:
        stmt = stmt.where(Lead.status == status)
    if owner_id:
        stmt = stmt.where(Lead.owner_id == owner_id)
    if is_key is not None:
        stmt = stmt.where(Lead.is_key.is_(bool(is_key)))
    if silent_days and now is not None:
        since = now - timedelta(days=int(silent_days))
        stmt = stmt.where(or_(Lead.last_contacted_at.is_(None), Lead.last_contacted_at < since))
    if q and q.strip():
        stmt = stmt.where(_matches(q))
    order = SORTS.get(sort or "updated", SORTS["updated"])
    return stmt.order_by(order, Lead.id.desc())


def _matches(q: str):
    q = q.strip()[:100]
    latin = re.sub(r"[^a-z0-9]", "", q.lower())
    conditions = [Lead.name.contains(q, autoescape=True)]
    key = identity.normalise_company_name(q)
    if key:
        conditions.append(Lead.name_key.startswith(key, autoescape=True))
    if latin:
        conditions += [Lead.pinyin_full.startswith(latin, autoescape=True),
                       Lead.pinyin_initials.startswith(latin, autoescape=True)]
    return or_(*conditions)


def lookup(q: str, *, limit: int = 10) -> list[Lead]:
    """Typeahead for the visit form: name, full pinyin or initials; the best (shortest) names first."""
    if not q or not q.strip():
        return []
    stmt = select(Lead).where(Lead.deleted_at.is_(None), _matches(q))
    return list(db.session.scalars(stmt.order_by(Lead.is_key.desc(), Lead.name).limit(limit)))


# --- validation ----------------------------------------------------------------------------------------------

def _int(value, field: str, errors: Errors) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.add(field, _l("Not a valid choice."))
        return None


def _clean_tags(raw, errors: Errors) -> list[str]:
    if isinstance(raw, str):
        raw = re.split(r"[,，;；、\s]+", raw)
    tags: list[str] = []
    for word in raw or []:
        word = clean_text(word, field="tags", errors=errors, max_length=40)
        if word and word not in tags:
            tags.append(word)
    if len(tags) > MAX_TAGS:
        errors.add("tags", _l("At most %(n)d tags.", n=MAX_TAGS))
    return tags


def _clean_phone(value, field: str, errors: Errors, max_length: int) -> str | None:
    value = clean_text(value, field=field, errors=errors, max_length=max_length)
    if value and not _PHONE_RE.match(value):
        errors.add(field, _l("Not a valid phone number."))
        return None
    return value


def clean_contacts(raw, errors: Errors) -> list[dict]:
    """A list of contact dicts (name required); errors keyed contacts.<i>.<field>."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.add("contacts", _l("Not a valid list."))
        return []
    if len(raw) > MAX_CONTACTS:
        errors.add("contacts", _l("At most %(n)d contacts.", n=MAX_CONTACTS))
        return []
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.add(f"contacts.{i}", _l("Not a valid contact."))
            continue
        p = f"contacts.{i}."
        contact = {
            "id": _int(item.get("id"), p + "id", errors),
            "name": clean_text(item.get("name"), field=p + "name", errors=errors, max_length=60, required=True),
            "title": clean_text(item.get("title"), field=p + "title", errors=errors, max_length=60),
            "mobile": _clean_phone(item.get("mobile"), p + "mobile", errors, 32),
            "phone": _clean_phone(item.get("phone"), p + "phone", errors, 40),
            "email": clean_email(item.get("email"), field=p + "email", errors=errors),
            "wechat": clean_text(item.get("wechat"), field=p + "wechat", errors=errors, max_length=64),
            "is_primary": bool(item.get("is_primary")),
        }
        out.append(contact)
    if out and not any(c["is_primary"] for c in out):
        out[0]["is_primary"] = True
    return out


def _exists(model, value: int | None, field: str, errors: Errors, message) -> None:
    if value is not None and db.session.get(model, value) is None:
        errors.add(field, message)


def clean_lead(actor: User, data: dict, *, current: Lead | None) -> dict:
    """Validated lead fields (only those given when editing); raises InvalidInput."""
    errors, out = Errors(), {}
    partial = current is not None

    def given(key: str) -> bool:
        return not partial or key in data

    if given("kind"):
        out["kind"] = clean_choice(data.get("kind") or LeadKind.ENTERPRISE.value, KINDS, field="kind", errors=errors)
    if given("name"):
        out["name"] = clean_text(data.get("name"), field="name", errors=errors, max_length=200, required=True)
    if given("uscc"):
        uscc = identity.normalise_uscc(clean_text(data.get("uscc"), field="uscc", errors=errors, max_length=40))
        if uscc and not identity.uscc_is_valid(uscc):
            errors.add("uscc", _l("Not a valid unified social credit code (check the 18 characters)."))
        out["uscc"] = uscc or None
    for key in ("industry_id", "home_county_id", "owner_id", "referrer_id"):
        if given(key):
            out[key] = _int(data.get(key), key, errors)
    _exists(Industry, out.get("industry_id"), "industry_id", errors, _l("Unknown industry."))
    _exists(County, out.get("home_county_id"), "home_county_id", errors, _l("Unknown county."))
    if given("origin_region"):
        out["origin_region"] = clean_text(data.get("origin_region"), field="origin_region", errors=errors,
                                          max_length=100)
    if given("source_channel"):
        out["source_channel"] = clean_choice(data.get("source_channel"), CHANNELS, field="source_channel",
                                             errors=errors, required=False)
    if given("status"):
        out["status"] = clean_choice(data.get("status") or LeadStatus.NEW.value, STATUSES, field="status",
                                     errors=errors)
    if given("is_key"):
        out["is_key"] = bool(data.get("is_key"))
    if given("notes"):
        out["notes"] = clean_text(data.get("notes"), field="notes", errors=errors, max_length=5000, multiline=True)
    if given("tags"):
        out["tags"] = _clean_tags(data.get("tags"), errors)
    if "contacts" in data or not partial:
        out["contacts"] = clean_contacts(data.get("contacts"), errors)
    _clean_ownership(actor, data, out, errors, current)
    if out.get("referrer_id") is not None:
        referrer = db.session.get(Lead, out["referrer_id"])
        if referrer is None or referrer.deleted_at is not None or (current and referrer.id == current.id):
            errors.add("referrer_id", _l("Unknown lead."))
    if errors:
        raise InvalidInput(errors)
    return out


def _clean_ownership(actor: User, data: dict, out: dict, errors: Errors, current: Lead | None) -> None:
    """A county creates leads owned by itself; the city may give any county (default: the city itself)."""
    if is_city_level(actor):
        if current is None or "owner_county_id" in data:
            county_id = _int(data.get("owner_county_id"), "owner_county_id", errors)
            if county_id is None:
                city = db.session.scalar(select(County).where(County.kind == "city").order_by(County.id))
                county_id = actor.county_id or (city.id if city else None)
            _exists(County, county_id, "owner_county_id", errors, _l("Unknown county."))
            out["owner_county_id"] = county_id
    elif current is None:
        out["owner_county_id"] = actor.county_id
    elif "owner_county_id" in data and _int(data.get("owner_county_id"), "owner_county_id", errors) not in (
            None, current.owner_county_id):
        errors.add("owner_county_id", _l("Only city staff hand leads to another county."))
    if current is None and "owner_id" not in data:
        out["owner_id"] = actor.id
    elif current is not None and "owner_id" not in data and out.get("owner_county_id") not in (
            None, current.owner_county_id) and current.owner is not None and current.owner.role == Role.COUNTY_STAFF:
        out["owner_id"] = None  # handed to another county: its staff pick the owner
    owner_id = out.get("owner_id")
    if owner_id is not None:
        owner = db.session.get(User, owner_id)
        county_id = out.get("owner_county_id", current.owner_county_id if current else None)
        if owner is None or not owner.is_active_user or owner.role == Role.VIEWER:
            errors.add("owner_id", _l("Choose an active staff member."))
        elif owner.role == Role.COUNTY_STAFF and owner.county_id != county_id:
            errors.add("owner_id", _l("The owner must work in the lead's county."))


# --- changing ---------------------------------------------------------------------------------------------

def _derive_keys(lead: Lead) -> None:
    lead.name_key = identity.normalise_company_name(lead.name)[:200]
    full, initials = identity.pinyin_keys(lead.name, person=lead.kind in PERSON_KINDS)
    lead.pinyin_full, lead.pinyin_initials = full[:400], initials[:200]


def refresh_pinyin_keys(batch: int = 1000) -> int:
    """Recompute every lead's stored pinyin keys as _derive_keys would now (after a change to crm.surnames or
    PERSON_KINDS) and return how many changed. Derived data, not an edit: updated_at, the edit version and the
    audit log stay as they are; one commit per batch."""
    table = Lead.__table__
    stmt = (update(table).where(table.c.id == bindparam("b_id"))
            .values(pinyin_full=bindparam("b_full"), pinyin_initials=bindparam("b_initials"),
                    updated_at=table.c.updated_at))  # keep updated_at: its onupdate would mark an edit
    changed, after = 0, 0
    while True:
        rows = db.session.execute(select(Lead.id, Lead.name, Lead.kind, Lead.pinyin_full, Lead.pinyin_initials)
                                  .where(Lead.id > after).order_by(Lead.id).limit(batch)).all()
        if not rows:
            return changed
        todo = []
        for lead_id, name, kind, old_full, old_initials in rows:
            full, initials = identity.pinyin_keys(name, person=kind in PERSON_KINDS)
            if (full[:400], initials[:200]) != (old_full, old_initials):
                todo.append({"b_id": lead_id, "b_full": full[:400], "b_initials": initials[:200]})
        if todo:
            db.session.execute(stmt, todo)
        db.session.commit()
        changed += len(todo)
        after = rows[-1][0]


def _apply_contacts(lead: Lead, contacts: list[dict]) -> None:
    """Replace the lead's contacts with the list: matching ids are edited, new rows added, the rest removed."""
    existing = {c.id: c for c in lead.contacts}
    kept = []
    for values in contacts:
        contact = existing.pop(values["id"], None) if values.get("id") else None
        if contact is None:
            contact = Contact()
            lead.contacts.append(contact)
        for key in CONTACT_FIELDS:
            setattr(contact, key, values[key])
        contact.mobile_key = identity.normalise_mobile(contact.mobile)
        kept.append(contact)
    for contact in existing.values():
        lead.contacts.remove(contact)


def _apply_tags(lead: Lead, tags: list[str]) -> None:
    current = {t.tag: t for t in lead.tag_rows}
    for tag, row in current.items():
        if tag not in tags:
            lead.tag_rows.remove(row)
    for tag in tags:
        if tag not in current:
            lead.tag_rows.append(LeadTag(tag=tag))


def apply_fields(lead: Lead, fields: dict) -> None:
    for key, value in fields.items():
        if key == "contacts":
            _apply_contacts(lead, value)
        elif key == "tags":
            _apply_tags(lead, value)
        else:
            setattr(lead, key, value)
    _derive_keys(lead)


def add_lead(actor: User, data: dict, *, now: datetime, force: bool = False) -> Lead:
    """Validate, check duplicates, add and flush a lead (no commit): log_interaction uses it for a new lead."""
    from crm.services import duplicates

    require(actor, "lead.create")
    fields = clean_lead(actor, data, current=None)
    found = duplicates.check(fields, force=force, actor=actor, now=now)
    lead = Lead(created_by_id=actor.id, created_at=now, updated_at=now)
    apply_fields(lead, fields)
    db.session.add(lead)
    db.session.flush()
    duplicates.open_conflicts(actor, lead, found, now=now)
    audit.record(actor, "create", "lead", lead.id, summary=lead.name, after=snapshot(lead))
    return lead


def create_lead(actor: User, data: dict, *, now: datetime, force: bool = False) -> Lead:
    lead = add_lead(actor, data, now=now, force=force)
    db.session.commit()
    leads_changed([lead.id])
    return lead


def update_lead(actor: User, lead_id: int, data: dict, *, now: datetime, force: bool = False,
                expected_version: int | None = None) -> Lead:
    """Edit a lead; with `expected_version` (the version the editor saw) a lead changed since is refused
    with EditConflict rather than overwritten."""
    from crm.services import duplicates

    lead = get_lead(actor, lead_id)
    require(actor, "lead.edit", lead)
    fields = clean_lead(actor, data, current=lead)
    probe = {"name": fields.get("name", lead.name), "uscc": fields.get("uscc", lead.uscc),
             "contacts": fields.get("contacts", [{"mobile": c.mobile} for c in lead.contacts])}
    found = duplicates.check(probe, force=force, exclude_id=lead.id, actor=actor, now=now)
    versions.bump(lead, "lead", expected_version)
    before = snapshot(lead)
    apply_fields(lead, fields)
    lead.updated_at = now
    duplicates.open_conflicts(actor, lead, found, now=now)
    old, new = audit.changes(before, snapshot(lead))
    if "contacts" in fields:
        new["contacts"] = len(lead.contacts)
    if new:
        audit.record(actor, "update", "lead", lead.id, summary=lead.name, before=old, after=new)
    db.session.commit()
    leads_changed([lead.id])
    return lead


def delete_lead(actor: User, lead_id: int, *, now: datetime) -> Lead:
    """Soft-delete: its open follow-ups are cancelled with a note, its outreach items and conflicts drop out of
    the lists, its projects stay; the county may restore it for LEAD_RESTORE_DAYS (crm.services.lead_lifecycle)."""
    from crm.services import lead_lifecycle

    lead = get_lead(actor, lead_id)
    require(actor, "lead.delete", lead)
    versions.bump(lead, "lead")
    lead.deleted_at, lead.deleted_by_id = now, actor.id
    dependants = lead_lifecycle.close_dependants(actor, lead, now=now)
    audit.record(actor, "delete", "lead", lead.id, summary=lead.name,
                 after={**dependants, "restorable_until": lead_lifecycle.restorable_until(lead)})
    db.session.commit()
    leads_changed([lead.id])
    return lead


def restore_lead(actor: User, lead_id: int, *, now: datetime) -> Lead:
    """Undo a delete within the window (administrators: any time); reopens what the delete cancelled."""
    from crm.services import lead_lifecycle

    lead = db.session.get(Lead, lead_id)
    if lead is None or lead.deleted_at is None:
        raise NotFound("lead")
    require(actor, "lead.restore", lead)
    if lead.merged_into_id is not None:
        raise Conflict(str(_l("A merged lead cannot be restored; its history is on the lead it was merged into.")))
    lead_lifecycle.check_restorable(actor, lead, now=now)
    deleted_at = lead.deleted_at
    versions.bump(lead, "lead")
    lead.deleted_at, lead.deleted_by_id, lead.updated_at = None, None, now
    reopened = lead_lifecycle.reopen_dependants(actor, lead, now=now)
    audit.record(actor, "restore", "lead", lead.id, summary=lead.name,
                 after={"deleted_at": deleted_at, "followups_reopened": reopened})
    db.session.commit()
    leads_changed([lead.id])
    return lead


def leads_changed(ids) -> None:
    """Tell the search index, after the commit, which leads changed (see crm.services.indexing)."""
    if indexing is not None:
        indexing.leads_changed([i for i in ids if i])


# --- choices for forms ---------------------------------------------------------------------------------------

def owner_choices(actor: User, county_id: int | None = None) -> list[User]:
    stmt = select(User).where(User.is_active_user.is_(True), User.role != Role.VIEWER)
    if not is_city_level(actor):
        stmt = stmt.where(User.county_id == actor.county_id)
    elif county_id:
        stmt = stmt.where(or_(User.county_id == county_id, User.role != Role.COUNTY_STAFF))
    return list(db.session.scalars(stmt.order_by(User.county_id.is_(None).desc(), User.county_id,
                                                 User.display_name)))
