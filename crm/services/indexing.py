"""The search index kept true to the database, and lead search: the only caller of crm.search.

The database is the truth. Every flush that changes a lead, contact, tag, interaction, project, industry or county
writes search_outbox entries in its own transaction (a rollback takes them away too). Services call
leads_changed/projects_changed after their commit to index at once; drain() indexes whatever the outbox still
lists (every minute and on start: an update that failed or was cut off by a crash); reconcile() (every 10 minutes
and on start) compares stored versions with the rows and repairs what nothing listed (bulk SQL, imports).
"""
from __future__ import annotations

import logging
import os
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace

try:
    import fcntl
except ImportError:  # not POSIX: threads of one process are still kept in order
    fcntl = None

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import (
    Contact,
    County,
    Industry,
    Interaction,
    Lead,
    LeadTag,
    Project,
    User,
)
from crm.models.lead import PERSON_KINDS
from crm.search import SearchIndex
from crm.services import contact_search, search_fallback, search_outbox
from crm.services.permissions import require, rule
from crm.transactions import reading

log = logging.getLogger(__name__)
RECENT_INTERACTIONS = 10
CHUNK = 500

KIND_LABELS = {"enterprise": _l("Enterprise"), "chamber": _l("Chamber of commerce"), "adviser": _l("Adviser"),
               "hometown_entrepreneur": _l("Hometown entrepreneur"), "intermediary": _l("Intermediary"),
               "foreign_investor": _l("Foreign investor"), "project": _l("Project")}
STATUS_LABELS = {"new": _l("New"), "engaged": _l("Engaged"), "interested": _l("Interested"), "signed": _l("Signed"),
                 "dormant": _l("Dormant"), "dropped": _l("Dropped"), "planned": _l("Planned"),
                 "negotiating": _l("Negotiating"), "started": _l("Started"), "operating": _l("Operating")}


@rule("search.run")
def _run_search(_actor: User, _obj) -> bool:
    return True  # leads are shared city-wide for reading; can() already refuses inactive users


# ---- the index of this process -------------------------------------------------------------------

_indexes: dict[str, SearchIndex] = {}
_indexes_lock = threading.Lock()
_reconcile_lock = threading.Lock()
_filling: set[str] = set()  # paths of indexes being rebuilt from nothing by reconcile()


def search_index() -> SearchIndex:
    """The index at SEARCH_INDEX_PATH, opened once per process (a missing or corrupt one starts empty)."""
    path = os.path.abspath(current_app.config["SEARCH_INDEX_PATH"])
    index = _indexes.get(path)
    if index is None:
        with _indexes_lock:
            index = _indexes.get(path) or SearchIndex(path)
            _indexes[path] = index
    return index


# ---- documents -----------------------------------------------------------------------------------

class Reference:
    """Industries and counties by id, loaded once per batch (small tables)."""

    def __init__(self):
        # Plain copies, not ORM rows: the hooks end their read transaction, which would expire rows.
        self.industries = {i.id: SimpleNamespace(id=i.id, name=i.name, parent_id=i.parent_id,
                                                 synonyms=list(i.synonyms or []))
                           for i in db.session.scalars(select(Industry))}
        self.counties = {c.id: c.name for c in db.session.scalars(select(County))}

    def chain(self, industry_id: int | None) -> list[SimpleNamespace]:
        out = []
        while industry_id in self.industries and len(out) < 10:
            out.append(self.industries[industry_id])
            industry_id = self.industries[industry_id].parent_id
        return out

    def industry_text(self, industry_id: int | None) -> list[str]:
        return [w for i in self.chain(industry_id) for w in [i.name, *(i.synonyms or [])]]


def _version(updated_at: datetime | None, latest_interaction: int | None, *parts) -> str:
    """updated_at + latest interaction id, plus a digest of what lives outside the row (taxonomy words,
    county name, tags, contacts), so an edited synonym or contact also shows as drift."""
    digest = zlib.crc32("\x1f".join(str(p) for p in parts).encode("utf-8"))
    stamp = updated_at.isoformat() if updated_at else ""
    return f"{stamp}/{latest_interaction or 0}/{digest:08x}"


def _contact_stamp(count: int, latest: datetime | None) -> str:
    return f"{count}:{latest.isoformat() if latest else ''}"


def _lead_parts(ref: Reference, industry_id, home_county_id, tags, contact_stamp) -> tuple:
    return (ref.industry_text(industry_id), ref.counties.get(home_county_id, ""), sorted(tags), contact_stamp)


def lead_document(lead: Lead, ref: Reference | None = None, recent: list[str] | None = None,
                  latest_interaction: int | None = None) -> dict:
    """The doc dict of one lead. Contact mobiles, phones, emails and WeChat ids are never indexed: they are
    masked for other counties, and anything indexed can be matched or highlighted."""
    ref = ref or Reference()
    if recent is None:
        recent, latest_interaction = _recent_interactions(Interaction.lead_id, [lead.id]).get(lead.id, ([], None))
    chain = ref.chain(lead.industry_id)
    contacts = list(lead.contacts)
    stamp = _contact_stamp(len(contacts), max((c.updated_at for c in contacts if c.updated_at), default=None))
    tags = lead.tags
    return {
        "type": "lead", "id": lead.id, "name": lead.name, "company": lead.name,
        "version": _version(lead.updated_at, latest_interaction,
                            *_lead_parts(ref, lead.industry_id, lead.home_county_id, tags, stamp)),
        # A 乡贤's or 顾问's own name is a person's: indexed with its surname reading, as the contacts' are.
        "person_names": [lead.name] * (lead.kind in PERSON_KINDS) + [c.name for c in contacts], "titles": [c.title for c in contacts if c.title],
        "industry_ids": [i.id for i in chain], "industry_text": ref.industry_text(lead.industry_id),
        "tags": tags, "origin_region": lead.origin_region, "home_county": ref.counties.get(lead.home_county_id),
        "notes": lead.notes, "interactions": recent, "county_id": lead.owner_county_id, "kind": lead.kind,
        "status": lead.status, "is_key": lead.is_key, "last_contacted_at": lead.last_contacted_at,
        "sort_name": lead.pinyin_full or lead.name,
    }


def project_document(project: Project, ref: Reference | None = None, recent: list[str] | None = None,
                     latest_interaction: int | None = None) -> dict:
    ref = ref or Reference()
    if recent is None:
        recent, latest_interaction = _recent_interactions(Interaction.project_id, [project.id]).get(
            project.id, ([], None))
    chain = ref.chain(project.industry_id)
    lead_names = sorted(lead.name for lead in project.leads)
    county = ref.counties.get(project.county_id, "")
    return {
        "type": "project", "id": project.id, "name": project.name, "company": "；".join(lead_names),
        "version": _version(project.updated_at, latest_interaction, ref.industry_text(project.industry_id),
                            county, lead_names),
        "person_names": [], "titles": [], "industry_ids": [i.id for i in chain],
        "industry_text": ref.industry_text(project.industry_id), "tags": [], "origin_region": None,
        "home_county": county, "notes": project.notes, "interactions": recent, "county_id": project.county_id,
        "kind": "project", "status": project.stage, "is_key": False, "last_contacted_at": None,
        "sort_name": project.name,
    }


def _recent_interactions(column, ids: list[int]) -> dict[int, tuple[list[str], int]]:
    """owner id -> (the last few summaries, newest first, leaving out withdrawn ones; the highest interaction id)."""
    rows = db.session.execute(
        select(column, Interaction.id, Interaction.summary, Interaction.outcome, Interaction.withdrawn_at)
        .where(column.in_(ids)).order_by(column, Interaction.occurred_at.desc(), Interaction.id.desc()))
    out: dict[int, tuple[list[str], int]] = {}
    for owner, iid, summary, outcome, withdrawn_at in rows:
        texts, latest = out.get(owner, ([], 0))
        if len(texts) < RECENT_INTERACTIONS and withdrawn_at is None:
            texts.append("；".join(t for t in (summary, outcome) if t))
        out[owner] = (texts, max(latest, iid))
    return out


def _lead_docs(ids: list[int], ref: Reference) -> tuple[list[dict], set[int]]:
    """(docs of the live leads among ids, ids to remove from the index)."""
    leads = db.session.scalars(select(Lead).where(Lead.id.in_(ids)).options(
        selectinload(Lead.contacts), selectinload(Lead.tag_rows))).all()
    recent = _recent_interactions(Interaction.lead_id, ids)
    live = [lead for lead in leads if lead.deleted_at is None and lead.merged_into_id is None]
    docs = [lead_document(lead, ref, *recent.get(lead.id, ([], None))) for lead in live]
    return docs, set(ids) - {lead.id for lead in live}


def _project_docs(ids: list[int], ref: Reference) -> tuple[list[dict], set[int]]:
    projects = db.session.scalars(select(Project).where(Project.id.in_(ids))
                                  .options(selectinload(Project.leads))).all()
    recent = _recent_interactions(Interaction.project_id, ids)
    live = [p for p in projects if p.deleted_at is None]
    docs = [project_document(p, ref, *recent.get(p.id, ([], None))) for p in live]
    return docs, set(ids) - {p.id for p in live}


_LOADERS = {"lead": _lead_docs, "project": _project_docs}


class OrderBusy(RuntimeError):
    """Another index update held the ordering lock past the timeout; reconcile repairs what this one skipped."""


_order_lock = threading.Lock()
ORDER_TIMEOUT = 30.0


@contextmanager
def _in_order():
    """Read the database and write the index as one step, one update at a time across the threads and
    processes (gunicorn workers, the scheduler) sharing this index. Without it two commits to one lead could
    reach the index in the wrong order — the earlier read written last — and leave the document stale until the
    next reconcile (seen by bench/load.py under gunicorn). flock is released by the kernel if a process dies."""
    deadline = time.monotonic() + ORDER_TIMEOUT
    if not _order_lock.acquire(timeout=ORDER_TIMEOUT):
        raise OrderBusy("search index updates are held up in this process")
    try:
        if fcntl is None:
            yield
            return
        path = os.path.abspath(current_app.config["SEARCH_INDEX_PATH"]) + ".order.lock"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a+b") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OrderBusy(f"search index updates are held up by another process ({path})") from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        _order_lock.release()


def _apply(doc_type: str, ids: Iterable[int], ref: Reference | None = None) -> int:
    ids = sorted({int(i) for i in ids if i is not None})
    ref = ref or Reference()
    _end_read()  # never wait for the lock inside a read: on SQLite (BEGIN IMMEDIATE) the holder needs to read too
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        with _in_order():
            _end_read()  # a fresh read, taken under the lock: it sees every commit made before the lock
            upto = search_outbox.high_water()
            _write_documents(doc_type, part, ref)
            search_outbox.forget(doc_type, part, upto)
    return len(ids)


def _write_documents(doc_type: str, ids: list[int], ref: Reference) -> None:
    """Read these documents and write them to the index (or remove them); call under _in_order()."""
    docs, gone = _LOADERS[doc_type](ids, ref)
    _end_read()
    index = search_index()
    index.upsert(docs)
    index.delete(doc_type, gone)


def _end_read() -> None:
    """End the read transaction before the (slower) index write: on SQLite an open read would hold up the
    next writer. Only when nothing is pending: these hooks run after the caller's commit."""
    session = db.session()
    if not (session.new or session.dirty or session.deleted):
        session.rollback()


def _changed(doc_type: str, ids: Iterable[int]) -> None:
    try:
        _apply(doc_type, ids)
    except Exception:  # noqa: BLE001  (the user's change is committed; reconcile repairs the index)
        log.exception("search index update of %s %s failed; reconcile will repair it", doc_type, list(ids)[:20])


def leads_changed(ids: Iterable[int]) -> None:
    """Bring these leads' documents up to date (or remove deleted/merged ones). Call after the commit."""
    _changed("lead", list(ids))


def projects_changed(ids: Iterable[int]) -> None:
    _changed("project", list(ids))


def leads_removed(ids: Iterable[int]) -> None:
    """Many leads deleted at once (an import reverted): their documents go in one index write instead of one
    per CHUNK. Ids live again by then (SQLite reuses the highest ids) are left to their own hooks."""
    ids = sorted({int(i) for i in ids if i is not None})
    if not ids:
        return
    try:
        _end_read()
        with _in_order():
            _end_read()
            live = set()
            for start in range(0, len(ids), 900):
                live.update(db.session.scalars(select(Lead.id).where(
                    Lead.id.in_(ids[start:start + 900]), Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None))))
            _end_read()
            search_index().delete("lead", [i for i in ids if i not in live])
    except Exception:  # noqa: BLE001  (the deletion is committed; reconcile removes what is left)
        log.exception("search index removal of %s leads failed; reconcile will repair it", len(ids))


# ---- the outbox ----------------------------------------------------------------------------------

OUTBOX_BATCH = 500  # outbox entries indexed per step of drain(), under one turn of _in_order()


def drain(batch: int = OUTBOX_BATCH) -> int:
    """Index every document the outbox lists, oldest entries first, and delete the entries done; returns the
    number of entries. Each step reads its entries and then their documents under _in_order(), so a document
    written is at least as new as the changes its entries stand for; a crash before the delete only repeats
    the step."""
    done, ref = 0, None
    while True:
        if search_outbox.is_empty():
            _end_read()
            return done  # nothing listed: no turn of the lock (the job asks every minute)
        ref = ref or Reference()
        _end_read()
        with _in_order():
            _end_read()
            rows = search_outbox.oldest(batch)
            _end_read()
            if not rows:
                return done
            by_type: dict[str, set[int]] = defaultdict(set)
            for _id, doc_type, doc_id in rows:
                by_type[doc_type].add(doc_id)
            for doc_type, ids in by_type.items():
                if doc_type in _LOADERS:
                    _write_documents(doc_type, sorted(ids), ref)
            search_outbox.remove([r[0] for r in rows])
        done += len(rows)
        if len(rows) < batch:
            return done


# ---- drift and reconcile -------------------------------------------------------------------------

def database_versions(ref: Reference | None = None) -> dict[tuple[str, int], str]:
    """(type, id) -> the version the index should hold, for every live lead and project (a few bulk queries)."""
    ref = ref or Reference()
    latest_lead = dict(db.session.execute(select(Interaction.lead_id, func.max(Interaction.id))
                                          .where(Interaction.lead_id.is_not(None)).group_by(Interaction.lead_id)).all())
    latest_project = dict(db.session.execute(select(Interaction.project_id, func.max(Interaction.id))
                                             .where(Interaction.project_id.is_not(None))
                                             .group_by(Interaction.project_id)).all())
    tags: dict[int, list[str]] = defaultdict(list)
    for lead_id, tag in db.session.execute(select(LeadTag.lead_id, LeadTag.tag)):
        tags[lead_id].append(tag)
    contacts = {lead_id: _contact_stamp(n, latest) for lead_id, n, latest in db.session.execute(
        select(Contact.lead_id, func.count(Contact.id), func.max(Contact.updated_at)).group_by(Contact.lead_id))}
    out = {}
    for lid, updated, industry_id, home in db.session.execute(
            select(Lead.id, Lead.updated_at, Lead.industry_id, Lead.home_county_id)
            .where(Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None))):
        out[("lead", lid)] = _version(updated, latest_lead.get(lid), *_lead_parts(
            ref, industry_id, home, tags.get(lid, []), contacts.get(lid, _contact_stamp(0, None))))
    names: dict[int, list[str]] = defaultdict(list)
    from crm.models.project import project_leads
    for pid, name in db.session.execute(select(project_leads.c.project_id, Lead.name)
                                        .join(Lead, Lead.id == project_leads.c.lead_id)):
        names[pid].append(name)
    for pid, updated, industry_id, county_id in db.session.execute(
            select(Project.id, Project.updated_at, Project.industry_id, Project.county_id)
            .where(Project.deleted_at.is_(None))):
        out[("project", pid)] = _version(updated, latest_project.get(pid), ref.industry_text(industry_id),
                                         ref.counties.get(county_id, ""), sorted(names.get(pid, [])))
    return out


def drift() -> dict[str, list[tuple[str, int]]]:
    """What the index gets wrong: documents missing, stale (another version) and extra (not in the database)."""
    with reading():
        ref = Reference()
        expected = database_versions(ref)
    stored = search_index().stored_versions()
    return {"missing": sorted(k for k in expected if k not in stored),
            "stale": sorted(k for k, v in expected.items() if k in stored and stored[k] != v),
            "extra": sorted(k for k in stored if k not in expected)}


def reconcile(now: datetime | None = None) -> dict[str, int]:
    """Make the index equal the database: add missing, refresh stale, delete extra. One run at a time per
    process; a run already going makes this one a no-op."""
    if not _reconcile_lock.acquire(blocking=False):
        return {"skipped": 1}
    try:
        found = drift()
        if len(found["missing"]) > max(1000, search_index().doc_count()):
            # An empty or lost index: one writer beats hundreds of small commits; searches meanwhile are
            # answered from the database.
            path = search_index().path
            _filling.add(path)
            try:
                return {"rebuilt": rebuild(procs=min(2, os.cpu_count() or 1))}
            finally:
                _filling.discard(path)
        ref = Reference()
        for doc_type in ("lead", "project"):
            todo = [i for t, i in found["missing"] + found["stale"] if t == doc_type]
            _apply(doc_type, todo, ref)
            search_index().delete(doc_type, [i for t, i in found["extra"] if t == doc_type])
        return {**{k: len(v) for k, v in found.items()}, "outbox": drain()}
    finally:
        _reconcile_lock.release()


def all_documents(chunk: int = CHUNK, progress: Callable[[int, int], None] | None = None) -> Iterator[dict]:
    """Every live lead and project as doc dicts, loaded in chunks (the session is cleared between them);
    `progress(done, total)` hears after each chunk how many of the rows have been read."""
    ref = Reference()
    todo = []
    for model, doc_type in ((Lead, "lead"), (Project, "project")):
        stmt = select(model.id).where(model.deleted_at.is_(None)).order_by(model.id)
        if model is Lead:
            stmt = stmt.where(Lead.merged_into_id.is_(None))
        todo.append((doc_type, list(db.session.scalars(stmt))))
    total, done = sum(len(ids) for _t, ids in todo), 0
    for doc_type, ids in todo:
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            docs, _gone = _LOADERS[doc_type](part, ref)
            yield from docs
            db.session.expunge_all()
            done += len(part)
            if progress:
                progress(done, total)


def rebuild(procs: int = 1, progress: Callable[[int, int], None] | None = None) -> int:
    """Replace the whole index from the database; searches see the old one until the commit. Several
    processes pay off only for a large city (starting them costs about a second). `progress(done, total)`
    hears how many leads and projects have been read (the index commit follows the last one)."""
    if db.session.scalar(select(func.count(Lead.id))) < 5000:
        procs = 1
    upto = search_outbox.high_water()  # every document is read after this: the entries up to it are done
    with reading():  # minutes at city scale: a deferred read, so writers (the scheduler, users) go on meanwhile
        count = search_index().rebuild(all_documents(progress=progress), procs=procs)
    search_outbox.remove([], upto=upto)
    return count


def optimize() -> str:
    search_index().optimize()
    return "optimized"


def reconcile_in_background(app) -> threading.Thread:
    """On start: repair (or rebuild) the index without delaying the first request."""
    def run():
        with app.app_context():
            try:
                search_index().warm()  # the first search after start would otherwise read all facet columns
                log.info("search reconcile on start: %s", reconcile())
            except Exception:  # noqa: BLE001  (logged; the periodic job tries again)
                log.exception("search reconcile on start failed")
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="search-reconcile", daemon=True)
    thread.start()
    return thread


# ---- searching -----------------------------------------------------------------------------------

FILTERS = ("industry_id", "county_id", "kind", "status", "is_key", "type")


def search_leads(actor: User, q: str | None, filters: dict | None = None, sort: str = "relevance", page: int = 1,
                 per_page: int = 20) -> dict:
    """Search leads and projects; API-shaped: {total, page, per_page, sort, items, facets} with facet names
    (kind/status/key labels are lazy strings, translated when rendered)."""
    require(actor, "search.run")
    filters = {k: v for k, v in (filters or {}).items() if k in FILTERS and v not in (None, "")}
    ref = Reference()
    from_database = _filling_from_nothing()
    if from_database:
        result = search_fallback.search(q, filters=filters, sort=sort, page=page, per_page=per_page,
                                        industries=ref.industries)
    else:
        result = search_index().search(q, filters=filters, sort=sort, page=page, per_page=per_page)
    _add_contact_matches(result, contact_search.lead_ids(actor, q, filters), ref)
    items = _with_rows(result.items, ref)
    return {"total": result.total, "page": result.page, "per_page": result.per_page, "sort": result.sort,
            "terms": result.terms, "items": items, "facets": _named_facets(result.facets, ref),
            "from_database": from_database}


def _add_contact_matches(result, lead_ids: list[int], ref: Reference) -> None:
    """Leads found by a contact identifier (crm.services.contact_search) go first on page 1 and are left out of
    the index's items on every page; total and facets count them. A lead the index also matched on another page
    is counted twice in total (the index is not asked again: identifiers rarely match indexed text)."""
    if not lead_ids:
        return
    found = set(lead_ids)
    on_page = {i["id"] for i in result.items if i["type"] == "lead" and i["id"] in found}
    result.items = [i for i in result.items if not (i["type"] == "lead" and i["id"] in found)]
    extra = [i for i in lead_ids if i not in on_page]
    result.total += len(extra)
    if result.page == 1:
        result.items[:0] = [{"type": "lead", "id": i, "name": "", "score": None, "highlights": {}}
                            for i in lead_ids]
    rows = db.session.execute(select(Lead.id, Lead.industry_id, Lead.owner_county_id, Lead.kind, Lead.status,
                                     Lead.is_key).where(Lead.id.in_(extra))).all()
    for _id, industry_id, county_id, kind, status, is_key in rows:
        values = {"industry": [i.id for i in ref.chain(industry_id)], "county": [county_id], "kind": [kind],
                  "status": [status], "is_key": [bool(is_key)]}
        for group, vals in values.items():
            key = "id" if group in ("industry", "county") else "value"
            for value in vals:
                if value is None:
                    continue
                entry = next((f for f in result.facets.setdefault(group, []) if f[key] == value), None)
                if entry is None:
                    result.facets[group].append({key: value, "count": 1})
                else:
                    entry["count"] += 1
    for group in result.facets:
        result.facets[group].sort(key=lambda f: -f["count"])


def index_filling() -> bool:
    """Public face of _filling_from_nothing for health checks."""
    return _filling_from_nothing()


def _filling_from_nothing() -> bool:
    """Is the index being filled from nothing (missing, corrupt, new schema)? Then searches are answered from
    the database (search_fallback) until the rebuild is in: an empty or half-filled index would find nothing."""
    index = search_index()
    if index.path in _filling:
        return True
    if not index.is_empty():
        return False
    return db.session.scalar(select(Lead.id).where(Lead.deleted_at.is_(None)).limit(1)) is not None


def _with_rows(items: list[dict], ref: Reference) -> list[dict]:
    """Page items joined with their rows; a lead deleted or merged since it was indexed is left out."""
    lead_ids = [i["id"] for i in items if i["type"] == "lead"]
    project_ids = [i["id"] for i in items if i["type"] == "project"]
    leads = {lead.id: lead for lead in db.session.scalars(select(Lead).where(
        Lead.id.in_(lead_ids), Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None)))} if lead_ids else {}
    projects = {p.id: p for p in db.session.scalars(select(Project).where(
        Project.id.in_(project_ids), Project.deleted_at.is_(None)))} if project_ids else {}
    out = []
    for item in items:
        row = (leads if item["type"] == "lead" else projects).get(item["id"])
        if row is None:
            continue
        is_lead = item["type"] == "lead"
        industry = ref.industries.get(row.industry_id)
        kind = row.kind if is_lead else "project"
        status = row.status if is_lead else row.stage
        county_id = row.owner_county_id if is_lead else row.county_id
        out.append({**item, "name": row.name, "kind": kind, "kind_label": KIND_LABELS.get(kind, kind),
                    "status": status, "status_label": STATUS_LABELS.get(status, status),
                    "county_id": county_id, "county_name": ref.counties.get(county_id, ""),
                    "industry_name": industry.name if industry else "", "is_key": bool(is_lead and row.is_key),
                    "last_contacted_at": row.last_contacted_at if is_lead else None})
    return out


def _named_facets(facets: dict, ref: Reference) -> dict[str, list[dict]]:
    industry = []
    for f in facets["industry"]:
        row = ref.industries.get(f["id"])
        if row is not None:
            industry.append({"id": row.id, "name": row.name, "count": f["count"], "parent_id": row.parent_id})
    # Hierarchical: each top-level industry followed by its children, both by count.
    tops = [f for f in industry if f["parent_id"] is None or f["parent_id"] not in ref.industries]
    ordered = []
    for top in tops:
        ordered.append(top)
        ordered += [f for f in industry if f["parent_id"] == top["id"]]
    ordered += [f for f in industry if f not in ordered]
    return {
        "industry": ordered,
        "county": [{"id": f["id"], "name": ref.counties.get(f["id"], str(f["id"])), "count": f["count"]}
                   for f in facets["county"]],
        "kind": [{"id": f["value"], "name": KIND_LABELS.get(f["value"], f["value"]), "count": f["count"]}
                 for f in facets["kind"]],
        "status": [{"id": f["value"], "name": STATUS_LABELS.get(f["value"], f["value"]), "count": f["count"]}
                   for f in facets["status"]],
        "is_key": [{"id": f["value"], "name": _l("Key lead") if f["value"] else _l("Not a key lead"),
                    "count": f["count"]} for f in facets.get("is_key", [])],
    }
