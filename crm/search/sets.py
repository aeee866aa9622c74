"""Fast evaluation of our query trees as bitsets, and class-based ranking (no scoring pass).

A set of documents is a Python int whose bit n is global docnum n: union, intersection, difference and counting
are C loops over 12.5 KB at 100,000 documents (microseconds), where Python sets cost ~1 µs per member and Whoosh's
own scorer far more (852 ms for 11,613 hits of `富硒` at 20,000 docs). Each leaf term's posting list is read once
per segment (cached by segment id, so a write re-reads only the new small segment) and masked with the live
documents of the current generation. Relevance is the sum of the weights (boost along the tree × idf) of the
leaves a document matches: documents are split into classes by the leaves they match, a few bit operations per
leaf. Ties within a class go to the most recently contacted lead (see index._View.take).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.reading import TermNotFound

MAX_EXPANSIONS = 400  # prefix terms read per segment; `zhang*` over pinyin edges needs few
MAX_CLASSES = 512  # beyond this many distinct leaf combinations, lower-weight leaves no longer split classes
MAX_CACHED = 256  # leaf bitsets kept per index generation

_BITPOS = tuple(tuple(i for i in range(8) if b >> i & 1) for b in range(256))


def bits_of(ids) -> int:
    """A bitset of docnums."""
    ids = ids if isinstance(ids, (list, tuple)) else list(ids)
    if not ids:
        return 0
    buf = bytearray((max(ids) >> 3) + 1)
    for d in ids:
        buf[d >> 3] |= 1 << (d & 7)
    return int.from_bytes(buf, "little")


def positions(bits: int) -> list[int]:
    """The docnums of a bitset, ascending."""
    if not bits:
        return []
    raw = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    table = _BITPOS
    return [(i << 3) + p for i, b in enumerate(raw) if b for p in table[b]]


class SegmentCache:
    """(segment id, leaf key) -> bitset of the segment's local docnums (deleted ones included: deletions are
    applied per generation with the live mask). Segments never change once written, so entries stay valid
    until the segment is merged away; least recently used entries are dropped beyond `size`."""

    def __init__(self, size: int = 2048):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key, bits: int) -> None:
        with self._lock:
            self._data[key] = bits
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class SetEvaluator:
    """Evaluates queries over one searcher and its view (generation): leaf bitsets memoised in the view."""

    def __init__(self, searcher, view, segments: SegmentCache):
        self.searcher = searcher
        self.view = view
        self.segments = segments

    # ---- matching ------------------------------------------------------------------------------

    def docs(self, q) -> int:
        if isinstance(q, wq.And):
            parts = [self.docs(s) for s in q.subqueries]
            if not parts:
                return 0
            out = parts[0]
            for s in parts[1:]:
                if not out:
                    break
                out &= s
            return out
        if isinstance(q, wq.Or):
            out = 0
            for s in q.subqueries:
                out |= self.docs(s)
            return out
        if isinstance(q, wq.AndNot):
            a = self.docs(q.a)
            return a & ~self.docs(q.b) if a else 0
        return self.leaf(q)

    def leaf(self, q) -> int:
        key = _leaf_key(q)
        cache = self.view.leaf_cache
        found = cache.get(key)
        if found is None:
            found = 0
            for sub, offset, seg_id in self.view.segments:
                local = self.segments.get((seg_id, key)) if seg_id is not None else None
                if local is None:
                    local = self._read(q, sub)
                    if seg_id is not None:
                        self.segments.put((seg_id, key), local)
                if local:
                    found |= local << offset
            found &= self.view.live
            if len(cache) >= MAX_CACHED:
                cache.clear()  # crude but bounded: the memo only speeds up repeated words
            cache[key] = found
        return found

    def _read(self, q, sub) -> int:
        reader = sub.reader()
        if isinstance(q, wq.Term):
            return bits_of(_raw_postings(reader, q.fieldname, q.text))
        if isinstance(q, wq.Prefix):
            if q.fieldname not in reader.schema:
                return 0
            ids: list[int] = []
            for n, btext in enumerate(reader.expand_prefix(q.fieldname, q.text)):
                if n >= MAX_EXPANSIONS:
                    break
                text = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                ids.extend(_raw_postings(reader, q.fieldname, text))
            return bits_of(ids)
        if isinstance(q, wq.Every):
            return (1 << reader.doc_count_all()) - 1
        # Phrases and anything else: Whoosh's own matcher, unscored (deleted documents already left out).
        try:
            return bits_of(q.matcher(sub, sub.boolean_context()).all_ids())
        except TermNotFound:
            return 0

    # ---- ranking -------------------------------------------------------------------------------

    def weighted_leaves(self, q, boost: float = 1.0) -> list[tuple[float, int]]:
        boost *= getattr(q, "boost", 1.0) or 1.0
        if isinstance(q, (wq.And, wq.Or)):
            return [w for s in q.subqueries for w in self.weighted_leaves(s, boost)]
        if isinstance(q, wq.AndNot):
            return self.weighted_leaves(q.a, boost)
        if isinstance(q, wq.Term):
            try:
                idf = self.searcher.idf(q.fieldname, q.text)
            except (TermNotFound, KeyError, ValueError):
                idf = 1.0
            return [(boost * max(idf, 0.1), self.leaf(q))]
        if isinstance(q, wq.Every):
            return []
        return [(boost * 2.0, self.leaf(q))]

    def rank(self, q, matched: int, window: int) -> list[tuple[int, float]]:
        """The best `window` of matched as (docnum, score), best first; equal scores by the view's tiebreak."""
        if not matched or window <= 0:
            return []
        leaves = sorted(self.weighted_leaves(q), key=lambda wl: -wl[0])
        classes: list[tuple[float, int]] = [(0.0, matched)]
        for weight, docs in leaves:
            if len(classes) > MAX_CLASSES:
                break
            split = []
            for score, members in classes:
                inside = members & docs
                if not inside:
                    split.append((score, members))
                    continue
                split.append((score + weight, inside))
                if inside != members:
                    split.append((score, members ^ inside))
            classes = split
        out: list[tuple[int, float]] = []
        for score, members in sorted(classes, key=lambda c: -c[0]):
            need = window - len(out)
            if need <= 0:
                break
            out += [(d, round(score, 4)) for d in self.view.take(members, need, "recency")]
        return out


def _leaf_key(q) -> tuple:
    if isinstance(q, (wq.Term, wq.Prefix)):
        return (type(q).__name__, q.fieldname, q.text)
    if isinstance(q, wq.Phrase):
        return ("Phrase", q.fieldname, tuple(q.words))
    return (type(q).__name__, repr(q))


def _raw_postings(reader, fieldname: str, text: str) -> list[int]:
    """Local docnums of a term in one segment, deleted documents included (read block by block)."""
    if fieldname not in reader.schema:
        return []
    terms = getattr(reader, "_terms", None)
    try:
        if terms is None:  # not a segment reader: the public (deletion-filtered) way
            return list(reader.postings(fieldname, text).all_ids())
        btext = reader._text_to_bytes(fieldname, text)
        matcher = terms.matcher(fieldname, btext, reader.schema[fieldname].format)
    except (TermNotFound, KeyError):
        return []
    if not isinstance(matcher, W3LeafMatcher):
        return list(matcher.all_ids())
    out: list[int] = []
    while not matcher._atend:
        if matcher._ids is None:
            matcher._read_ids()
        out.extend(matcher._ids)
        matcher._next_block()
    return out
