"""Project health: green / amber / red per live project from the days since its last contact against its tier's
cadence, its slipped commitments and its open overdue problems; the "needs attention" list, the dashboard's
counts and each county's weekly digest. The colour is computed on reading, never stored.

Boundaries (decided, tested in tests/services/test_project_health.py):
- contact: days since the last contact ≤ cadence → green (exactly at the cadence is still on time: "every 14 days"
  means the 14th day is the day to go); ≤ 2 × cadence → amber; beyond → red. A project nobody ever contacted
  counts from the day it was entered.
- slipped commitments (open, past due, not kept) and open overdue problems: 0 → green, 1 → amber, ≥ 2 → red
  (HEALTH_RED_COUNT).
- the project's colour is the worst of the three; the reasons name each one that is not green."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import Interaction, Lead, Project, Role, Stage, User, project_leads
from crm.services import commitments, notifications, problems
from crm.services.projects import TZ, today

GREEN, AMBER, RED = "green", "amber", "red"
COLOURS = (GREEN, AMBER, RED)
RANK = {GREEN: 0, AMBER: 1, RED: 2}
COLOUR_LABELS = {GREEN: _l("Healthy"), AMBER: _l("Needs care"), RED: _l("At risk")}
# (minimum total investment in 万元, days between contacts), biggest first: ≥ 10亿 every 14 days, ≥ 1亿 every 30,
# the rest every 60. HEALTH_TIERS in the config replaces it (a list of [min, days] pairs).
DEFAULT_TIERS = ((Decimal(100_000), 14), (Decimal(10_000), 30), (Decimal(0), 60))
DEFAULT_RED_FACTOR = 2
DEFAULT_RED_COUNT = 2


@dataclass
class Health:
    colour: str
    cadence: int
    days_since: int
    last_contact_on: date | None
    slipped: int
    problems: int
    reasons: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return "；".join(self.reasons) if self.reasons else str(_("Contact, commitments and problems on track"))


def tiers() -> list[tuple[Decimal, int]]:
    raw = current_app.config.get("HEALTH_TIERS")
    try:
        rows = sorted(((Decimal(str(low)), int(days)) for low, days in raw), reverse=True) if raw else []
    except (TypeError, ValueError, ArithmeticError):
        rows = []
    if not rows or any(days <= 0 or low < 0 for low, days in rows) or rows[-1][0] != 0:
        return list(DEFAULT_TIERS)
    return rows


def _setting(key: str, default: int) -> int:
    try:
        value = int(current_app.config.get(key, default))
    except (TypeError, ValueError):
        return default
    return value if value >= 1 else default


def cadence_for(investment: Decimal, table=None) -> int:
    for low, days in table or tiers():
        if (investment or Decimal(0)) >= low:
            return days
    return (table or tiers())[-1][1]


def colour_of(days_since: int, cadence: int, slipped: int, problems: int, *, red_factor: int = DEFAULT_RED_FACTOR,
              red_count: int = DEFAULT_RED_COUNT) -> tuple[str, list[str]]:
    """The colour and its reasons; the rule of the module docstring."""
    parts = []
    contact = GREEN if days_since <= cadence else AMBER if days_since <= red_factor * cadence else RED
    if contact != GREEN:
        parts.append((contact, _("%(n)d days without contact (every %(c)d days)", n=days_since, c=cadence)))
    if slipped:
        parts.append((RED if slipped >= red_count else AMBER, _("%(n)d commitments overdue", n=slipped)))
    if problems:
        parts.append((RED if problems >= red_count else AMBER, _("%(n)d problems overdue", n=problems)))
    colour = max((c for c, _text in parts), key=RANK.get, default=GREEN)
    return colour, [text for _c, text in parts]


def last_contacts(project_ids) -> dict[int, datetime]:
    """The latest contact of each project: its investors' (leads') last contact or an interaction on it."""
    ids = list(project_ids)
    out: dict[int, datetime] = {}
    if not ids:
        return out
    by_lead = select(project_leads.c.project_id, func.max(Lead.last_contacted_at)).join(
        Lead, Lead.id == project_leads.c.lead_id).where(project_leads.c.project_id.in_(ids)).group_by(
        project_leads.c.project_id)
    direct = select(Interaction.project_id, func.max(Interaction.occurred_at)).where(
        Interaction.project_id.in_(ids), Interaction.withdrawn_at.is_(None)).group_by(Interaction.project_id)
    for stmt in (by_lead, direct):
        for pid, at in db.session.execute(stmt):
            if at is not None:
                at = _naive_utc_fix(at)  # max() keeps the column's type, but a naive value is UTC all the same
                out[pid] = max(out.get(pid, at), at)
    return out


def _naive_utc_fix(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def health_for(projects, now: datetime) -> dict[int, Health]:
    """project id → Health, for the live, not dropped projects given."""
    projects = [p for p in projects if p.deleted_at is None and p.stage != Stage.DROPPED]
    ids = [p.id for p in projects]
    day, table = today(now), tiers()
    red_factor, red_count = _setting("HEALTH_RED_FACTOR", DEFAULT_RED_FACTOR), _setting("HEALTH_RED_COUNT",
                                                                                       DEFAULT_RED_COUNT)
    contacts = last_contacts(ids)
    slipped = commitments.slipped_by_project(ids, day)
    overdue = problems.overdue_problems_by_project(ids, now=now)
    out = {}
    for p in projects:
        last = contacts.get(p.id)
        since = (_naive_utc_fix(last) if last else _naive_utc_fix(p.created_at)).astimezone(TZ).date()
        days, cadence = max((day - since).days, 0), cadence_for(p.investment_total, table)
        colour, reasons = colour_of(days, cadence, slipped.get(p.id, 0), overdue.get(p.id, 0),
                                    red_factor=red_factor, red_count=red_count)
        if last is None:
            reasons = [str(_("Never contacted"))] + reasons
        out[p.id] = Health(colour, cadence, days, since if last else None, slipped.get(p.id, 0),
                           overdue.get(p.id, 0), reasons)
    return out


def _live(county_id=None):
    stmt = select(Project).where(Project.deleted_at.is_(None), Project.stage != Stage.DROPPED.value).options(
        selectinload(Project.county))
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    return stmt


def attention(now: datetime, *, county_id=None, colours=(RED, AMBER)) -> list[tuple[Project, Health]]:
    """需关注: the projects whose colour is among `colours`, red first, then the longest without contact."""
    rows = list(db.session.scalars(_live(county_id)))
    health = health_for(rows, now)
    found = [(p, health[p.id]) for p in rows if health[p.id].colour in colours]
    return sorted(found, key=lambda ph: (-RANK[ph[1].colour], -ph[1].slipped - ph[1].problems,
                                         -ph[1].days_since, ph[0].id))


def colour_counts(now: datetime, *, county_id=None) -> dict[str, int]:
    health = health_for(list(db.session.scalars(_live(county_id))), now)
    return {colour: sum(h.colour == colour for h in health.values()) for colour in COLOURS}


def plan_weekly_digests(now: datetime, *, weekday: int = 0) -> int:
    """Each county's staff get, once per ISO week from `weekday` (0 = Monday) on, their county's red and amber
    projects with the reasons; nothing when all are green."""
    local = now.astimezone(TZ)
    if local.weekday() < weekday:
        return 0
    year, week, _day = local.isocalendar()
    planned = 0
    staff = list(db.session.scalars(select(User).where(User.role == Role.COUNTY_STAFF, User.is_active_user.is_(True),
                                                       User.county_id.is_not(None)).order_by(User.id)))
    by_county: dict[int, list] = {}
    for user in staff:
        if user.county_id not in by_county:
            by_county[user.county_id] = attention(now, county_id=user.county_id)
        rows = by_county[user.county_id]
        if not rows:
            continue
        with notifications.in_language(user):
            lines = [f"- [{COLOUR_LABELS[h.colour]}] {p.name}: {'；'.join(h.reasons)}" for p, h in rows[:20]]
            planned += bool(notifications.notify(
                user, "health_digest", _("Projects needing attention this week: %(n)d", n=len(rows)),
                "\n".join(lines), f"/projects/attention?county_id={user.county_id}",
                f"health:{year}-W{week:02d}", now=now))
    db.session.commit()
    return planned
