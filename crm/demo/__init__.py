"""The demo city: deterministic, idempotent Ankang data so every page has something true to show.

`seed_demo("small")` adds the accounts and ~400 leads with their history, follow-ups, projects, events and
targets; `seed_demo("large")` adds the small city and then bulk leads up to 100,000 for benchmarks. Rows go in
through the models (not the services); a JobRun marker per size makes a second run add nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from crm.demo import activity, bulk, city, commitments, followups, problems, projects, verification
from crm.demo.context import Demo
from crm.demo.people import DEMO_PASSWORD, add_people, demo_logins
from crm.extensions import db
from crm.models import Industry, Interaction, JobRun, Lead
from crm.services.counties import all_counties, load_reference_counties
from crm.services.industries import load_reference_industries

__all__ = ["DEMO_PASSWORD", "LARGE_LEADS", "demo_logins", "seed_demo"]
LARGE_LEADS = 100_000


def _marker(size: str) -> str:
    return f"demo_seed:{size}"


def _seeded(size: str) -> bool:
    return db.session.get(JobRun, _marker(size)) is not None


def _mark(demo: Demo, size: str) -> None:
    db.session.add(JobRun(job_id=_marker(size), last_run_at=demo.now, last_finished_at=datetime.now(UTC)))


def _touch_leads(demo: Demo) -> None:
    """last_contacted_at = the latest interaction; nothing logged before the lead (or its contacts) existed."""
    rows = db.session.execute(
        select(Interaction.lead_id, func.min(Interaction.occurred_at), func.max(Interaction.occurred_at))
        .where(Interaction.lead_id.in_([lead.id for lead in demo.leads])).group_by(Interaction.lead_id))
    spans = {lead_id: (first, last) for lead_id, first, last in rows}
    for lead in demo.leads:
        first, last = spans.get(lead.id, (None, None))
        if last is None:
            continue
        lead.last_contacted_at = last
        if first < lead.created_at:
            lead.created_at = first - timedelta(days=3)
            for contact in lead.contacts:
                contact.created_at = contact.updated_at = lead.created_at
        lead.updated_at = max(lead.updated_at, last)


def _small(demo: Demo, progress: Callable[[str], None] | None = None) -> dict:
    counts: dict[str, int] = {}

    def add(part: dict) -> None:
        for key, value in part.items():
            counts[key] = counts.get(key, 0) + value

    for label, build in (("leads", city.build_leads), ("trips", activity.build_trips),
                         ("interactions", activity.build_interactions), ("events", projects.build_events),
                         ("projects", projects.build_projects),
                         ("commitments", commitments.build_commitments), ("followups", followups.build_followups),
                         ("targets", projects.build_targets), ("verification", verification.build_verification),
                         ("notifications", followups.build_notifications), ("problems", problems.build_problems)):
        if progress:
            progress(f"  small city: {label}")
        demo.rng = demo.stream(label)
        add(build(demo))
    db.session.flush()
    _touch_leads(demo)
    return counts


def seed_demo(size: str = "small", *, now: datetime | None = None, leads: int | None = None,
              progress: Callable[[str], None] | None = None) -> dict:
    """Add what is missing of the demo city and return what was added; running it twice adds nothing.

    `leads` overrides the large city's total (tests use a few hundred); `progress` hears each step as a line
    of text (the small city's parts, the large city's chunks of leads).
    """
    if size not in ("small", "large"):
        raise ValueError(f"unknown demo size {size!r}")
    demo = Demo(now=now or datetime.now(UTC))
    load_reference_counties()
    load_reference_industries()
    demo.counties = {c.code: c for c in all_counties()}
    demo.industries = {i.code: i for i in db.session.scalars(select(Industry))}
    counts = {"users": add_people(demo)}
    if not _seeded("small"):
        counts.update(_small(demo, progress))
        _mark(demo, "small")
    db.session.commit()
    if size == "large" and not _seeded("large"):
        total = leads if leads is not None else LARGE_LEADS
        have = db.session.scalar(select(func.count()).select_from(Lead))
        for key, value in bulk.add_leads(demo, max(total - have, 0), progress=progress).items():
            counts[key] = counts.get(key, 0) + value
        _mark(demo, "large")
        db.session.commit()
    return counts
