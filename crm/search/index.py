"""SearchIndex: writing, searching, facets and reconcile data over one Whoosh index directory."""

from __future__ import annotations

import heapq
import os
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from whoosh import index as windex
from whoosh import query as wq
from whoosh.index import LockError
from whoosh.writing import CLEAR

from .highlight import highlights
from .query import build, parse
from .schema import SCHEMA_VERSION, build_schema, doc_fields, uid_of, unpack

SORTS = ("relevance", "last_contact", "name")
MAX_PER_PAGE = 100
MAX_WINDOW = 10_000  # deepest result a page may reach; deeper paging is not a search use case
_VERSION_FILE = "crm_schema_version"
# Pack tuple positions (see schema.unpack).
P_TYPE, P_ID, P_VERSION, P_COUNTY, P_KIND, P_STATUS, P_KEY, P_INDUSTRY, P_SORT, P_LAST = range(10)


class IndexBusy(Exception):
    """Another writer held the index lock past the timeout; the write can be retried or reconciled later."""


@dataclass
class SearchResult:
    total: int
    items: list[dict]
    facets: dict[str, list[dict]]
    page: int
    per_page: int
    sort: str = "relevance"
    terms: list[str] = field(default_factory=list)  # the clauses understood, for "searched for …" hints


def _empty_facets() -> dict[str, list[dict]]:
    return {"industry": [], "county": [], "kind": [], "status": []}


class SearchIndex:
    def __init__(self, path: str | os.PathLike, *, lock_timeout: float = 10.0):
        self.path = os.fspath(path)
        self.lock_timeout = lock_timeout
        self._packs: dict[str, list] = {}  # segment id -> unpacked column, built once per segment
        self._packs_lock = threading.Lock()
        os.makedirs(self.path, exist_ok=True)
        if windex.exists_in(self.path) and self._version_on_disk() == SCHEMA_VERSION:
            self._ix = windex.open_dir(self.path)
        else:
            # Missing or built by another schema: start empty; reconcile or `flask crm reindex` refills it.
            self._ix = windex.create_in(self.path, build_schema())
            with open(os.path.join(self.path, _VERSION_FILE), "w", encoding="ascii") as fh:
                fh.write(SCHEMA_VERSION)

    def _version_on_disk(self) -> str | None:
        try:
            with open(os.path.join(self.path, _VERSION_FILE), encoding="ascii") as fh:
                return fh.read().strip()
        except OSError:
            return None

    # ---- writing -------------------------------------------------------------------------------

    def _writer(self, **kwargs):
        try:
            return self._ix.writer(timeout=self.lock_timeout, delay=0.05, **kwargs)
        except LockError as exc:
            raise IndexBusy(f"search index at {self.path} is locked by another writer") from exc

    def upsert(self, docs: list[dict]) -> None:
        """Add or replace documents. Analysis happens before the lock is taken, so the lock is held
        only for the write itself; the commit does not merge segments (optimize() does that)."""
        # One writer cannot replace a document it added itself (two update_document calls for one id
        # leave two documents), so keep only the last of each id.
        latest = {}
        for doc in docs:
            fields = doc_fields(doc)
            latest[fields["uid"]] = fields
        if not latest:
            return
        writer = self._writer()
        try:
            for fields in latest.values():
                writer.update_document(**fields)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(merge=False)

    def delete(self, doc_type: str, ids: Iterable[int]) -> None:
        uids = {uid_of(doc_type, i) for i in ids}
        if not uids:
            return
        writer = self._writer()
        try:
            for uid in uids:
                writer.delete_by_term("uid", uid)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(merge=False)

    def rebuild(self, docs: Iterable[dict]) -> int:
        """Replace the whole index with docs; readers see the old index until the commit. Returns the count."""
        writer = self._writer(limitmb=128)
        seen: set[str] = set()
        repeats: dict[str, dict] = {}
        try:
            for doc in docs:
                fields = doc_fields(doc)
                if fields["uid"] in seen:
                    repeats[fields["uid"]] = fields  # replaced after the commit: last one wins
                    continue
                seen.add(fields["uid"])
                writer.add_document(**fields)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        if repeats:
            writer = self._writer()
            for fields in repeats.values():
                writer.update_document(**fields)
            writer.commit(merge=False)
        return len(seen)

    def optimize(self) -> None:
        """Merge all segments into one. Slow and holds the write lock: run at night, never in a request."""
        writer = self._writer()
        writer.commit(optimize=True)

    # ---- reading -------------------------------------------------------------------------------

    def doc_count(self) -> int:
        return self._ix.doc_count()

    def _leaf_packs(self, searcher) -> list[tuple[object, int, list]]:
        """(segment reader, docnum offset, unpacked column) for each segment, cached by segment id."""
        out = []
        live = {}
        for reader, offset in searcher.reader().leaf_readers():
            seg_id = reader.segment().segment_id() if reader.segment() else f"mem{id(reader)}"
            packs = self._packs.get(seg_id)
            if packs is None:
                if reader.has_column("pack"):
                    column = reader.column_reader("pack")
                    packs = [unpack(column[n]) for n in range(reader.doc_count_all())]
                else:
                    packs = [None] * reader.doc_count_all()
            live[seg_id] = packs
            out.append((reader, offset, packs))
        with self._packs_lock:
            self._packs = live  # forget merged-away segments
        return out

    def stored_versions(self) -> dict[tuple[str, int], str]:
        """(type, id) -> version of every live document, to compare against the database."""
        out = {}
        with self._ix.searcher() as searcher:
            for reader, _offset, packs in self._leaf_packs(searcher):
                for docnum, pack in enumerate(packs):
                    if pack is not None and not reader.is_deleted(docnum):
                        out[(pack[P_TYPE], pack[P_ID])] = pack[P_VERSION]
        return out

    def search(self, q: object, *, filters: dict | None = None, sort: str = "relevance", page: int = 1,
               per_page: int = 20) -> SearchResult:
        """Run a user's query string; never raises on what a user can type (see query.parse)."""
        page = max(1, _int(page, 1))
        per_page = min(MAX_PER_PAGE, max(1, _int(per_page, 20)))
        sort = sort if sort in SORTS else "relevance"
        parsed = parse(q)
        result = SearchResult(0, [], _empty_facets(), page, per_page, sort,
                              [c.text for c in parsed.positive])
        filter_q, valid = _filter_query(filters or {})
        if not valid:
            return result
        positive, negative = build(parsed)
        if positive is None:
            if filter_q is None:
                return result  # nothing typed and nothing chosen: never list everything
            positive = wq.Every()
            if sort == "relevance":
                sort = result.sort = "name"
        matcher_q = positive if negative is None else wq.AndNot(positive, negative)
        everything = matcher_q if filter_q is None else wq.And([matcher_q, filter_q])
        window = min(page * per_page, MAX_WINDOW)
        with self._ix.searcher() as searcher:
            leaves = self._leaf_packs(searcher)
            packs = [p for _r, _o, ps in leaves for p in ps]
            if sort == "relevance":
                # One scored pass gives the page, the total and the facet input: a second, unscored pass
                # over the same matchers would double the work on broad queries.
                hits = searcher.search(matcher_q, filter=filter_q, limit=None, terms=False)
                matched = list(hits.docs())
                ranked = [(h.docnum, round(h.score, 4)) for h in hits[(page - 1) * per_page : page * per_page]]
                start = 0
            else:
                matched = list(searcher.docs_for_query(everything))
                ranked = [(d, None) for d in _sorted_window(packs, matched, sort, window)]
                start = (page - 1) * per_page
            result.total = len(matched)
            result.facets = _facets(packs, matched)
            for docnum, score in ranked[start : start + per_page]:
                stored = searcher.stored_fields(docnum)
                result.items.append({
                    "type": stored.get("type"), "id": stored.get("id"), "name": stored.get("name", ""),
                    "score": score, "highlights": highlights(stored, parsed.positive),
                })
        return result


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _filter_query(filters: dict) -> tuple[wq.Query | None, bool]:
    """Whoosh query for the filters, and False when a value cannot match anything (e.g. a non-number id)."""
    terms = []
    for name, fieldname in (("industry_id", "industry_ids"), ("county_id", "county_id")):
        value = filters.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            return None, False
        try:
            terms.append(wq.Term(fieldname, str(int(value))))
        except (TypeError, ValueError, OverflowError):
            return None, False
    for name in ("kind", "status", "type"):
        value = filters.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            return None, False
        terms.append(wq.Term(name, value))
    if filters.get("is_key") is not None:
        terms.append(wq.Term("is_key", "1" if filters["is_key"] else "0"))
    if not terms:
        return None, True
    return (terms[0] if len(terms) == 1 else wq.And(terms)), True


def _facets(packs: list, matched: list[int]) -> dict[str, list[dict]]:
    industry: Counter = Counter()
    county: Counter = Counter()
    kind: Counter = Counter()
    status: Counter = Counter()
    for docnum in matched:
        p = packs[docnum]
        if p is None:
            continue
        industry.update(p[P_INDUSTRY])  # ancestors are in the list too: the counts are hierarchical
        if p[P_COUNTY] is not None:
            county[p[P_COUNTY]] += 1
        if p[P_KIND]:
            kind[p[P_KIND]] += 1
        if p[P_STATUS]:
            status[p[P_STATUS]] += 1

    def ranked(counter: Counter, key: str) -> list[dict]:
        return [{key: k, "count": n} for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))]

    return {"industry": ranked(industry, "id"), "county": ranked(county, "id"),
            "kind": ranked(kind, "value"), "status": ranked(status, "value")}


def _sorted_window(packs: list, matched: list[int], sort: str, window: int) -> list[int]:
    if sort == "last_contact":
        def key(d):
            last = packs[d][P_LAST] if packs[d] else None
            return (last is None, -(last or 0.0), d)
    else:
        def key(d):
            p = packs[d]
            return (p[P_SORT] if p else "", p[P_ID] if p else 0, d)
    return heapq.nsmallest(window, matched, key=key)
