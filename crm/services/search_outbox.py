"""The search index's outbox: every flush that changes a lead, contact, tag, interaction, project, industry or
county writes search_outbox entries for the documents it changed, in the flush's own transaction (a rollback takes
them away too, a crash after the commit keeps them). crm.services.indexing deletes entries once the index holds
documents read after them (forget, remove) and indexes what is left (indexing.drain)."""
from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain as chained

from sqlalchemy import delete, event, func, insert, inspect, select

from crm.extensions import db
from crm.models import (
    Contact,
    County,
    Industry,
    Interaction,
    Lead,
    LeadTag,
    Project,
    SearchOutboxEntry,
    project_leads,
)
from crm.services import industries as industries_service


def _queue_flushed(session, _flush_context) -> None:
    """after_flush: an outbox entry for each document the flush changed, written in the flush's transaction."""
    pairs: set[tuple[str, int]] = set()
    renamed, industries, counties = [], set(), set()
    for obj in chained(session.new, session.dirty, session.deleted):
        if isinstance(obj, Lead):
            pairs.add(("lead", obj.id))
            if obj not in session.new and _changed_attribute(obj, "name"):
                renamed.append(obj.id)  # projects show their leads' names
        elif isinstance(obj, Contact | LeadTag):
            pairs.add(("lead", obj.lead_id))
        elif isinstance(obj, Interaction):
            pairs.update((("lead", obj.lead_id), ("project", obj.project_id)))
        elif isinstance(obj, Project):
            pairs.add(("project", obj.id))
        elif isinstance(obj, Industry) and obj not in session.new:
            industries.add(obj.id)
        elif isinstance(obj, County) and obj not in session.new and _changed_attribute(obj, "name"):
            counties.add(obj.id)
    pairs = {(t, i) for t, i in pairs if i is not None}
    if not (pairs or renamed or industries or counties):
        return
    connection = session.connection()
    if renamed:
        pairs.update(("project", pid) for pid in connection.scalars(
            select(project_leads.c.project_id).where(project_leads.c.lead_id.in_(renamed))))
    if industries:  # synonyms and names are indexed with every lead of the industry and its sub-industries
        parents = dict(connection.execute(select(Industry.id, Industry.parent_id)).all())
        subtree = industries_service.subtree(parents, industries)
        pairs.update(("lead", i) for i in connection.scalars(select(Lead.id).where(Lead.industry_id.in_(subtree))))
        pairs.update(("project", i) for i in connection.scalars(
            select(Project.id).where(Project.industry_id.in_(subtree))))
    if counties:
        pairs.update(("lead", i) for i in connection.scalars(select(Lead.id).where(Lead.home_county_id.in_(counties))))
        pairs.update(("project", i) for i in connection.scalars(
            select(Project.id).where(Project.county_id.in_(counties))))
    now = datetime.now(UTC)
    if pairs:  # empty when the only change was an industry or county that no lead or project uses
        connection.execute(insert(SearchOutboxEntry), [{"doc_type": t, "doc_id": i, "created_at": now}
                                                       for t, i in sorted(pairs)])


def _changed_attribute(obj, name: str) -> bool:
    return inspect(obj).attrs[name].history.has_changes()


if not event.contains(db.session, "after_flush", _queue_flushed):
    event.listen(db.session, "after_flush", _queue_flushed)


def high_water() -> int:
    """The newest outbox entry now: a document read after this covers every entry up to it."""
    return db.session.scalar(select(func.max(SearchOutboxEntry.id))) or 0


def forget(doc_type: str, ids: list[int], upto: int) -> None:
    """The index holds these documents as read after entry `upto`: their entries up to it are done."""
    if upto and ids:
        db.session.execute(delete(SearchOutboxEntry).where(
            SearchOutboxEntry.doc_type == doc_type, SearchOutboxEntry.doc_id.in_(ids), SearchOutboxEntry.id <= upto))
    db.session.commit()


def size() -> int:
    return db.session.scalar(select(func.count(SearchOutboxEntry.id))) or 0


def oldest(limit: int) -> list[tuple[int, str, int]]:
    """(entry id, doc type, doc id) of the oldest entries."""
    return [tuple(r) for r in db.session.execute(
        select(SearchOutboxEntry.id, SearchOutboxEntry.doc_type, SearchOutboxEntry.doc_id)
        .order_by(SearchOutboxEntry.id).limit(limit))]


def is_empty() -> bool:
    return db.session.scalar(select(SearchOutboxEntry.id).limit(1)) is None


def remove(entry_ids: list[int], *, upto: int | None = None) -> None:
    """Delete these entries (or, with upto, every entry up to that id) and commit."""
    if upto is not None:
        db.session.execute(delete(SearchOutboxEntry).where(SearchOutboxEntry.id <= upto))
    for start in range(0, len(entry_ids), 900):
        db.session.execute(delete(SearchOutboxEntry).where(SearchOutboxEntry.id.in_(entry_ids[start:start + 900])))
    db.session.commit()
