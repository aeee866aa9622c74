"""The Whoosh schema and the mapping of a plain doc dict onto its fields (no querying here)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from whoosh import columns, formats
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, FieldType, Schema

from .analysis import (
    JiebaCharsTokenizer,
    JiebaTokenizer,
    NgramTokenizer,
    _ListTokenizer,
    clean,
    edges,
    fold,
    pinyin_keys,
    starts,
)

# Bump when fields or analysis change: an index built with another version is recreated empty and
# the services' reconcile/reindex refills it from the database.
SCHEMA_VERSION = "9"

# Free-text fields segmented by jieba that a user's words may match (each word may match any of them).
# Three matching fields rather than one per key: each extra field is one more matcher in every query's
# union tree, which is where Whoosh spends its (pure Python) time. Boosts are set per field in query.py.
TEXT_FIELDS = ("who", "cat", "body")
PINYIN_EDGE = 6  # longest full-pinyin prefix answered by one term lookup; longer ones expand few terms
INITIALS_EDGE = 4

MAX_TEXT = 20_000  # characters per field: a pasted novel in the notes must not stall a write


def _patch_length_lookup() -> None:
    """Whoosh asks for a document's field length for every posting it writes, and for a field without lengths
    (not scorable) checks the disk for the missing column file each time: 380,000 stat() calls per 2,000
    documents. Remember the absence instead (a segment's files never change once written)."""
    from whoosh.codec import whoosh3

    cls = whoosh3.W3PerDocReader
    if getattr(cls, "_crm_patched", False):
        return
    original = cls._cached_reader

    def _cached_reader(self, fieldname, column):
        if fieldname in self._readers:
            return self._readers[fieldname]
        reader = original(self, fieldname, column)
        if reader is None:
            self._readers[fieldname] = None
        return reader

    cls._cached_reader = _cached_reader
    cls._crm_patched = True


_patch_length_lookup()


class KEYS(FieldType):
    """Space-separated keys that are only ever matched, never scored: no frequencies, no field lengths
    (Whoosh writes a length per document and field, and reads it back for every posting it writes)."""

    def __init__(self):
        super().__init__(formats.Existence(), SpaceSeparatedTokenizer(), scorable=False)

    def __eq__(self, other):
        return type(self) is type(other)


_KEYS_RE = re.compile(r"[^ \t\r\n]+")  # whoosh.analysis.SpaceSeparatedTokenizer's expression


EXISTS, POSITIONS = "exists", "positions"


def field_terms(field: FieldType, value) -> tuple[str, object]:
    """The terms of one field value for writing a segment, computed directly for this schema's own analysers
    (Whoosh makes a Token object and runs a chain of generators per term, ~3 µs each, ~175 terms per lead):
    (EXISTS, set of term strings) for an Existence field (all weights the field boost, no values);
    (POSITIONS, {term: [positions]}) for a Positions field; otherwise (None, field.index(value)) — Whoosh's
    own (term bytes, frequency, weight, encoded value) tuples."""
    if isinstance(value, str):
        fmt = field.format
        analyzer = field.analyzer
        if isinstance(field, KEYS):
            return EXISTS, set(_KEYS_RE.findall(value))
        if isinstance(analyzer, _ListTokenizer):
            if type(fmt) is formats.Existence:
                return EXISTS, {t[0] for t in analyzer.tokens(value)}
            if type(fmt) is formats.Positions:
                poses: dict[str, list[int]] = {}
                for text, _start, _end, pos in analyzer.tokens(value):
                    got = poses.get(text)
                    if got is None:
                        poses[text] = [pos]
                    else:
                        got.append(pos)
                return POSITIONS, poses
    return None, field.index(value)


def _unscored(field: FieldType) -> FieldType:
    """Ranking uses term document frequencies only (crm.search.sets), never Whoosh's per-document lengths."""
    field.scorable = False
    return field


def build_schema() -> Schema:
    jieba_an = JiebaTokenizer()
    return Schema(
        uid=ID(unique=True, stored=True),
        type=ID(stored=True),
        id=STORED(),
        name=STORED(),
        company=STORED(),
        notes=STORED(),
        interactions_raw=STORED(),
        who=_unscored(TEXT(analyzer=jieba_an)),  # name, company, people
        cat=_unscored(TEXT(analyzer=JiebaCharsTokenizer())),  # industry names and synonyms, tags (and characters)
        body=_unscored(TEXT(analyzer=jieba_an)),  # titles, regions, notes, interaction summaries
        grams=FieldType(formats.Existence(), NgramTokenizer(), scorable=False),
        starts=KEYS(),
        py=KEYS(),
        pyi=KEYS(),
        pyp=KEYS(),
        pyip=KEYS(),
        industry_ids=KEYWORD(),
        county_id=ID(),
        kind=ID(),
        status=ID(),
        is_key=ID(),
        # Everything facets, sorting and reconcile need, packed in one column read per document.
        pack=COLUMN(columns.VarBytesColumn()),
    )


def uid_of(doc_type: str, doc_id: int) -> str:
    return f"{doc_type}:{int(doc_id)}"


def _texts(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [c for c in (clean(v, MAX_TEXT) for v in values) if c.strip()]


def _ts(value) -> float | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:  # the services hand aware UTC; treat a naive one as UTC rather than local
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _key(value) -> str:
    return "" if value is None else clean(value, 200).strip()


def doc_fields(doc: dict) -> dict:
    """Whoosh field values for one doc dict (see the package docstring for its keys)."""
    doc_type = _key(doc["type"])
    doc_id = int(doc["id"])
    name = clean(doc.get("name"), 500)
    company = clean(doc.get("company"), 500)
    persons = _texts(doc.get("person_names"))
    interactions = _texts(doc.get("interactions"))
    notes = clean(doc.get("notes"), MAX_TEXT)
    industry_ids = sorted({int(i) for i in doc.get("industry_ids") or ()})

    full: set[str] = set()
    initials: set[str] = set()
    # dict.fromkeys: a lead's name and company are often the same string; analyse it once.
    for value, person in dict.fromkeys([(name, False), (company, False)] + [(p, True) for p in persons]):
        f, i = pinyin_keys(fold(value), person=person)
        full |= f
        initials |= i
    # dict.fromkeys: a lead's company is its name; indexing it twice only doubles the analysis.
    gram_src = list(dict.fromkeys(v for v in [name, company, *persons] if v))
    start_keys = {s for v in gram_src for s in starts(fold(v))}

    county = doc.get("county_id")
    pack = [doc_type, doc_id, str(doc.get("version") or ""), county, _key(doc.get("kind")) or None,
            _key(doc.get("status")) or None, bool(doc.get("is_key")), industry_ids,
            clean(doc.get("sort_name") or name, 200), _ts(doc.get("last_contacted_at"))]
    fields = {
        "uid": uid_of(doc_type, doc_id),
        "type": doc_type,
        "id": doc_id,
        "name": name,
        "company": company,
        "notes": notes,
        "interactions_raw": interactions,
        "who": "\n".join(gram_src),
        "cat": "\n".join(_texts(doc.get("industry_text")) + _texts(doc.get("tags"))),
        "body": "\n".join(_texts(doc.get("titles")) + _texts([doc.get("origin_region"), doc.get("home_county")])
                          + [notes] + interactions),
        "grams": "\n".join(gram_src),
        "starts": " ".join(sorted(start_keys)),
        "py": " ".join(sorted(full)),
        "pyi": " ".join(sorted(initials)),
        "pyp": " ".join(sorted(edges(full, PINYIN_EDGE))),
        "pyip": " ".join(sorted(edges(initials, INITIALS_EDGE))),
        "industry_ids": " ".join(str(i) for i in industry_ids),
        "is_key": "1" if doc.get("is_key") else "0",
        "pack": json.dumps(pack, ensure_ascii=False).encode("utf-8"),
    }
    for fname in ("county_id", "kind", "status"):
        value = _key(doc.get(fname))
        if value:
            fields[fname] = value
    # Drop empty strings: Whoosh indexes nothing for them anyway, and empty KEYWORDs cost a field length.
    return {k: v for k, v in fields.items() if v != "" or k == "name"}


def unpack(raw: bytes) -> tuple | None:
    """The packed column of one document: (type, id, version, county_id, kind, status, is_key,
    industry_ids, sort_name, last_ts); None for a document that has none."""
    if not raw:
        return None
    return tuple(json.loads(raw.decode("utf-8")))
