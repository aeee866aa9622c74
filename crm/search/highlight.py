"""Highlighting: stored text HTML-escaped piece by piece, with only <mark> tags of our own added."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from .analysis import RUN_RE, char_pinyin, fold, query_words
from .query import Clause

FRAGMENT = 160  # characters of a long note shown around its first match
LEAD_IN = 40


def needles(clauses: list[Clause]) -> tuple[set[str], set[str]]:
    """(substrings to mark, ascii terms to try as pinyin) for the positive clauses of a query."""
    subs: set[str] = set()
    pinyin: set[str] = set()
    for c in clauses:
        for run in RUN_RE.finditer(c.text):
            subs.add(run.group(0))
        # jieba's single characters would mark every 硒 in a note; whole runs and longer words say more.
        subs.update(w for w in query_words(c.text) if len(w) >= 2)
        if c.text.isascii() and c.text.isalnum() and len(c.text) >= 2:
            pinyin.add(c.text)
    return {s for s in subs if s}, pinyin


def _substring_spans(text: str, subs: set[str]) -> list[tuple[int, int]]:
    # Match on the folded text (full-width ＡＢＣ as abc) when folding keeps every offset in place.
    low = fold(text).lower()
    if len(low) != len(text):
        low = text.lower() if len(text.lower()) == len(text) else text
    spans = []
    for sub in subs:
        start = low.find(sub)
        while start != -1:
            spans.append((start, start + len(sub)))
            start = low.find(sub, start + len(sub))
    return spans


@lru_cache(maxsize=8192)
def _units(text: str, person: bool) -> tuple[str | None, ...]:
    """Pinyin per character of a name, remembered: pypinyin costs ~0.2 ms per name, ×4 per hit of a page."""
    return tuple(char_pinyin(text, person=person))


def _pinyin_spans(text: str, terms: set[str], person: bool) -> list[tuple[int, int]]:
    units = _units(text[:500], person)
    spans = []
    for i in range(len(units)):
        for term in terms:
            for initials in (False, True):
                end = _consume(units, i, term, initials)
                if end is not None:
                    spans.append((i, end))
    return spans


def _consume(units: list[str | None], i: int, term: str, initials: bool) -> int | None:
    """End index if term spells units[i:] from its start (whole syllables, the last may be partial)."""
    got = ""
    j = i
    while j < len(units) and units[j] is not None and len(got) < len(term):
        got += units[j][0] if initials else units[j]
        j += 1
        if not term.startswith(got) and not got.startswith(term):
            return None
    return j if got.startswith(term) and j > i else None


def mark(text: str, spans: list[tuple[int, int]], fragment: bool = False) -> str | None:
    """text escaped, spans wrapped in <mark>; None when nothing matched."""
    if not spans:
        return None
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    lo, hi = 0, len(text)
    if fragment and len(text) > FRAGMENT:
        lo = max(0, merged[0][0] - LEAD_IN)
        hi = min(len(text), lo + FRAGMENT)
    out = ["…" if lo > 0 else ""]
    pos = lo
    for a, b in merged:
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        out += [escape(text[pos:a]), "<mark>", escape(text[a:b]), "</mark>"]
        pos = b
    out += [escape(text[pos:hi]), "…" if hi < len(text) else ""]
    return "".join(out)


def highlights(stored: dict, clauses: list[Clause], found: tuple[set[str], set[str]] | None = None
               ) -> dict[str, str]:
    """{field: html} for name, company, notes and interactions where the query's words occur; `found` is
    needles(clauses), computed once per page rather than once per hit."""
    subs, pinyin = found if found is not None else needles(clauses)
    if not subs and not pinyin:
        return {}
    out = {}
    for fname in ("name", "company"):
        text = stored.get(fname) or ""
        if fname == "company" and text == (stored.get("name") or ""):  # a lead's company is its name
            if "name" in out:
                out["company"] = out["name"]
            continue
        spans = _substring_spans(text, subs)
        if pinyin:  # a lead's name may be a person's: try the surname reading as well
            spans += _pinyin_spans(text, pinyin, False) + _pinyin_spans(text, pinyin, True)
        html = mark(text, spans)
        if html:
            out[fname] = html
    notes = stored.get("notes") or ""
    html = mark(notes, _substring_spans(notes, subs), fragment=True)
    if html:
        out["notes"] = html
    parts = [mark(t, _substring_spans(t, subs), fragment=True) for t in stored.get("interactions_raw") or []]
    parts = [p for p in parts if p]
    if parts:
        out["interactions"] = " … ".join(parts[:3])
    return out
