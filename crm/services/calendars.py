"""A user's follow-ups by day (the calendar page) and as an iCal feed (RFC 5545) behind a personal token.

The feed is read without signing in, so the token is the only key: it is long and random, shown only to its
user, replaced on request (the old link then finds nothing), and the feed carries only the user's own open
follow-ups with contact details masked exactly as the lead page would show them to that user."""
from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event
from sqlalchemy import select

from crm.extensions import db
from crm.models import Contact, Followup, FollowupStatus, Lead, User
from crm.services import audit, identity
from crm.services.followups import TZ
from crm.services.lead_lifecycle import live_lead
from crm.services.leads import contacts_masked

FEED_DAYS_BACK, FEED_DAYS_AHEAD = 30, 366  # what a phone's calendar gets: recent misses and the year ahead
PRIORITY = {"high": 1, "normal": 5, "low": 9}  # RFC 5545 §3.8.1.9: 1 highest, 9 lowest


# --- the token -----------------------------------------------------------------------------------------

def new_calendar_token(actor: User, *, now: datetime) -> str:
    """Give the actor a fresh feed token (replacing any old one, which stops working at once)."""
    had = actor.calendar_token is not None
    actor.calendar_token = secrets.token_urlsafe(32)
    audit.record(actor, "calendar_token.renew" if had else "calendar_token.create", "user", actor.id,
                 summary=actor.username)
    db.session.commit()
    return actor.calendar_token


def user_for_calendar_token(token: str) -> User | None:
    """The active user whose feed this token opens, or None (unknown, replaced, malformed, inactive)."""
    if not token or len(token) > 64 or not token.replace("-", "").replace("_", "").isalnum():
        return None
    user = db.session.scalar(select(User).where(User.calendar_token == token))
    if user is None or not user.is_active_user or not secrets.compare_digest(user.calendar_token, token):
        return None
    return user


# --- the follow-ups of a period ------------------------------------------------------------------------

def own_open_followups(user: User, start: datetime, end: datetime) -> list[Followup]:
    """The user's own open follow-ups (assigned to them) due in [start, end), on live leads, by due time."""
    return list(db.session.scalars(select(Followup).where(
        Followup.assignee_id == user.id, Followup.status == FollowupStatus.OPEN.value, live_lead(Followup.lead_id),
        Followup.due_at >= start, Followup.due_at < end).order_by(Followup.due_at, Followup.id)))


def period(view: str, day: date) -> tuple[date, date]:
    """[first, last] day shown: the Monday-to-Sunday week of `day`, or the whole weeks covering its month."""
    if view == "month":
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return first - timedelta(days=first.weekday()), last + timedelta(days=6 - last.weekday())
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def neighbours(view: str, day: date) -> tuple[date, date]:
    """A day in the period before and in the period after."""
    if view == "month":
        first = day.replace(day=1)
        return (first - timedelta(days=1)).replace(day=1), (first + timedelta(days=32)).replace(day=1)
    return day - timedelta(days=7), day + timedelta(days=7)


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TZ).astimezone(UTC)


def agenda(user: User, view: str, day: date) -> dict:
    """The calendar page: each shown day (Asia/Shanghai) with the user's open follow-ups due on it."""
    first, last = period(view, day)
    items = own_open_followups(user, _utc(first), _utc(last + timedelta(days=1)))
    by_day: dict[date, list[Followup]] = {}
    for fu in items:
        by_day.setdefault(fu.due_at.astimezone(TZ).date(), []).append(fu)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {"first": first, "last": last, "days": days, "by_day": by_day, "count": len(items)}


# --- the feed ------------------------------------------------------------------------------------------

def _contact_line(user: User, lead: Lead) -> str | None:
    contact = db.session.scalar(select(Contact).where(Contact.lead_id == lead.id)
                                .order_by(Contact.is_primary.desc(), Contact.id).limit(1))
    if contact is None:
        return None
    masked = contacts_masked(user, lead)
    mobile = identity.mask_mobile(contact.mobile) if masked else contact.mobile
    phone = identity.mask_phone(contact.phone) if masked else contact.phone
    return " ".join(x for x in (contact.name, contact.title, mobile or phone) if x)


def feed(user: User, *, now: datetime, base_url: str, labels: dict) -> bytes:
    """The user's iCal feed: one event per own open follow-up (due time, 30 minutes), with a reminder an hour
    before. `labels` gives the words to use ({"lead": …, "contact": …, "name": …}) in the user's language."""
    cal = Calendar()
    cal.add("prodid", "-//Ankang investment promotion CRM//followups//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", labels["name"])
    cal.add("x-wr-timezone", "Asia/Shanghai")
    items = own_open_followups(user, now - timedelta(days=FEED_DAYS_BACK), now + timedelta(days=FEED_DAYS_AHEAD))
    leads = {lead.id: lead for lead in db.session.scalars(
        select(Lead).where(Lead.id.in_({f.lead_id for f in items if f.lead_id})))} if items else {}
    host = base_url.split("//", 1)[-1].split("/", 1)[0] or "crm"
    for fu in items:
        event = Event()
        event.add("uid", f"followup-{fu.id}@{host}")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("last-modified", (fu.updated_at or fu.created_at or now).astimezone(UTC))
        event.add("sequence", fu.version or 0)
        event.add("dtstart", fu.due_at.astimezone(UTC))
        event.add("dtend", fu.due_at.astimezone(UTC) + timedelta(minutes=30))
        event.add("summary", fu.title)
        event.add("priority", PRIORITY.get(fu.priority, 5))
        lines = []
        lead = leads.get(fu.lead_id)
        if lead is not None:
            lines.append(f"{labels['lead']}: {lead.name}")
            contact = _contact_line(user, lead)
            if contact:
                lines.append(f"{labels['contact']}: {contact}")
        if fu.detail:
            lines.append(fu.detail)
        url = f"{base_url.rstrip('/')}/followups/{fu.id}"
        lines.append(url)
        event.add("description", "\n".join(lines))
        event.add("url", url)
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", fu.title)
        alarm.add("trigger", timedelta(hours=-1))
        event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()
