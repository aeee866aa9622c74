"""SearchIndex: writing, searching, facets and reconcile data over one Whoosh index directory."""

from __future__ import annotations

import gc
import heapq
import logging
import os
import pickle
import shutil
import tempfile
import threading
import time
import warnings
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

from whoosh import index as windex
from whoosh import query as wq
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.index import LockError
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.system import _INT_SIZE, _LONG_SIZE, pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte

from .highlight import highlights, needles
from .query import build, parse
from .schema import EXISTS, POSITIONS, SCHEMA_VERSION, build_schema, doc_fields, field_terms, uid_of, unpack
from .sets import SegmentCache, SetEvaluator, bits_of, positions

log = logging.getLogger(__name__)

SORTS = ("relevance", "last_contact", "name")
MAX_PER_PAGE = 100
MAX_WINDOW = 10_000  # deepest result a page may reach; deeper paging is not a search use case
SMALL_SEGMENTS = 12
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
    return {"industry": [], "county": [], "kind": [], "status": [], "is_key": []}


class SearchIndex:
    def __init__(self, path: str | os.PathLike, *, lock_timeout: float = 10.0):
        self.path = os.fspath(path)
        self.lock_timeout = lock_timeout
        self._packs: dict[str, list] = {}  # segment id -> unpacked column, built once per segment
        self._packs_lock = threading.Lock()
        self._local = threading.local()  # one searcher per thread, refreshed after writes
        self._view: _View | None = None
        self._columns: dict[str, _Columns] = {}  # segment id -> its facet/sort columns
        self._segment_leaves = SegmentCache()  # (segment id, leaf) -> bitset, kept across writes
        self._view_lock = threading.Lock()
        os.makedirs(self.path, exist_ok=True)
        _remove_abandoned_staging(os.path.dirname(os.path.abspath(self.path)))
        self._ix = None
        if self._version_on_disk() == SCHEMA_VERSION:
            with warnings.catch_warnings():  # Whoosh leaves a bad file open when it fails to read it
                warnings.simplefilter("ignore", ResourceWarning)
                self._ix = self._open_existing()
        if self._ix is None:
            _clear_dir(self.path)  # a leftover table of contents of a higher generation would win over a new one
            # Missing, corrupt or built by another schema: start empty; reconcile or `flask crm reindex` refills.
            self._ix = windex.create_in(self.path, build_schema())
            with open(os.path.join(self.path, _VERSION_FILE), "w", encoding="ascii") as fh:
                fh.write(SCHEMA_VERSION)

    def _open_existing(self):
        try:
            ix = windex.open_dir(self.path)
            ix.doc_count()
            return ix
        except windex.EmptyIndexError:
            return None
        except Exception as exc:  # noqa: BLE001  (a corrupt index is derived data: start again, reconcile refills)
            # Only text in the log record: the exception's traceback holds the file Whoosh left open.
            log.error("search index at %s is unreadable (%s); recreating it empty", self.path,
                      f"{type(exc).__name__}: {exc}")
            return None
        finally:
            gc.collect()

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
        _commit(writer)

    def add_new(self, docs: list[dict]) -> int:
        """Bulk add documents that should not be in the index yet (an import's new leads): analysed and written
        as one segment in a private staging index, without the write lock; then, under the lock, the segment
        is moved in and listed — no merge, the lock held for milliseconds. A uid the index already holds (edited
        and indexed meanwhile) keeps its document: the staged copy is marked deleted. Returns docs added.
        The segment is written by _write_segment (no posting pool: nothing spills to disk however large the batch)."""
        staged = {}
        for doc in docs:
            fields = doc_fields(doc)
            staged[fields["uid"]] = fields  # last one wins, as in upsert
        if not staged:
            return 0
        staging = tempfile.mkdtemp(prefix=".staging-", dir=os.path.dirname(os.path.abspath(self.path)))
        try:
            six = windex.create_in(staging, self._ix.schema)
            _write_segment(six, staged.values())
            (segment,) = six._segments()
            docnums = {uid: n for n, uid in enumerate(staged)}
            writer = self._writer()
            try:
                with writer.reader() as reader:
                    present = [uid for uid in staged if ("uid", uid) in reader
                               and reader.postings("uid", uid).is_active()]  # deleted documents do not count
                for uid in present:
                    segment.delete_document(docnums[uid])
                prefix = segment.segment_id()
                for name in os.listdir(staging):
                    if name.startswith(prefix):
                        os.replace(os.path.join(staging, name), os.path.join(self.path, name))
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=lambda _writer, segments: [*segments, segment])
            return len(staged) - len(present)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

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
        _commit(writer)

    def rebuild(self, docs: Iterable[dict], procs: int = 1) -> int:
        """Replace the whole index with docs; readers see the old index until the commit. Returns the count.
        Documents are analysed and written REBUILD_BATCH at a time, each batch one segment of a private staging
        index (in `procs` spawned processes when procs > 1), with a posting pool large enough never to spill to
        disk: Whoosh's own writer spilled 100,000 leads into ~25 sorted runs, pickling every posting out and back.
        Then, under the write lock for milliseconds, the segments are moved in and replace the old ones."""
        staging = tempfile.mkdtemp(prefix=".staging-", dir=os.path.dirname(os.path.abspath(self.path)))
        pool = None
        if procs > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(max_workers=procs, mp_context=multiprocessing.get_context("spawn"))
        try:
            seen: set[str] = set()
            repeats: dict[str, dict] = {}
            built: list[str] = []
            pending: list = []
            batch: list[dict] = []

            def flush():
                if pool is None:
                    built.append(_stage_segment(staging, batch))
                    return
                while len(pending) >= procs:  # at most one batch waiting per process: memory stays bounded
                    built.append(pending.pop(0).result())
                pending.append(pool.submit(_stage_segment, staging, batch))

            for doc in docs:
                uid = uid_of(str(doc["type"]).strip(), doc["id"])
                if uid in seen:
                    repeats[uid] = doc  # replaced after the commit: last one wins
                    continue
                seen.add(uid)
                batch.append(doc)
                if len(batch) >= REBUILD_BATCH:
                    flush()
                    batch = []
            if batch:
                flush()
            built += [f.result() for f in pending]
            writer = self._writer()
            try:
                segments = []
                for directory in built:
                    for segment in windex.open_dir(directory)._segments():
                        prefix = segment.segment_id()
                        for name in os.listdir(directory):
                            if name.startswith(prefix):
                                os.replace(os.path.join(directory, name), os.path.join(self.path, name))
                        segments.append(segment)
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=lambda _writer, _old: segments)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            shutil.rmtree(staging, ignore_errors=True)
        if repeats:
            self.upsert(list(repeats.values()))
        return len(seen)

    def optimize(self) -> None:
        """Merge all segments into one. Slow and holds the write lock: run at night, never in a request."""
        writer = self._writer()
        writer.commit(optimize=True)

    # ---- reading -------------------------------------------------------------------------------

    def warm(self) -> None:
        """Read every segment's facet and sort columns now (about a second at 100,000 documents) rather than in
        the first user's search."""
        self._current()

    def doc_count(self) -> int:
        return self._ix.doc_count()

    def is_empty(self) -> bool:
        """No live document, as this thread's searcher sees it (cheap: doc_count() opens every segment)."""
        searcher, _view = self._current()
        return searcher.doc_count() == 0

    def _current(self):
        """This thread's searcher (refreshed when the index changed) and the view of its generation."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is None or not searcher.up_to_date():
            searcher = Searcher(self._open_reader(searcher.reader() if searcher is not None else None),
                                fromindex=self._ix)
        self._local.searcher = searcher
        generation = searcher.reader().generation()
        key = _layout(searcher)
        view = self._view
        if view is None or view.generation != generation or view.key != key:
            with self._view_lock:
                view = self._view
                if view is None or view.generation != generation or view.key != key:
                    view = self._view = _View(searcher, generation, key, self._leaf_columns(searcher))
        if view.searcher is not searcher:
            # Another thread built the view; leaf readers and subsearchers must be this thread's own.
            view = view.for_searcher(searcher)
        return searcher, view

    def _open_reader(self, previous):
        """A reader of the latest generation that keeps the previous reader's segment readers where their
        segment is unchanged (same id, same deletions): after a write only the new segment — and a segment that
        lost a replaced document — is opened (each costs milliseconds of file opening and column offsets).
        Not Whoosh's reader(reuse=…): it keeps merged-away segments and stale deletion sets (a replaced
        document would match twice)."""
        reusable = {}
        for reader, _offset in (_reader_leaves(previous) if previous is not None else []):
            segment = reader.segment()
            if segment is not None and not reader.is_closed:
                reusable[segment.segment_id()] = reader
        for attempt in range(10):
            readers, opened = [], []
            try:
                toc = self._ix._read_toc()
                for segment in toc.segments:
                    reader = reusable.get(segment.segment_id())
                    if reader is None or reader.segment().deleted_count() != segment.deleted_count():
                        reader = SegmentReader(self._ix.storage, toc.schema, segment, generation=toc.generation)
                        opened.append(reader)
                    readers.append(reader)
                break
            except OSError:
                # A writer's commit removed the table of contents just listed, or a merged-away segment, before
                # it was opened (Whoosh's own reader() retries the same way): read the newer contents again.
                for reader in opened:
                    reader.close()
                if attempt == 9:
                    raise
                time.sleep(0.01)
        kept = {id(r) for r in readers}
        for reader in [r for r in reusable.values() if id(r) not in kept]:
            reader.close()  # merged away, or replaced by a reader with the newer deletions
        if not readers:
            return EmptyReader(toc.schema)
        return MultiReader(readers, generation=toc.generation)

    def _leaf_packs(self, searcher) -> list[tuple[object, int, list]]:
        """(segment reader, docnum offset, unpacked column) for each segment, cached by segment id."""
        out = []
        live = {}
        for reader, offset in _leaves(searcher):
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

    def _leaf_columns(self, searcher) -> list[_Columns]:
        out = []
        live = {}
        for reader, _offset, packs in self._leaf_packs(searcher):
            seg_id = reader.segment().segment_id() if reader.segment() else f"mem{id(reader)}"
            cols = self._columns.get(seg_id) or _Columns(packs)
            live[seg_id] = cols
            out.append(cols)
        self._columns = live
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
        window = min(page * per_page, MAX_WINDOW)
        searcher, view = self._current()
        sets = SetEvaluator(searcher, view, self._segment_leaves)
        matched = sets.docs(positive)
        if negative is not None and matched:
            matched &= ~sets.docs(negative)
        if filter_q is not None and matched:
            matched &= sets.docs(filter_q)
        result.total = matched.bit_count()
        result.facets = view.facets(matched)
        if sort == "relevance":
            ranked = sets.rank(positive, matched, window)
        else:
            ranked = [(d, None) for d in view.take(matched, window, "recency" if sort == "last_contact" else "name")]
        found = needles(parsed.positive)
        for docnum, score in ranked[(page - 1) * per_page : page * per_page]:
            stored = searcher.stored_fields(docnum)
            result.items.append({
                "type": stored.get("type"), "id": stored.get("id"), "name": stored.get("name", ""),
                "score": score, "highlights": highlights(stored, parsed.positive, found),
            })
        return result


def add_new_at(path: str, docs: list[dict]) -> int:
    """SearchIndex(path).add_new(docs): the entry point of an import's index worker process, which then imports
    only crm.search (the import's own module would bring Flask, SQLAlchemy and the models: ~1 s per worker)."""
    return SearchIndex(path).add_new(docs)


REBUILD_BATCH = 20_000  # documents per segment of a rebuild: 100,000 leads make 5 segments


STAGING_ABANDONED = 6 * 3600  # seconds untouched after which a staging directory is a crashed write's leftover


def _remove_abandoned_staging(parent: str, now: float | None = None) -> None:
    """Delete `.staging-*` directories a killed rebuild or import left beside the index (a live one is touched
    every few seconds; a rebuild of 100,000 leads takes about two minutes)."""
    now = time.time() if now is None else now
    try:
        names = [n for n in os.listdir(parent) if n.startswith(".staging-")]
    except OSError:
        return
    for name in names:
        path = os.path.join(parent, name)
        try:
            if now - os.path.getmtime(path) > STAGING_ABANDONED:
                shutil.rmtree(path, ignore_errors=True)
                log.warning("removed %s, left by an interrupted index write", path)
        except OSError:
            continue


def _stage_segment(staging: str, docs: list[dict]) -> str:
    """Analyse docs and write them as the one segment of a new index in a directory under staging (runs in a
    worker process for a parallel rebuild); returns the directory."""
    directory = tempfile.mkdtemp(dir=staging)
    _write_segment(windex.create_in(directory, build_schema()), (doc_fields(doc) for doc in docs))
    return directory


def _write_segment(six, docs: Iterable[dict]) -> None:
    """Write docs (doc_fields dicts) as the one new segment of the fresh index six, as Whoosh's add_document and
    commit would, bar the posting pool: Whoosh puts every posting in a pool as a tuple, sorts them all and then
    adds them one call chain at a time (~4 µs each, ~175 per lead). Here each term's document numbers are
    collected in a list (documents come in order, so they are already sorted) and written a block at a time;
    terms stay str until written (UTF-8 byte order is code point order, so they sort the same).
    The files are the same (tests/unit/test_search_segment.py compares postings, stored fields and columns).
    No field is scorable (schema._unscored), so there are no field lengths to keep."""
    writer = six.writer(limitmb=16)  # the pool stays empty
    try:
        schema = writer.schema
        perdoc = writer.perdocwriter
        # fieldname -> term -> docnums (EXISTS) or (docnums, weights, values) (POSITIONS: text; others: bytes)
        postings: dict[str, tuple[str | None, dict]] = {}
        docnum = writer.docnum
        for fields in docs:
            perdoc.start_doc(docnum)
            for fieldname in sorted(fields):
                value = fields[fieldname]
                if value is None or fieldname.startswith("_"):
                    continue
                field = schema[fieldname]
                if field.scorable or field.vector or field.separate_spelling():  # pragma: no cover
                    raise ValueError(f"_write_segment cannot write field {fieldname!r} (lengths/vectors/spelling)")
                if field.indexed:
                    kind, found = field_terms(field, value)
                    slot = postings.get(fieldname)
                    if slot is None:
                        slot = postings[fieldname] = (kind, {})
                    elif slot[0] != kind:  # pragma: no cover  (one field, one analyser)
                        raise ValueError(f"field {fieldname!r} analysed two ways")
                    terms = slot[1]
                    if kind == EXISTS:
                        for term in found:
                            docs_of = terms.get(term)
                            if docs_of is None:
                                terms[term] = [docnum]
                            else:
                                docs_of.append(docnum)
                    elif kind == POSITIONS:
                        encode = field.format.encode
                        for term, poslist in found.items():
                            entry = terms.get(term)
                            if entry is None:
                                entry = terms[term] = ([], [], [])
                            entry[0].append(docnum)
                            entry[1].append(float(len(poslist)))
                            entry[2].append(encode(poslist))
                    else:
                        for tbytes, _freq, weight, vbytes in found:
                            entry = terms.get(tbytes)
                            if entry is None:
                                entry = terms[tbytes] = ([], [], [])
                            entry[0].append(docnum)
                            entry[1].append(weight)
                            entry[2].append(vbytes)
                perdoc.add_field(fieldname, field, value if field.stored else None, 0)
                column = field.column_type
                if column:
                    perdoc.add_column_value(fieldname, column, field.to_column_value(value))
            perdoc.finish_doc()
            docnum += 1
        writer.docnum = docnum
        writer._added = True
        fw = writer.fieldwriter
        for fieldname in sorted(postings):
            field = schema[fieldname]
            kind, terms = postings.pop(fieldname)
            fb = field.format.field_boost
            fw.start_field(fieldname, field)
            term_writer = _TermWriter(fw)
            for term in sorted(terms):
                if kind == EXISTS:
                    ids = terms[term]
                    term_writer.write(term.encode("utf-8"), ids, [fb] * len(ids), None)
                elif kind == POSITIONS:
                    ids, counts, values = terms[term]
                    term_writer.write(term.encode("utf-8"), ids, [c * fb for c in counts], values)
                else:
                    term_writer.write(term, *terms[term])
            fw.finish_field()
    except BaseException:
        writer.cancel()
        raise
    writer.commit(merge=False)


_EXTENT_SIZE = _LONG_SIZE + _INT_SIZE  # W3TermInfo.to_bytes ends with the postings' offset and length


class _TermWriter:
    """W3FieldWriter.start_term, add per posting and finish_term for one field of a new segment, with the
    postings writer's blocks built in one go per block: Whoosh spends ~15 µs of calls per term, and a lead has
    ~19 terms no other lead has (its pinyin keys and n-grams). Writes exactly what those calls write
    (tests/unit/test_search_segment.py compares the segment files byte for byte)."""

    def __init__(self, fw):
        self.fw = fw
        pw = fw._postwriter
        self.postfile = pw._postfile
        self.limit = pw._blocklimit
        self.comp = pw._compression
        self.key_head = pack_ushort(fw._fieldid)
        self.add_term = fw._tindex.add
        fixedsize = fw._format.fixed_value_size()
        self.values_kind = "tuple" if fixedsize is None or fixedsize < 0 else "none" if fixedsize == 0 else "join"
        self.no_length = length_to_byte(None)
        self.zero_length = length_to_byte(0)
        self.single: dict[tuple, tuple[bytes, bytes]] = {}

    def _encode(self, ids: list[int], weights: list[float], values: list | None) -> tuple[bytes, bytes]:
        """(the term's posting bytes, its term info bytes bar the extent)."""
        limit, comp = self.limit, self.comp
        info = W3TermInfo()
        out = [WHOOSH3_HEADER_MAGIC]
        n = len(ids)
        for start in range(0, n, limit):
            end = start + limit
            block_ids = ids[start:end]
            block_weights = array("f", weights[start:end])
            max_weight = max(0, max(weights[start:end]))
            # W3TermInfo.add_block (no field lengths: min stays None, max stays 0)
            info._weight += sum(block_weights)
            info._df += len(block_ids)
            info._maxweight = max(info._maxweight, max_weight)
            if info._minid is None:
                info._minid = block_ids[0]
            info._maxid = block_ids[-1]
            # W3PostingsWriter._write_block
            deltas, base = [], 0
            for docnum in block_ids:
                deltas.append(docnum - base)
                base = docnum
            if all(w == 1.0 for w in block_weights):
                mini_weights = None
            elif all(w == block_weights[0] for w in block_weights):
                mini_weights = block_weights[0]
            else:
                mini_weights = tuple(block_weights)
            block_values = [v for v in values[start:end] if v] if values is not None else []
            if self.values_kind == "tuple":
                mini_values = tuple(block_values)
            elif self.values_kind == "none":
                mini_values = None
            else:
                mini_values = b"".join(block_values)
            databytes = pickle.dumps((tuple(deltas), mini_weights, mini_values), 2)
            if comp:
                databytes = zlib.compress(databytes, comp)
            infobytes = pickle.dumps((len(block_ids), block_ids[-1], max_weight, comp, self.no_length,
                                      self.zero_length), 2)
            blocklength = len(infobytes) + len(databytes)
            out += [pack_int(-blocklength if end >= n else blocklength), infobytes, databytes]
        data = b"".join(out)
        info.set_extent(0, len(data))
        return data, info.to_bytes()[:-_EXTENT_SIZE]

    def write(self, btext: bytes, ids: list[int], weights: list[float], values: list | None) -> None:
        if len(ids) == 1:
            # Most terms are one lead's own (its pinyin keys, n-grams): their bytes depend only on that posting.
            key = (ids[0], weights[0], values[0] if values else None)
            cached = self.single.get(key)
            if cached is None:
                cached = self.single[key] = self._encode(ids, weights, values)
            data, head = cached
        else:
            data, head = self._encode(ids, weights, values)
        offset = self.postfile.tell()
        self.postfile.write(data)
        self.add_term(self.key_head + btext, head + pack_long(offset) + pack_int(len(data)))


def _clear_dir(path: str) -> None:
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isfile(full) and (name.endswith((".toc", ".seg", ".pst", ".trm", ".lock", ".tmp", ".del",
                                                    ".fdt", ".fdi", ".fln", ".vps", ".vpc"))
                                     or name.startswith(("_MAIN", "MAIN")) or name == _VERSION_FILE):
            os.remove(full)


def _commit(writer) -> None:
    """Commit without merging, unless small segments piled up: then merge just those (milliseconds; the big
    segment is left to the nightly optimize, which holds the lock for seconds)."""
    if len(getattr(writer, "segments", ())) > SMALL_SEGMENTS:
        writer.commit()  # Whoosh's MERGE_SMALL
    else:
        writer.commit(merge=False)


def _leaves(searcher) -> list[tuple[object, int]]:
    return _reader_leaves(searcher.reader())


def _reader_leaves(reader) -> list[tuple[object, int]]:
    return reader.leaf_readers() if not reader.is_atomic() else [(reader, 0)]


def _layout(searcher) -> tuple:
    return tuple((r.segment().segment_id() if r.segment() else id(r), r.doc_count()) for r, _o in _leaves(searcher))


WEEK = 7 * 24 * 3600.0
DIRECT = 4096  # a set this small is listed and sorted whole; bigger ones are walked bucket by bucket


class _Columns:
    """One segment's facet and sort values (built once per segment): per value, the bitset of its documents;
    sort keys as flat lists by segment docnum; and documents bucketed by week of last contact and by the first
    letter of the sort name, so the first page of a large result is found without sorting all of it."""

    def __init__(self, packs: list):
        none = (None, None, None, None, None, None, False, (), "", None)
        packs = [p if p is not None else none for p in packs]
        groups: dict[str, dict] = {"county": {}, "kind": {}, "status": {}, "is_key": {}, "industry": {},
                                   "recency": {}, "name": {}}
        county, kind, status = groups["county"], groups["kind"], groups["status"]
        key_flag, industry, weeks, letters = groups["is_key"], groups["industry"], groups["recency"], groups["name"]
        self.name = []
        self.recency = []
        for n, p in enumerate(packs):
            county.setdefault(p[P_COUNTY], []).append(n)
            kind.setdefault(p[P_KIND], []).append(n)
            status.setdefault(p[P_STATUS], []).append(n)
            key_flag.setdefault(bool(p[P_KEY]), []).append(n)
            for i in p[P_INDUSTRY] or ():
                industry.setdefault(i, []).append(n)
            last = p[P_LAST]
            weeks.setdefault(-int(last // WEEK) if last is not None else _NEVER, []).append(n)
            sort_name = (p[P_SORT] or "").lower()
            letters.setdefault(sort_name[:1], []).append(n)
            self.name.append((sort_name, p[P_ID] or 0))
            self.recency.append(-last if last is not None else _NEVER)
        self.bits = {g: {v: bits_of(ns) for v, ns in values.items()} for g, values in groups.items()}


_NEVER = float("inf")  # never contacted sorts last


class _View:
    """Per index generation: the segments with their docnum offsets, the live documents, facet and bucket
    bitsets over global docnums (the segments' cached bitsets shifted into place, so a write costs a few
    big-integer ORs), sort keys by global docnum, and the memo of leaf bitsets."""

    def __init__(self, searcher, generation: int, key: tuple, leaf_columns: list):
        self.generation = generation
        self.key = key
        self.searcher = searcher
        subs = searcher.subsearchers or [(searcher, 0)]
        self.segments = [(sub, offset, _segment_id(sub.reader())) for sub, offset in subs]
        self.live = 0
        groups: dict[str, dict] = {}
        for (sub, offset, _seg), cols in zip(self.segments, leaf_columns, strict=True):
            reader = sub.reader()
            seg_live = (1 << reader.doc_count_all()) - 1
            if reader.has_deletions():
                seg_live ^= bits_of(reader.deleted_docs_set)
            self.live |= seg_live << offset
            for group, values in cols.bits.items():
                merged = groups.setdefault(group, {})
                for value, bits in values.items():
                    merged[value] = merged.get(value, 0) | (bits << offset)
        self.groups = groups
        self.buckets = {"recency": [groups.get("recency", {})[k] for k in sorted(groups.get("recency", {}))],
                        "name": [groups.get("name", {})[k] for k in sorted(groups.get("name", {}))]}
        self.name = list(chain.from_iterable(c.name for c in leaf_columns))
        self.recency = list(chain.from_iterable(c.recency for c in leaf_columns))
        self.keys = {"recency": self.recency.__getitem__, "name": self.name.__getitem__}
        self.leaf_cache: dict = {}

    def for_searcher(self, searcher) -> _View:
        """The same generation seen through another thread's searcher (its own readers); caches shared."""
        other = object.__new__(_View)
        other.__dict__.update(self.__dict__)
        other.searcher = searcher
        subs = searcher.subsearchers or [(searcher, 0)]
        other.segments = [(sub, offset, _segment_id(sub.reader())) for sub, offset in subs]
        return other

    def take(self, bits: int, k: int, order: str) -> list[int]:
        """The first k docnums of a bitset by "recency" (last contact, newest first) or "name"."""
        if not bits or k <= 0:
            return []
        key = self.keys[order]
        if bits.bit_count() <= DIRECT:
            docs = positions(bits)
            return sorted(docs, key=key)[:k] if len(docs) <= k else heapq.nsmallest(k, docs, key=key)
        out: list[int] = []
        for bucket in self.buckets[order]:
            inside = bits & bucket
            if not inside:
                continue
            docs = positions(inside)
            need = k - len(out)
            out += sorted(docs, key=key)[:need] if len(docs) <= need else heapq.nsmallest(need, docs, key=key)
            if len(out) >= k:
                break
        return out

    def facets(self, matched: int) -> dict[str, list[dict]]:
        def ranked(group: str, key: str) -> list[dict]:
            counts = []
            if matched:
                for value, bits in self.groups.get(group, {}).items():
                    if value is None or value == "":
                        continue
                    n = (matched & bits).bit_count()
                    if n:
                        counts.append((value, n))
            return [{key: v, "count": n} for v, n in sorted(counts, key=lambda vn: (-vn[1], str(vn[0])))]

        return {"industry": ranked("industry", "id"), "county": ranked("county", "id"),
                "kind": ranked("kind", "value"), "status": ranked("status", "value"),
                "is_key": ranked("is_key", "value")}


def _segment_id(reader) -> str | None:
    segment = reader.segment() if hasattr(reader, "segment") else None
    return segment.segment_id() if segment is not None else None


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
