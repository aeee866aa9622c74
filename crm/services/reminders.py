"""Reminders about follow-ups and key investors, planned by the scheduler's jobs (crm.scheduler): due soon,
overdue and escalation notices, the morning digest, the silent-lead alarm. Each message exists once through its
dedupe key; delivery is crm.services.delivery's business, not this module's."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from crm.extensions import db
from crm.models import Followup, FollowupStatus, Lead, Role, User
from crm.services import notifications
from crm.services.followups import TZ, _county_staff, _link, my_followups
from crm.services.lead_lifecycle import live_lead
from crm.services.permissions import is_city_level


def _open_followups():
    return select(Followup).where(Followup.status == FollowupStatus.OPEN.value, live_lead(Followup.lead_id))


def _responsible(fu: Followup) -> list[User]:
    if fu.assignee_id is not None:
        user = db.session.get(User, fu.assignee_id)
        return [user] if user is not None else []
    return _county_staff(fu.county_id)


def _due_text(fu: Followup) -> str:
    return fu.due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def plan_due_soon_reminders(now: datetime, *, hours: int) -> int:
    """A reminder to whoever holds each open follow-up due within the next `hours`."""
    planned = 0
    for fu in db.session.scalars(_open_followups().where(Followup.due_at > now,
                                                         Followup.due_at <= now + timedelta(hours=hours))):
        for user in _responsible(fu):
            with notifications.in_language(user):
                planned += bool(notifications.notify(
                    user, "due_soon", _("Due soon: %(title)s", title=fu.title),
                    _("Due %(due)s.", due=_due_text(fu)), _link(fu),
                    f"due_soon:{fu.id}:{fu.due_at.isoformat()}", now=now))
    db.session.commit()
    return planned


def plan_overdue_notices(now: datetime, *, escalate_days: int) -> int:
    """An overdue notice to the holder of each late follow-up and, `escalate_days` after the due time,
    an escalation to whoever assigned it."""
    planned = 0
    for fu in db.session.scalars(_open_followups().where(Followup.due_at <= now)):
        for user in _responsible(fu):
            with notifications.in_language(user):
                planned += bool(notifications.notify(
                    user, "overdue", _("Overdue: %(title)s", title=fu.title),
                    _("Was due %(due)s.", due=_due_text(fu)), _link(fu),
                    f"overdue:{fu.id}:{fu.due_at.isoformat()}", now=now))
        late = fu.due_at <= now - timedelta(days=escalate_days)
        if late and fu.assigned_by_id and fu.assigned_by_id != fu.assignee_id:
            boss = db.session.get(User, fu.assigned_by_id)
            holder = db.session.get(User, fu.assignee_id) if fu.assignee_id else None
            who = holder.display_name if holder else (fu.county.name if fu.county else "")
            with notifications.in_language(boss):
                planned += bool(notifications.notify(
                    boss, "escalation", _("Still not done: %(title)s", title=fu.title),
                    _("%(who)s has not completed it; it was due %(due)s.", who=who, due=_due_text(fu)),
                    _link(fu), f"escalate:{fu.id}:{fu.due_at.isoformat()}", now=now))
    db.session.commit()
    return planned


def digest_for(user: User, now: datetime) -> dict:
    """What the morning digest tells a user: due today, overdue, new assignments, open claim conflicts."""
    buckets = my_followups(user, now)
    new = list(db.session.scalars(select(Followup).where(
        Followup.assignee_id == user.id, Followup.status == FollowupStatus.OPEN.value, live_lead(Followup.lead_id),
        Followup.created_at >= now - timedelta(hours=24), Followup.assigned_by_id != user.id)))
    conflicts = 0
    if is_city_level(user):
        from crm.services.conflicts import open_count  # the same conflicts the city's list shows

        conflicts = open_count()
    from crm.services.outreach import pending_items_for  # outreach builds on follow-ups, not the reverse
    from crm.services.problem_oversight import (
        digest_problems,  # problems build on follow-ups, not the reverse
    )

    return {"today": buckets["today"], "overdue": buckets["overdue"], "new": new, "conflicts": conflicts,
            "greetings": pending_items_for(user, now), "problems": digest_problems(user, now)}


def _digest_body(digest: dict, now: datetime) -> str:
    lines = []
    for key, heading in (("overdue", _("Overdue")), ("today", _("Due today")), ("new", _("New assignments"))):
        if digest[key]:
            lines.append(f"{heading} ({len(digest[key])}):")
            lines += [f"- {_due_text(fu)} {fu.title}" for fu in digest[key][:10]]
    if digest["conflicts"]:
        lines.append(_("Claim conflicts waiting: %(n)d", n=digest["conflicts"]))
    if digest["greetings"]:
        lines.append(_("Holiday greetings still to make (%(n)d):", n=len(digest["greetings"])))
        lines += [f"- {item.lead.name}" for item in digest["greetings"][:10]]
    from crm.services.problem_oversight import digest_lines

    lines += digest_lines(digest.get("problems") or [], now)
    return "\n".join(lines)


def plan_morning_digests(now: datetime) -> int:
    """One digest per staff member per Asia/Shanghai day, only when there is something to say."""
    planned = 0
    day = now.astimezone(TZ).date().isoformat()
    staff = db.session.scalars(select(User).where(User.is_active_user.is_(True), User.role != Role.VIEWER)
                               .order_by(User.id))
    for user in staff:
        digest = digest_for(user, now)
        if not any((digest["today"], digest["overdue"], digest["new"], digest["conflicts"], digest["greetings"],
                    digest["problems"])):
            continue
        with notifications.in_language(user):
            planned += bool(notifications.notify(
                user, "digest", _("Your follow-ups for %(day)s", day=day), _digest_body(digest, now),
                "/problems/" if user.role == Role.DEPARTMENT else "/followups/mine", f"digest:{day}", now=now))
    db.session.commit()
    return planned


def plan_silent_lead_alarms(now: datetime, *, days: int) -> int:
    """Key investors nobody has contacted for `days`: tell the owner, or the owning county's staff."""
    cutoff = now - timedelta(days=days)
    stmt = select(Lead).where(Lead.is_key.is_(True), Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None),
                              or_(Lead.last_contacted_at < cutoff,
                                  and_(Lead.last_contacted_at.is_(None), Lead.created_at < cutoff)))
    planned = 0
    for lead in db.session.scalars(stmt):
        owner = db.session.get(User, lead.owner_id) if lead.owner_id else None
        people = [owner] if owner is not None and owner.is_active_user else _county_staff(lead.owner_county_id)
        since = lead.last_contacted_at.isoformat() if lead.last_contacted_at else "never"
        for user in people:
            with notifications.in_language(user):
                planned += bool(notifications.notify(
                    user, "silent_lead", _("No contact for %(n)d days: %(name)s", n=days, name=lead.name),
                    _("Key investor; last contact: %(when)s.", when=lead.last_contacted_at.astimezone(TZ)
                      .strftime("%Y-%m-%d") if lead.last_contacted_at else _("never")),
                    f"/leads/{lead.id}", f"silent:{lead.id}:{since}", now=now))
    db.session.commit()
    return planned
