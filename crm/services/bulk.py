"""Bulk actions on a selection of leads (search results, a saved search, ticked rows): assign an owner, add a tag,
add to an outreach list or an event's invited list, export. Each lead is judged by the same rules as one at a
time; the refused ones are reported with the reason, never silently skipped; one transaction, audited per lead."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from crm.extensions import db
from crm.models import Campaign, Event, ItemStatus, Lead, OutreachItem, User, event_leads
from crm.services import audit, events, exports, leads, outreach, versions
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import can, require
from crm.services.validation import Errors, clean_text

MAX_LEADS = 2_000
ACTIONS = ("owner", "tag", "outreach", "event", "export")


def clean_ids(raw) -> list[int]:
    """Lead ids as ticked on a page: numbers only, no repeats, in the order given; at most MAX_LEADS."""
    if raw in (None, ""):
        raw = []
    if isinstance(raw, (str, int)):
        raw = str(raw).replace(",", " ").split()
    ids: list[int] = []
    for value in raw:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise InvalidInput({"lead_ids": [_l("Not a valid selection.")]}) from None
        if not 0 < number < 2**31:
            raise InvalidInput({"lead_ids": [_l("Not a valid selection.")]})
        if number not in ids:
            ids.append(number)
    if not ids:
        raise InvalidInput({"lead_ids": [_l("Select at least one lead.")]})
    if len(ids) > MAX_LEADS:
        raise InvalidInput({"lead_ids": [_l("At most %(n)d leads at once.", n=MAX_LEADS)]})
    return ids


def _live_leads(ids: list[int]) -> tuple[list[Lead], list[dict]]:
    """The selected leads that still exist, in the given order, and a refusal for each one that is gone."""
    found: dict[int, Lead] = {}
    for start in range(0, len(ids), 500):
        found.update((lead.id, lead) for lead in db.session.scalars(select(Lead).where(
            Lead.id.in_(ids[start:start + 500]), Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None))))
    gone = [_refusal(i, "", _l("The lead no longer exists (deleted or merged).")) for i in ids if i not in found]
    return [found[i] for i in ids if i in found], gone


def _refusal(lead_id: int, name: str, reason) -> dict:
    return {"id": lead_id, "name": name, "reason": str(reason)}


def _result(action: str, done: list[Lead], unchanged: list[Lead], refused: list[dict], **extra) -> dict:
    return {"action": action, "done": [{"id": x.id, "name": x.name} for x in done],
            "unchanged": [{"id": x.id, "name": x.name} for x in unchanged], "refused": refused, **extra}


def _first_message(error: InvalidInput) -> str:
    for messages in error.errors.values():
        for message in messages:
            return str(message)
    return str(error)


def _edit_each(actor: User, ids: list[int], action: str, change, now: datetime, summary: str) -> dict:
    """Apply `change(lead) -> data` through the leads service's own validation, lead by lead; one commit."""
    selected, refused = _live_leads(ids)
    done, unchanged = [], []
    for lead in selected:
        if not can(actor, "lead.edit", lead):
            refused.append(_refusal(lead.id, lead.name, _l("Owned by %(county)s: only that county or the city "
                                                           "bureau may change it.",
                                                           county=lead.owner_county.name if lead.owner_county
                                                           else "—")))
            continue
        data = change(lead)
        if data is None:
            unchanged.append(lead)
            continue
        try:
            fields = leads.clean_lead(actor, data, current=lead)
        except InvalidInput as error:
            refused.append(_refusal(lead.id, lead.name, _first_message(error)))
            continue
        before = leads.snapshot(lead)
        leads.apply_fields(lead, fields)
        old, new = audit.changes(before, leads.snapshot(lead))
        if not new:
            unchanged.append(lead)
            continue
        versions.bump(lead, "lead")
        lead.updated_at = now
        audit.record(actor, "update", "lead", lead.id, summary=lead.name, before=old, after=new)
        done.append(lead)
    audit.record(actor, f"bulk.{action}", "lead", None, summary=summary,
                 after={"done": [x.id for x in done], "unchanged": [x.id for x in unchanged],
                        "refused": [r["id"] for r in refused]})
    db.session.commit()
    leads.leads_changed([x.id for x in done])
    return _result(action, done, unchanged, refused)


def assign_owner(actor: User, lead_ids, owner_id, *, now: datetime) -> dict:
    """Give every selected lead this owner; a lead of another county, or an owner outside the lead's county,
    is refused for that lead."""
    require(actor, "lead.edit")
    ids = clean_ids(lead_ids)
    try:
        owner = db.session.get(User, int(owner_id))
    except (TypeError, ValueError, OverflowError):
        owner = None
    if owner is None:
        raise InvalidInput({"owner_id": [_l("Choose an active staff member.")]})
    return _edit_each(actor, ids, "owner", lambda lead: None if lead.owner_id == owner.id else {"owner_id": owner.id},
                      now, f"→ {owner.display_name}")


def add_tag(actor: User, lead_ids, tag, *, now: datetime) -> dict:
    require(actor, "lead.edit")
    ids = clean_ids(lead_ids)
    errors = Errors()
    tag = clean_text(tag, field="tag", errors=errors, max_length=40, required=True)
    if errors:
        raise InvalidInput(errors)
    return _edit_each(actor, ids, "tag", lambda lead: None if tag in lead.tags else {"tags": [*lead.tags, tag]},
                      now, tag)


def add_to_campaign(actor: User, lead_ids, campaign_id, *, now: datetime) -> dict:
    """Put the selected leads on an outreach list (pending, assigned as the list assigns); they stay on it when
    the list is refreshed. Leads already listed are left as they are."""
    require(actor, "outreach.manage")
    ids = clean_ids(lead_ids)
    campaign = outreach.get_campaign(actor, _int(campaign_id, "campaign_id"))
    if not outreach.refreshable(campaign, now):
        raise InvalidInput({"campaign_id": [_l("The holiday has passed: this list is kept as it was worked.")]})
    selected, refused = _live_leads(ids)
    listed = set(db.session.scalars(select(OutreachItem.lead_id).where(OutreachItem.campaign_id == campaign.id)))
    owners = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({x.owner_id for x in selected if x.owner_id})))}
    done, unchanged = [], []
    for lead in selected:
        if lead.id in listed:
            unchanged.append(lead)
            continue
        db.session.add(OutreachItem(campaign_id=campaign.id, lead_id=lead.id, assignee_id=outreach.assignee_for(lead, owners),
                                    county_id=lead.owner_county_id, status=ItemStatus.PENDING.value))
        done.append(lead)
    filters = dict(campaign.filters or {})
    filters["lead_ids"] = sorted(set(filters.get("lead_ids") or []) | {x.id for x in done})
    campaign.filters = filters
    audit.record(actor, "bulk.outreach", "campaign", campaign.id, summary=outreach.campaign_title(campaign),
                 after={"added_leads": [x.id for x in done], "unchanged": [x.id for x in unchanged],
                        "refused": [r["id"] for r in refused]})
    db.session.commit()
    return _result("outreach", done, unchanged, refused, target=outreach.campaign_title(campaign),
                   target_id=campaign.id)


def add_to_event(actor: User, lead_ids, event_id, *, now: datetime) -> dict:
    """Add the selected leads to an event's invited list (the event's organiser or the city may)."""
    ids = clean_ids(lead_ids)
    event = events.get_event(actor, _int(event_id, "event_id"))
    require(actor, "event.edit", event)
    selected, refused = _live_leads(ids)
    invited = set(db.session.scalars(select(event_leads.c.lead_id).where(event_leads.c.event_id == event.id)))
    done = [x for x in selected if x.id not in invited]
    unchanged = [x for x in selected if x.id in invited]
    if done:
        versions.bump(event, "event")
        db.session.execute(insert(event_leads), [{"event_id": event.id, "lead_id": x.id, "attended": False}
                                                 for x in done])
        db.session.expire(event, ["leads"])
    audit.record(actor, "bulk.event", "event", event.id, summary=event.name,
                 after={"added_leads": [x.id for x in done], "unchanged": [x.id for x in unchanged],
                        "refused": [r["id"] for r in refused]})
    db.session.commit()
    return _result("event", done, unchanged, refused, target=event.name, target_id=event.id)


def export_selection(actor: User, lead_ids, fmt: str, *, now: datetime) -> tuple[str, bytes, str]:
    """The selected leads as the lead list's export (contact details masked as this reader sees them); audited."""
    require(actor, "export.run")
    ids = clean_ids(lead_ids)
    exports.check_format(fmt)
    selected, _gone = _live_leads(ids)
    stmt = select(Lead).where(Lead.id.in_([x.id for x in selected])).order_by(Lead.id)
    content = exports.leads_file(actor, stmt, fmt)
    audit.record_read(actor, "export", "lead", None, summary=f"selection.{fmt} ({len(selected)})",
                      after={"lead_ids": [x.id for x in selected], "rows": len(selected), "format": fmt})
    return f"leads-selection-{now:%Y%m%d-%H%M}.{fmt}", content, exports.FORMATS[fmt]


def campaign_choices(actor: User, now: datetime) -> list[Campaign]:
    if not can(actor, "outreach.manage"):
        return []
    return [c for c in db.session.scalars(outreach.campaigns_query().limit(50)) if outreach.refreshable(c, now)]


def event_choices(actor: User) -> list[Event]:
    return [e for e in db.session.scalars(select(Event).order_by(Event.held_on.desc()).limit(200))
            if can(actor, "event.edit", e)]


def _int(value, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 0 < number < 2**31:
        raise InvalidInput({field: [_l("Not a valid choice.")]})
    return number


__all__ = ["ACTIONS", "NotFound", "add_tag", "add_to_campaign", "add_to_event", "assign_owner", "clean_ids",
           "export_selection"]
