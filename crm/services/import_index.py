"""An import's new leads into the search index: in large batches, one Whoosh segment each, analysed in worker
processes while the import goes on (crm.services.import_runner feeds it; nothing else calls this)."""
from __future__ import annotations

import logging
import multiprocessing
import os
from collections import defaultdict
from concurrent.futures import Future, ProcessPoolExecutor
from types import SimpleNamespace

from flask import current_app

from crm.models import LeadKind, LeadStatus
from crm.search.index import add_new_at

try:  # the search index is another feature; imports work without it
    from crm.services import indexing
except ImportError:  # pragma: no cover
    indexing = None

log = logging.getLogger(__name__)

# New leads go into the search index in batches this large, one Whoosh segment each (SearchIndex.add_new: built
# outside the index lock, listed without a merge). 100,000 rows make ten segments, which MERGE_SMALL leaves alone
# (it would merge 10,000-document segments only once there are 24 of them; the nightly optimize merges all).
# Larger batches hold more documents in memory and leave a worker idle longer at the end; smaller ones make more
# segments.
INDEX_BATCH = 10_000
# Once a file has more new leads than one batch, batches are analysed in worker processes while this thread goes
# on writing rows (Whoosh analysis is pure Python; the import thread alone would spend most of its time there).
INDEX_PROCESSES = 2


# What indexing.lead_document reads of a lead, and the column defaults of those an import row may leave out.
_READ = ("id", "name", "updated_at", "industry_id", "home_county_id", "origin_region", "notes", "owner_county_id",
         "kind", "status", "is_key", "last_contacted_at", "pinyin_full")
_DEFAULTS = {"industry_id": None, "home_county_id": None, "origin_region": None, "notes": None,
             "owner_county_id": None, "kind": LeadKind.ENTERPRISE.value, "status": LeadStatus.NEW.value,
             "is_key": False, "last_contacted_at": None, "pinyin_full": None}


class IndexFeed:
    """New leads of one import, added to the search index INDEX_BATCH at a time with SearchIndex.add_new (the
    leads cannot be in the index yet; one that was edited and indexed meanwhile keeps that document). Documents
    are built from the values each chunk inserted, after its commit, and carry the versions reconcile expects (a
    lead merged or deleted before its batch is added shows as extra until reconcile; results never show it). A file
    with more than one batch has its batches analysed in worker processes (spawned, not forked: the server has
    threads) while the import goes on; a smaller one is indexed in this thread at the end. A failure is logged
    and left to reconcile(), as for every other index update."""

    def __init__(self, batch_id: int):
        self.batch_id = batch_id
        self.pending: list[dict] = []
        self.futures: list[Future] = []
        self.queued: dict[Future, list[dict]] = {}  # documents of batches a worker has not started yet
        self.pool = None
        self.ref = None
        self.path = None

    def _start_pool(self) -> None:
        processes = max(1, min(INDEX_PROCESSES, os.cpu_count() or 1))
        try:
            self.path = os.path.abspath(current_app.config["SEARCH_INDEX_PATH"])
            indexing.search_index()  # created (or recreated for a new schema) here, never in the workers
            self.pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"))
        except Exception:  # noqa: BLE001  (no worker processes: index in this thread instead)
            log.exception("import %s: no index worker processes; indexing in the import thread", self.batch_id)
            self.pool = None

    def add(self, rows: list[dict], contacts: list[dict], tags: list[dict]) -> None:
        """The leads one chunk inserted (after its commit): their documents are built from the values inserted,
        not read back from the database (that cost 0.11 ms of the import thread per lead)."""
        if indexing is None or not rows:
            return
        try:
            self.pending += self._documents(rows, contacts, tags)
        except Exception:  # noqa: BLE001  (the rows are committed; reconcile() repairs the index later)
            log.exception("search documents of import %s failed", self.batch_id)
            return
        if len(self.pending) >= INDEX_BATCH:
            if self.pool is None and self.path is None:
                self._start_pool()
            self.flush()

    def flush(self) -> None:
        docs, self.pending = self.pending, []
        if not docs or indexing is None:
            return
        try:
            if self.pool is not None:
                self._submit(docs)
            else:
                indexing.search_index().add_new(docs)
        except Exception:  # noqa: BLE001  (the rows are committed; reconcile() repairs the index later)
            log.exception("search index update after import %s failed", self.batch_id)

    def _submit(self, docs: list[dict]) -> None:
        future = self.pool.submit(add_new_at, self.path, docs)
        self.queued[future] = docs
        future.add_done_callback(lambda f: self.queued.pop(f, None))
        self.futures.append(future)

    def _balance_tail(self) -> None:
        """At the end of the file: when an odd number of batches wait for a worker, the last would run alone while
        the other worker idles (~5 s of one core per 10,000 leads); run it as two halves instead (one more segment)."""
        waiting = [f for f in self.futures if f in self.queued]
        if len(waiting) % 2 == 0:
            return
        last = waiting[-1]
        docs = self.queued.get(last)
        if docs is None or not last.cancel():  # done or started meanwhile
            return
        self.queued.pop(last, None)
        self.futures.remove(last)
        half = len(docs) // 2
        for part in (docs[:half], docs[half:]):
            if part:
                self._submit(part)

    def _documents(self, rows: list[dict], contacts: list[dict], tags: list[dict]) -> list[dict]:
        """indexing.lead_document of each inserted lead, given a stand-in with the values the row was inserted with
        and the columns' defaults for the rest (tests/services/test_import_index.py compares the two)."""
        self.ref = self.ref or indexing.Reference()
        by_lead: dict[int, list] = defaultdict(list)
        for c in contacts:
            by_lead[c["lead_id"]].append(SimpleNamespace(name=c.get("name"), title=c.get("title"),
                                                         updated_at=c.get("updated_at")))
        tags_of: dict[int, list[str]] = defaultdict(list)
        for t in tags:
            tags_of[t["lead_id"]].append(t["tag"])
        docs = []
        for row in rows:
            lead = SimpleNamespace(**{**_DEFAULTS, **{k: row.get(k) for k in _READ if k in row}})
            lead.contacts, lead.tags = by_lead.get(row["id"], []), tags_of.get(row["id"], [])
            docs.append(indexing.lead_document(lead, self.ref, [], None))
        return docs

    def close(self) -> None:
        try:
            self.flush()
            if self.pool is not None:
                self._balance_tail()
        finally:
            for future in self.futures:
                try:
                    future.result()
                except Exception:  # noqa: BLE001
                    log.exception("search index update after import %s failed", self.batch_id)
            if self.pool is not None:
                self.pool.shutdown(wait=True)
                self.pool = None
            self.futures = []
            self.queued = {}
            if indexing is not None and self.path is not None:
                indexing.search_index()  # this process's searchers see the new segments at their next search
