"""Holiday outreach (节日走访慰问): holiday settings, campaigns with their target leads split by owner, reminders,
marking items (each writes an interaction on the lead), progress and exports. The calendar is crm.holidays."""
from __future__ import annotations

import string
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from crm import holidays
from crm.extensions import db
from crm.models import (
    Campaign,
    County,
    HolidaySetting,
    Industry,
    Interaction,
    InteractionKind,
    ItemStatus,
    Lead,
    LeadKind,
    LeadStatus,
    LeadTag,
    OutreachItem,
    Role,
    SavedSearch,
    User,
)
from crm.services import audit, followups, industries, notifications
from crm.services.errors import Conflict, InvalidInput, NotFound
from crm.services.lead_lifecycle import live_lead
from crm.services.permissions import can, is_admin, is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_choice, clean_text

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_ENABLED = ("spring_festival", "qingming", "mid_autumn")
DEFAULT_DAYS_BEFORE = 10
DEFAULT_KINDS = [LeadKind.HOMETOWN_ENTREPRENEUR.value, LeadKind.ADVISER.value, LeadKind.CHAMBER.value]
KINDS = [k.value for k in LeadKind]
STATUSES = [s.value for s in LeadStatus]
DONE_STATUSES = [s.value for s in ItemStatus if s != ItemStatus.PENDING]
PLACEHOLDERS = ("name", "holiday", "year")
PERSON_KINDS = {LeadKind.HOMETOWN_ENTREPRENEUR.value, LeadKind.ADVISER.value}
# How long after the holiday a still-pending item keeps appearing in the morning digest, and a recorded result
# may still be changed (a mistaken 婉拒 is corrected while the campaign is being worked, not months later).
OVERDUE_WINDOW_DAYS = 15
HOLIDAY_LABELS = {
    "new_year": _l("New Year's Day"), "new_years_eve": _l("Chinese New Year's Eve"),
    "spring_festival": _l("Spring Festival"), "lantern": _l("Lantern Festival"),
    "qingming": _l("Qingming Festival"), "dragon_boat": _l("Dragon Boat Festival"),
    "mid_autumn": _l("Mid-Autumn Festival"), "double_ninth": _l("Double Ninth Festival"),
    "national_day": _l("National Day"),
}
DEFAULT_TEMPLATE = _l("Dear {name}, as {holiday} {year} approaches, the Ankang investment promotion bureau sends "
                      "you and your family our warmest wishes. Thank you for caring about your hometown's "
                      "development; you are always welcome home!")


# --- permissions (DESIGN.md §4) ----------------------------------------------------------------------

@rule("outreach.configure")
def _configure(actor: User, _obj) -> bool:
    return is_admin(actor)


@rule("outreach.manage")
def _manage(actor: User, _obj) -> bool:
    return is_city_level(actor)


@rule("outreach.view")
def _view(actor: User, item) -> bool:
    """Campaigns are visible to all; an item to city level, leaders, its assignee and its county's staff."""
    if item is None or is_city_level(actor) or actor.role == Role.VIEWER:
        return True
    return item.assignee_id == actor.id or same_county(actor, item.county_id)


@rule("outreach.work")
def _work(actor: User, item) -> bool:
    if actor.role == Role.VIEWER:
        return False
    if item is None or is_city_level(actor):
        return True
    return item.assignee_id == actor.id or (actor.role == Role.COUNTY_STAFF and same_county(actor, item.county_id))


@rule("outreach.progress")
def _progress(actor: User, county_id) -> bool:
    """Leaders and city staff see every county; county staff their own county's progress."""
    if is_city_level(actor) or (actor.role == Role.VIEWER and actor.county_id is None):
        return True
    return county_id is not None and same_county(actor, county_id)


# --- holidays and settings ---------------------------------------------------------------------------

def holiday_label(key: str) -> str:
    return str(HOLIDAY_LABELS.get(key, key))


def holidays_of(year: int) -> list[holidays.Holiday]:
    """The year's holidays; InvalidInput outside 1950–2100 (the API answers 422, never 500)."""
    try:
        return holidays.holidays_for_year(int(year))
    except (TypeError, ValueError):
        raise InvalidInput({"year": [_l("Holiday dates exist for %(lo)d–%(hi)d.", lo=holidays.MIN_YEAR,
                                         hi=holidays.MAX_YEAR)]}) from None


def setting_for(key: str) -> HolidaySetting:
    """The stored setting, or the default (not added to the session) when an admin never changed it."""
    row = db.session.get(HolidaySetting, key)
    if row is None:
        row = HolidaySetting(key=key, is_enabled=key in DEFAULT_ENABLED, days_before=DEFAULT_DAYS_BEFORE,
                             template=None)
    return row


def holiday_settings() -> list[HolidaySetting]:
    return [setting_for(key) for key in holidays.HOLIDAY_KEYS]


def _template_errors(template: str) -> list:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return [_l("Unbalanced braces: write {name}, {holiday} and {year} only.")]
    for _text, name, spec, conversion in fields:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            return [_l("Unknown placeholder {%(name)s}: use {name}, {holiday} and {year}.", name=name)]
    return []


def render_greeting(template: str | None, *, name: str, holiday: str, year: int) -> str:
    """Fill {name}/{holiday}/{year} with plain strings (format_map, never eval); a bad template falls back."""
    text = template or str(DEFAULT_TEMPLATE)
    if _template_errors(text):
        text = str(DEFAULT_TEMPLATE)
    return text.format_map({"name": str(name), "holiday": str(holiday), "year": str(year)})


def update_holiday_setting(actor: User, key: str, data: dict, *, now: datetime) -> HolidaySetting:
    require(actor, "outreach.configure")
    errors = Errors()
    clean_choice(key, holidays.HOLIDAY_KEYS, field="key", errors=errors)
    try:
        days = int(data.get("days_before", DEFAULT_DAYS_BEFORE))
    except (TypeError, ValueError):
        days = -1
    if not 1 <= days <= 60:
        errors.add("days_before", _l("Between %(lo)d and %(hi)d days.", lo=1, hi=60))
    template = clean_text(data.get("template"), field="template", errors=errors, max_length=1000, multiline=True)
    if template:
        for message in _template_errors(template):
            errors.add("template", message)
    if errors:
        raise InvalidInput(errors)
    row = db.session.get(HolidaySetting, key)
    before = None if row is None else _setting_values(row)
    if row is None:
        row = HolidaySetting(key=key)
        db.session.add(row)
    row.is_enabled, row.days_before, row.template = bool(data.get("is_enabled")), days, template
    audit.record(actor, "outreach.setting", "holiday_setting", None, summary=key, before=before,
                 after=_setting_values(row))
    db.session.commit()
    return row


def _setting_values(row: HolidaySetting) -> dict:
    return {"key": row.key, "is_enabled": row.is_enabled, "days_before": row.days_before, "template": row.template}


# --- campaigns -----------------------------------------------------------------------------------------

def _int_or_none(value, field: str, errors: Errors) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.add(field, _l("Not a valid choice."))
        return None


def _as_list(value) -> list:
    if value in (None, ""):
        return []
    return [value] if isinstance(value, str) else list(value)


def clean_filters(filters: dict | None, errors: Errors, actor: User | None = None) -> dict:
    """The target filters: kinds (default 乡贤/顾问/商会), include_key, county_id, industry_id, tag, statuses; or
    a saved search (saved_search_id, visible to the actor) whose results are the targets instead of the kinds;
    plus lead_ids added one by one (bulk actions) that stay on the list whatever the selection."""
    filters = dict(filters or {})
    saved_id = _int_or_none(filters.get("saved_search_id"), "saved_search_id", errors)
    if saved_id is not None:
        from crm.services import saved_searches

        try:
            saved_searches.get_search(actor, saved_id) if actor is not None else None
        except NotFound:
            errors.add("saved_search_id", _l("Unknown saved search."))
        filters.setdefault("kinds", [])
        filters.setdefault("include_key", False)
    kinds = _as_list(filters.get("kinds")) if "kinds" in filters else list(DEFAULT_KINDS)
    if any(k not in KINDS for k in kinds):
        errors.add("kinds", _l("Not a valid choice."))
    statuses = _as_list(filters.get("statuses") or filters.get("status"))
    if any(s not in STATUSES for s in statuses):
        errors.add("statuses", _l("Not a valid choice."))
    out = {"kinds": list(dict.fromkeys(kinds)), "include_key": bool(filters.get("include_key", True)),
           "county_id": _int_or_none(filters.get("county_id"), "county_id", errors),
           "industry_id": _int_or_none(filters.get("industry_id"), "industry_id", errors),
           "tag": clean_text(filters.get("tag"), field="tag", errors=errors, max_length=40),
           "statuses": list(dict.fromkeys(statuses))}
    if out["county_id"] is not None and db.session.get(County, out["county_id"]) is None:
        errors.add("county_id", _l("Unknown county."))
    if out["industry_id"] is not None and db.session.get(Industry, out["industry_id"]) is None:
        errors.add("industry_id", _l("Unknown industry."))
    if saved_id is not None:
        out["saved_search_id"] = saved_id
    lead_ids = sorted({int(i) for i in _as_list(filters.get("lead_ids")) if str(i).isdigit()})
    if lead_ids:
        out["lead_ids"] = lead_ids
    if not out["kinds"] and not out["include_key"] and saved_id is None and not lead_ids:
        errors.add("kinds", _l("Choose at least one kind of lead, or key investors."))
    return out


def target_leads(filters: dict, reader: User | None) -> list[Lead] | None:
    """The leads a campaign with these clean filters greets: its selection (the kinds and filters, or a saved
    search run as `reader` sees the leads) plus the leads added one by one; never deleted or merged. None when
    the saved search is gone (the list then stays as it is)."""
    ids = set(filters.get("lead_ids") or [])
    leads: list[Lead] = []
    if filters.get("saved_search_id"):
        from crm.services import saved_searches

        saved = db.session.get(SavedSearch, filters["saved_search_id"])
        if saved is None or reader is None or not can(reader, "saved_search.view", saved):
            return None
        ids |= set(saved_searches.result_lead_ids(reader, saved.query)[0])
    else:
        leads = list(db.session.scalars(target_leads_query(filters)))
    more = sorted(ids - {lead.id for lead in leads})
    for start in range(0, len(more), 500):
        leads += db.session.scalars(select(Lead).where(Lead.id.in_(more[start:start + 500]),
                                                       Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None)))
    return sorted(leads, key=lambda lead: (lead.owner_county_id or 0, lead.id))


def target_leads_query(filters: dict):
    """Leads a campaign greets: the chosen kinds plus key investors of any kind, never deleted or merged."""
    kinds = Lead.kind.in_(filters["kinds"]) if filters["kinds"] else None
    if filters["include_key"]:
        kinds = Lead.is_key.is_(True) if kinds is None else or_(kinds, Lead.is_key.is_(True))
    stmt = select(Lead).where(Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None), kinds)
    if filters.get("county_id"):
        stmt = stmt.where(Lead.owner_county_id == filters["county_id"])
    if filters.get("industry_id"):
        stmt = stmt.where(Lead.industry_id.in_(industries.descendant_ids(filters["industry_id"])))
    if filters.get("tag"):
        stmt = stmt.where(exists().where(LeadTag.lead_id == Lead.id, LeadTag.tag == filters["tag"]))
    if filters.get("statuses"):
        stmt = stmt.where(Lead.status.in_(filters["statuses"]))
    return stmt.order_by(Lead.owner_county_id, Lead.id)


def assignee_for(lead: Lead, users: dict[int, User]) -> int | None:
    owner = users.get(lead.owner_id) if lead.owner_id else None
    if owner is None or not owner.is_active_user or owner.role == Role.VIEWER:
        return None  # unowned (or owner gone): the owning county's inbox
    return owner.id


def existing_campaign(holiday_key: str, year: int) -> Campaign | None:
    if holiday_key not in holidays.HOLIDAY_KEYS or not isinstance(year, int):
        return None  # nothing to look up: and PostgreSQL would refuse a NUL in the comparison
    return db.session.scalar(select(Campaign).where(Campaign.holiday_key == holiday_key, Campaign.year == year))


def create_campaign(actor: User | None, holiday_key: str, year, filters: dict | None = None, *,
                    now: datetime) -> Campaign:
    """One campaign per holiday and year (the existing one is returned), with one item per target lead.
    `actor` None is the scheduler."""
    if actor is not None:
        require(actor, "outreach.manage")
    errors = Errors()
    clean_choice(holiday_key, holidays.HOLIDAY_KEYS, field="holiday_key", errors=errors)
    try:
        year = int(year)
    except (TypeError, ValueError):
        year = 0
    if not holidays.MIN_YEAR <= year <= holidays.MAX_YEAR:
        errors.add("year", _l("Holiday dates exist for %(lo)d–%(hi)d.", lo=holidays.MIN_YEAR, hi=holidays.MAX_YEAR))
    clean = clean_filters(filters, errors, actor)
    if errors:
        raise InvalidInput(errors)
    found = existing_campaign(holiday_key, year)
    if found is not None:
        return found
    setting = setting_for(holiday_key)
    campaign = Campaign(holiday_key=holiday_key, year=year, holiday_date=holidays.holiday_date(holiday_key, year),
                        target_kinds=clean["kinds"], filters={k: v for k, v in clean.items() if k != "kinds"},
                        remind_days_before=setting.days_before, template=setting.template,
                        created_by_id=actor.id if actor is not None else None, created_at=now)
    db.session.add(campaign)
    try:
        db.session.flush()
    except IntegrityError:  # another session created it between our look and our insert
        db.session.rollback()
        return existing_campaign(holiday_key, year)
    leads = target_leads(clean, actor) or []
    owner_ids = {lead.owner_id for lead in leads if lead.owner_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(owner_ids)))} if owner_ids else {}
    for lead in leads:
        db.session.add(OutreachItem(campaign_id=campaign.id, lead_id=lead.id, assignee_id=assignee_for(lead, users),
                                    county_id=lead.owner_county_id, status=ItemStatus.PENDING.value))
    audit.record(actor, "outreach.campaign_create", "campaign", campaign.id,
                 summary=f"{holiday_key} {year}", after={"items": len(leads), "kinds": clean["kinds"],
                                                          "filters": campaign.filters})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return existing_campaign(holiday_key, year)
    return campaign


def campaign_filters(campaign: Campaign) -> dict:
    """The clean filters the campaign was created with (kinds are stored in their own column)."""
    return {"include_key": True, **dict(campaign.filters or {}), "kinds": list(campaign.target_kinds or [])}


def refreshable(campaign: Campaign, now: datetime) -> bool:
    """Targets follow the lead base until the holiday itself; after it the list is a record of what was done."""
    return today_in_ankang(now) <= campaign.holiday_date


def refresh_campaign(actor: User | None, campaign_id: int, *, now: datetime) -> dict:
    """Bring a campaign's targets up to date with the same selection its creation used: eligible leads without an
    item get a pending one (assigned as at creation); pending items of leads deleted, merged or no longer
    eligible leave; items with a result always stay. Idempotent; `actor` None is the scheduler. Audited when
    someone asked or something changed; one commit."""
    if actor is not None:
        require(actor, "outreach.manage")
        campaign = get_campaign(actor, campaign_id)
    else:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound("campaign")
    if not refreshable(campaign, now):
        raise Conflict(_("The holiday has passed: this list is kept as it was worked."))
    # A list made from a saved search is refreshed as its maker sees the leads, whoever asks.
    reader = db.session.get(User, campaign.created_by_id) if campaign.created_by_id else actor
    selected = target_leads(campaign_filters(campaign), reader)
    items = list(db.session.scalars(select(OutreachItem).where(OutreachItem.campaign_id == campaign.id)))
    listed = {item.lead_id for item in items}
    if selected is None:  # the saved search it was made from is gone: the list stays as it is
        return {"added": 0, "removed": 0, "kept": len(items)}
    leads = {lead.id: lead for lead in selected}
    gone = [item for item in items if item.status == ItemStatus.PENDING.value and item.lead_id not in leads]
    new = [lead for lead_id, lead in leads.items() if lead_id not in listed]
    owner_ids = {lead.owner_id for lead in new if lead.owner_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(owner_ids)))} if owner_ids else {}
    for lead in new:
        db.session.add(OutreachItem(campaign_id=campaign.id, lead_id=lead.id, assignee_id=assignee_for(lead, users),
                                    county_id=lead.owner_county_id, status=ItemStatus.PENDING.value))
    for item in gone:
        db.session.delete(item)  # pending: no interaction, no result, nothing else points at it
    result = {"added": len(new), "removed": len(gone), "kept": len(items) - len(gone)}
    if actor is not None or new or gone:
        audit.record(actor, "outreach.campaign_refresh", "campaign", campaign.id, summary=campaign_title(campaign),
                     after={**result, "added_leads": sorted(lead.id for lead in new),
                            "removed_leads": sorted(item.lead_id for item in gone)})
    try:
        db.session.commit()
    except IntegrityError:  # a racing refresh added the same lead first: its result stands
        db.session.rollback()
        return {"added": 0, "removed": 0, "kept": len(items)}
    return result


def refresh_due_campaigns(now: datetime) -> dict:
    """The daily job: refresh every campaign whose holiday is still ahead."""
    today = today_in_ankang(now)
    totals = {"campaigns": 0, "added": 0, "removed": 0}
    for campaign_id in db.session.scalars(select(Campaign.id).where(Campaign.holiday_date > today)
                                          .order_by(Campaign.id)).all():
        counts = refresh_campaign(None, campaign_id, now=now)
        totals["campaigns"] += 1
        totals["added"] += counts["added"]
        totals["removed"] += counts["removed"]
    return totals


def campaigns_query():
    return select(Campaign).order_by(Campaign.holiday_date.desc(), Campaign.id.desc())


def get_campaign(actor: User, campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not can(actor, "outreach.view", None):
        raise NotFound("campaign")
    return campaign


def campaign_title(campaign: Campaign) -> str:
    return _("%(holiday)s %(year)d", holiday=holiday_label(campaign.holiday_key), year=campaign.year)


def today_in_ankang(now: datetime) -> date:
    return now.astimezone(TZ).date()


def campaigns_due(now: datetime) -> list[holidays.Holiday]:
    """Enabled holidays inside their reminder window today: date − days_before ≤ today < date."""
    today = today_in_ankang(now)
    due = []
    for setting in holiday_settings():
        if not setting.is_enabled:
            continue
        try:
            holiday = holidays.next_occurrence(setting.key, today)
        except ValueError:  # past 2100
            continue
        if holiday.date - timedelta(days=setting.days_before) <= today < holiday.date:
            due.append(holiday)
    return due


def create_due_campaigns(now: datetime) -> dict:
    """The daily job: create each due campaign (the database decides "never twice"), then remind each owner of
    every campaign in its reminder window once (dedupe keys make re-runs plan nothing)."""
    created = 0
    for holiday in campaigns_due(now):
        if existing_campaign(holiday.key, holiday.date.year) is None:
            create_campaign(None, holiday.key, holiday.date.year, None, now=now)
            created += 1
    today = today_in_ankang(now)
    reminded = 0
    for campaign in db.session.scalars(select(Campaign).where(Campaign.holiday_date > today)):
        if campaign.holiday_date - timedelta(days=campaign.remind_days_before) <= today:
            reminded += plan_reminders(campaign, now=now)
    db.session.commit()
    return {"created": created, "reminded": reminded}


def _inbox_staff(county_id: int) -> list[User]:
    """The owning county's coordinators: its active staff (city staff for leads the city itself owns)."""
    return list(db.session.scalars(select(User).where(
        User.county_id == county_id, User.role.in_([Role.COUNTY_STAFF.value, Role.CITY_STAFF.value]),
        User.is_active_user.is_(True)).order_by(User.id)))


def plan_reminders(campaign: Campaign, *, now: datetime) -> int:
    """One notification per responsible person with their own list (and their county inbox); adds, no commit."""
    lists: dict[int, list[OutreachItem]] = {}
    people: dict[int, User] = {}
    rows = db.session.scalars(select(OutreachItem).where(OutreachItem.campaign_id == campaign.id,
                                                         OutreachItem.status == ItemStatus.PENDING.value,
                                                         live_lead(OutreachItem.lead_id)))
    for item in rows:
        recipients = [item.assignee] if item.assignee_id else _inbox_staff(item.county_id) if item.county_id else []
        for user in recipients:
            people[user.id] = user
            lists.setdefault(user.id, []).append(item)
    planned = 0
    for user_id, items in lists.items():
        user = people[user_id]
        with notifications.in_language(user):
            title = _("Greetings for %(campaign)s: %(n)d to contact by %(day)s", campaign=campaign_title(campaign),
                      n=len(items), day=campaign.holiday_date.isoformat())
            body = "\n".join(f"- {item.lead.name}" for item in items[:30])
            if len(items) > 30:
                body += "\n" + _("… and %(n)d more", n=len(items) - 30)
        planned += bool(notifications.notify(user, "outreach", title, body, f"/outreach/campaigns/{campaign.id}/mine",
                                             f"outreach:{campaign.id}:{user.id}", now=now))
    return planned


# --- items ---------------------------------------------------------------------------------------------

def _mine(actor: User):
    mine = OutreachItem.assignee_id == actor.id
    if actor.county_id is not None and actor.role in (Role.COUNTY_STAFF, Role.CITY_STAFF):
        mine = or_(mine, and_(OutreachItem.assignee_id.is_(None), OutreachItem.county_id == actor.county_id))
    return mine


def items_query(actor: User, campaign_id: int, *, mine: bool = False, county_id=None, assignee_id=None,
                status=None):
    """Items of a campaign visible to the actor (county staff: their county's and their own); a deleted lead's
    items are left out until it is restored."""
    stmt = select(OutreachItem).join(Lead, Lead.id == OutreachItem.lead_id).where(
        OutreachItem.campaign_id == campaign_id, Lead.deleted_at.is_(None))
    if mine:
        stmt = stmt.where(_mine(actor))
    elif not (is_city_level(actor) or actor.role == Role.VIEWER):
        stmt = stmt.where(or_(OutreachItem.assignee_id == actor.id, OutreachItem.county_id == actor.county_id))
    if county_id:
        stmt = stmt.where(OutreachItem.county_id == county_id)
    if assignee_id:
        stmt = stmt.where(OutreachItem.assignee_id == assignee_id)
    if status:
        stmt = stmt.where(OutreachItem.status == status)
    pending_first = (OutreachItem.status != ItemStatus.PENDING.value)
    return stmt.order_by(pending_first, Lead.name_key, Lead.id)


def my_counts(actor: User, campaign_id: int) -> dict:
    """How many items of a campaign are the actor's (incl. their county inbox) and how many are still pending."""
    rows = db.session.scalars(select(OutreachItem.status).where(OutreachItem.campaign_id == campaign_id,
                                                                _mine(actor), live_lead(OutreachItem.lead_id))).all()
    return _tally(rows)


def item_card(actor: User, item_id: int, *, now: datetime) -> dict:
    item = get_item(actor, item_id)
    return cards_for(actor, select(OutreachItem).where(OutreachItem.id == item.id), now=now)[0]


def get_item(actor: User, item_id: int) -> OutreachItem:
    item = db.session.get(OutreachItem, item_id)
    if item is None or item.lead.deleted_at is not None or not can(actor, "outreach.view", item):
        raise NotFound("outreach item")
    return item


def greeting_for(item: OutreachItem) -> str:
    lead, campaign = item.lead, item.campaign
    name = lead.name
    if lead.kind not in PERSON_KINDS and lead.contacts:
        name = lead.contacts[0].name
    return render_greeting(campaign.template, name=name, holiday=holiday_label(campaign.holiday_key),
                           year=campaign.year)


def cards_for(actor: User, stmt, *, now: datetime) -> list[dict]:
    """Items ready for the phone list: the lead, its contacts (masked as DESIGN.md §4 says), the greeting, and
    whether the actor may still change its recorded result."""
    from crm.services.leads import contact_values, contacts_masked

    stmt = stmt.options(selectinload(OutreachItem.lead).selectinload(Lead.contacts),
                        selectinload(OutreachItem.assignee), selectinload(OutreachItem.campaign))
    cards = []
    for item in db.session.scalars(stmt):
        masked = contacts_masked(actor, item.lead)
        changeable = (item.status != ItemStatus.PENDING.value and can(actor, "outreach.work", item)
                      and changes_open(item.campaign, now))
        cards.append({"item": item, "lead": item.lead, "masked": masked, "greeting": greeting_for(item),
                      "contacts": [contact_values(c, masked=masked) for c in item.lead.contacts],
                      "changeable": changeable})
    return cards


def _clean_result(status, note) -> tuple[str, str | None]:
    """A result (one of DONE_STATUSES) and its note, as mark_item and change_item take them."""
    errors = Errors()
    status = clean_choice(status, DONE_STATUSES, field="status", errors=errors)
    note = clean_text(note, field="note", errors=errors, max_length=2000, multiline=True)
    if errors:
        raise InvalidInput(errors)
    return status, note


def mark_item(actor: User, item_id: int, status: str, note: str | None = None, *, now: datetime) -> OutreachItem:
    """Record the outcome and write it on the lead's timeline: a `greeting` interaction (`visit` when visited).
    An unreachable item may be marked again once the person is reached; a mistaken result is change_item's."""
    item = get_item(actor, item_id)
    require(actor, "outreach.work", item)
    status, note = _clean_result(status, note)
    if item.status not in (ItemStatus.PENDING.value, ItemStatus.UNREACHABLE.value):
        raise Conflict(_("This greeting is already marked: use “change result” to correct it."))
    before = {"status": item.status, "note": item.note}
    kind = InteractionKind.VISIT.value if status == ItemStatus.VISITED else InteractionKind.GREETING.value
    summary = _("%(campaign)s: %(status)s", campaign=campaign_title(item.campaign), status=status_label(status))
    interaction = Interaction(lead_id=item.lead_id, kind=kind, occurred_at=now, summary=summary, outcome=note,
                              county_id=actor.county_id or item.county_id, created_by_id=actor.id,
                              participants=[actor], created_at=now, updated_at=now)
    db.session.add(interaction)
    lead = item.lead
    if status != ItemStatus.UNREACHABLE and (lead.last_contacted_at is None or lead.last_contacted_at < now):
        lead.last_contacted_at = now  # an unanswered call is an attempt, not a contact
    db.session.flush()
    item.status, item.note, item.done_at, item.done_by_id = status, note, now, actor.id
    item.interaction_id = interaction.id
    audit.record(actor, "outreach.mark", "outreach_item", item.id, summary=lead.name, before=before,
                 after={"status": status, "note": note})
    db.session.commit()
    from crm.services.leads import leads_changed

    leads_changed([item.lead_id])  # the index holds recent interaction summaries and the last contact
    return item


CONTACTED = {ItemStatus.GREETED.value, ItemStatus.VISITED.value, ItemStatus.DECLINED.value}


def changes_open(campaign: Campaign, now: datetime) -> bool:
    """Results may be changed until OVERDUE_WINDOW_DAYS after the holiday."""
    return today_in_ankang(now) <= campaign.holiday_date + timedelta(days=OVERDUE_WINDOW_DAYS)


def change_item(actor: User, item_id: int, status: str, note: str | None = None, *, now: datetime) -> OutreachItem:
    """Change a recorded result (a mistaken 婉拒 becomes 已问候), whoever may mark the item, while the campaign is
    worked. The interaction the first mark logged is the same call or visit with another result: it is rewritten
    (kind, summary, outcome; its time stays), so visit counts follow, and the lead's last contact follows it.
    An empty note keeps the recorded one. Audited, one commit."""
    item = get_item(actor, item_id)
    require(actor, "outreach.work", item)
    status, note = _clean_result(status, note)
    if item.status == ItemStatus.PENDING.value:
        raise Conflict(_("This greeting has no result yet: mark it first."))
    if not changes_open(item.campaign, now):
        raise Conflict(_("Results of this campaign can be changed until %(day)s.", day=(
            item.campaign.holiday_date + timedelta(days=OVERDUE_WINDOW_DAYS)).isoformat()))
    note = note or item.note
    before = {"status": item.status, "note": item.note}
    if before == {"status": status, "note": note}:
        return item
    lead = item.lead
    interaction = db.session.get(Interaction, item.interaction_id) if item.interaction_id else None
    if interaction is None or interaction.withdrawn_at is not None:  # withdrawn on the lead page meanwhile
        interaction = Interaction(lead_id=item.lead_id, occurred_at=item.done_at or now, created_at=now,
                                  county_id=actor.county_id or item.county_id, created_by_id=actor.id,
                                  participants=[actor])
        db.session.add(interaction)
    interaction.kind = InteractionKind.VISIT.value if status == ItemStatus.VISITED else InteractionKind.GREETING.value
    interaction.summary = _("%(campaign)s: %(status)s", campaign=campaign_title(item.campaign),
                            status=status_label(status))
    interaction.outcome, interaction.updated_at = note, now
    db.session.flush()
    item.status, item.note, item.interaction_id = status, note, interaction.id
    contact_before = lead.last_contacted_at
    _follow_contact(lead, interaction, contacted=status in CONTACTED)
    audit.record(actor, "outreach.change", "outreach_item", item.id, summary=lead.name, before=before,
                 after={"status": status, "note": note, "interaction_id": interaction.id})
    if lead.last_contacted_at != contact_before:
        audit.record(actor, "update", "lead", lead.id, summary=lead.name,
                     before={"last_contacted_at": contact_before}, after={"last_contacted_at": lead.last_contacted_at})
    db.session.commit()
    from crm.services.leads import leads_changed

    leads_changed([item.lead_id])
    return item


def _follow_contact(lead: Lead, interaction: Interaction, *, contacted: bool) -> None:
    """A result that became a contact may be the latest one; one that stopped being a contact (now unreachable)
    gives the last contact back to the latest other contact, unless something later set it."""
    if contacted:
        if lead.last_contacted_at is None or lead.last_contacted_at < interaction.occurred_at:
            lead.last_contacted_at = interaction.occurred_at
        return
    if lead.last_contacted_at is None or lead.last_contacted_at > interaction.occurred_at:
        return
    unanswered = exists().where(OutreachItem.interaction_id == Interaction.id,
                                OutreachItem.status == ItemStatus.UNREACHABLE.value)
    lead.last_contacted_at = db.session.scalar(
        select(db.func.max(Interaction.occurred_at)).where(Interaction.lead_id == lead.id, Interaction.id !=
                                                           interaction.id, Interaction.withdrawn_at.is_(None),
                                                           ~unanswered))


def item_to_followup(actor: User, item_id: int, data: dict, *, now: datetime):
    """Turn a reply into a follow-up on the lead, assigned to the actor unless the data says otherwise."""
    item = get_item(actor, item_id)
    require(actor, "outreach.work", item)
    default_title = _("Reply to the %(campaign)s greeting: %(lead)s", campaign=campaign_title(item.campaign),
                      lead=item.lead.name)
    payload = {"title": data.get("title") or default_title[:200], "detail": data.get("detail") or item.note,
               "due_at": data.get("due_at") or now + timedelta(days=3), "lead_id": item.lead_id,
               "assignee_id": data.get("assignee_id") or actor.id, "priority": data.get("priority")}
    return followups.create_followup(actor, payload, now=now)


def pending_items_for(user: User, now: datetime) -> list[OutreachItem]:
    """For the morning digest: the user's items (and county inbox) still pending on or after the holiday."""
    today = today_in_ankang(now)
    stmt = (select(OutreachItem).join(Campaign).where(
        _mine(user), OutreachItem.status == ItemStatus.PENDING.value, live_lead(OutreachItem.lead_id),
        Campaign.holiday_date <= today,
        Campaign.holiday_date >= today - timedelta(days=OVERDUE_WINDOW_DAYS))
        .order_by(Campaign.holiday_date, OutreachItem.id))
    return list(db.session.scalars(stmt))


KIND_LABELS = {"enterprise": _l("Enterprise"), "chamber": _l("Chamber of commerce"), "adviser": _l("Senior adviser"),
               "hometown_entrepreneur": _l("Hometown entrepreneur"), "intermediary": _l("Intermediary"),
               "foreign_investor": _l("Foreign investor")}
STATUS_LABELS = {"pending": _l("Pending"), "greeted": _l("Greeted"), "visited": _l("Visited"),
                 "unreachable": _l("Unreachable"), "declined": _l("Declined")}


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


def kind_label(code: str) -> str:
    return str(KIND_LABELS.get(code, code))


# --- progress and export -------------------------------------------------------------------------------

def _tally(rows) -> dict:
    counts = Counter(status for status in rows)
    total = sum(counts.values())
    done = total - counts.get(ItemStatus.PENDING.value, 0)
    return {"total": total, "done": done, "percent": round(100 * done / total) if total else 0,
            "by_status": {s.value: counts.get(s.value, 0) for s in ItemStatus}}


def progress(actor: User, campaign_id: int, *, county_id: int | None = None) -> dict:
    """Done % and counts by status for the campaign, per county and per staff member (None = county inbox)."""
    if county_id is None and not can(actor, "outreach.progress", None):
        county_id = actor.county_id
    require(actor, "outreach.progress", county_id)
    campaign = get_campaign(actor, campaign_id)
    stmt = select(OutreachItem.county_id, OutreachItem.assignee_id, OutreachItem.status).where(
        OutreachItem.campaign_id == campaign.id, live_lead(OutreachItem.lead_id))
    if county_id:
        stmt = stmt.where(OutreachItem.county_id == county_id)
    rows = db.session.execute(stmt).all()
    counties = {c.id: c for c in db.session.scalars(select(County))}
    user_ids = {r.assignee_id for r in rows if r.assignee_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    by_county: dict[int | None, list[str]] = {}
    by_staff: dict[tuple, list[str]] = {}
    for r in rows:
        by_county.setdefault(r.county_id, []).append(r.status)
        by_staff.setdefault((r.county_id, r.assignee_id), []).append(r.status)
    county_rows = sorted(({"county": counties.get(cid), **_tally(s)} for cid, s in by_county.items()),
                         key=lambda row: (row["county"].sort_order if row["county"] else 0, row["county"] and
                                          row["county"].code or ""))
    staff_rows = sorted(({"county": counties.get(cid), "user": users.get(uid), **_tally(s)}
                         for (cid, uid), s in by_staff.items()),
                        key=lambda row: (row["percent"], row["county"].code if row["county"] else ""))
    return {"campaign": campaign, "county_id": county_id, **_tally([r.status for r in rows]),
            "counties": county_rows, "staff": staff_rows}


def export_rows(actor: User, campaign_id: int, *, county_id: int | None = None, mine: bool = False,
                now: datetime) -> tuple[list[str], list[list]]:
    """The campaign's list for printing or XLSX, contacts masked as the actor would see them; audited."""
    from crm.services.leads import contact_values, contacts_masked

    campaign = get_campaign(actor, campaign_id)
    items = list(db.session.scalars(items_query(actor, campaign.id, mine=mine, county_id=county_id)))
    headers = [_("Lead"), _("Kind"), _("County"), _("Assignee"), _("Contact"), _("Mobile"), _("WeChat"),
               _("Last contact"), _("Status"), _("Note"), _("Done at")]
    rows = []
    for item in items:
        lead = item.lead
        contact = contact_values(lead.contacts[0], masked=contacts_masked(actor, lead)) if lead.contacts else {}
        rows.append([lead.name, kind_label(lead.kind), lead.owner_county.name if lead.owner_county else "",
                     item.assignee.display_name if item.assignee else _("County inbox"), contact.get("name") or "",
                     contact.get("mobile") or contact.get("phone") or "", contact.get("wechat") or "",
                     lead.last_contacted_at, status_label(item.status), item.note or "", item.done_at])
    audit.record_read(actor, "export", "campaign", campaign.id, summary=campaign_title(campaign),
                      after={"rows": len(rows), "county_id": county_id, "mine": mine})
    return headers, rows
