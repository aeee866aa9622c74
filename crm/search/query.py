"""Our own small query language, parsed by hand into Whoosh queries over the fields we offer (never QueryParser)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as wq

from .analysis import CJK_RE, RUN_RE, clean, fold, ngram_query, query_words
from .schema import INITIALS_EDGE, PINYIN_EDGE, TEXT_FIELDS

MAX_INPUT = 256  # characters of the search box we read; the rest is ignored
MAX_CLAUSES = 12
MAX_TERM = 32

BOOSTS = {"who": 4.0, "cat": 2.0, "body": 1.0}
# Prefix queries expand over the vocabulary; only these small-vocabulary fields get them.
PREFIX_FIELDS = ("cat",)

_QUOTES = str.maketrans({c: '"' for c in "“”„‟「」『』〝〞"})
# Anything that is not a word character, space, quote, minus or star only separates words: this is what
# keeps `county:5`, `amount:[1 TO]`, `(a)`, `^~` from meaning anything.
_SEPARATORS = re.compile(r'[^\w\s\-*"]')
_TOKEN = re.compile(r'(?P<neg>-*)"(?P<phrase>[^"]*)(?:"|$)|(?P<word>[^\s"]+)')
_ASCII = re.compile(r"[0-9a-z]+")


@dataclass
class Clause:
    kind: str  # "term", "prefix" or "phrase"
    text: str  # lower-cased; a phrase's words separated by single spaces


@dataclass
class ParsedQuery:
    groups: list[list[Clause]] = field(default_factory=list)  # AND of ORs
    excluded: list[Clause] = field(default_factory=list)

    @property
    def positive(self) -> list[Clause]:
        return [c for g in self.groups for c in g]


def parse(text: object) -> ParsedQuery:
    """Split a user's search string into clauses: words AND-ed, `OR` between words, "phrases",
    `-word`/`NOT word` exclusion, `word*` prefix. Never raises; unknown syntax is just separators."""
    s = _SEPARATORS.sub(" ", fold(clean(text, MAX_INPUT)).translate(_QUOTES))
    parsed = ParsedQuery()
    want_or = negate_next = False
    for m in _TOKEN.finditer(s):
        if len(parsed.positive) + len(parsed.excluded) >= MAX_CLAUSES:
            break
        if m.group("phrase") is not None:
            negate = bool(m.group("neg")) or negate_next
            body = " ".join(r.group(0) for r in RUN_RE.finditer(m.group("phrase").lower()))[:MAX_TERM * 2]
            clauses = [Clause("phrase", body)] if body else []
        else:
            word = m.group("word")
            if word in ("AND", "OR", "NOT"):
                want_or = want_or or word == "OR"
                negate_next = word == "NOT"
                continue
            negate = word.startswith("-") or negate_next
            clauses = _word_clauses(word)
        negate_next = False
        for i, clause in enumerate(clauses):
            if negate:
                parsed.excluded.append(clause)
            elif want_or and i == 0 and parsed.groups:
                parsed.groups[-1].append(clause)
            else:
                parsed.groups.append([clause])
        if clauses:
            want_or = False
    return parsed


def _word_clauses(word: str) -> list[Clause]:
    prefix = word.rstrip("-").endswith("*")
    parts = [p.lower()[:MAX_TERM] for p in re.split(r"[-*_]+", word) if RUN_RE.search(p)]
    clauses = [Clause("term", p) for p in parts]
    if clauses and prefix:
        clauses[-1].kind = "prefix"
    return clauses


def _any_field(word: str) -> wq.Query:
    return wq.Or([wq.Term(f, word, boost=BOOSTS[f]) for f in TEXT_FIELDS])


def _all(queries: list[wq.Query], boost: float = 1.0) -> wq.Query | None:
    if not queries:
        return None
    if len(queries) == 1:
        q = queries[0]
        if boost != 1.0:
            q = wq.Or([q], boost=boost)
        return q
    return wq.And(queries, boost=boost)


def _pinyin(t: str, prefix: bool) -> list[wq.Query]:
    if not _ASCII.fullmatch(t):
        return []
    out = [wq.Term("pyp", t, boost=1.5) if len(t) <= PINYIN_EDGE else wq.Prefix("py", t, boost=1.5),
           wq.Term("pyip", t, boost=1.2) if len(t) <= INITIALS_EDGE else wq.Prefix("pyi", t, boost=1.2)]
    if not prefix:  # a whole name typed in pinyin ranks above a name that merely starts that way
        out += [wq.Term("py", t, boost=3.0), wq.Term("pyi", t, boost=2.5)]
    return out


def _grams(text: str, boost: float = 1.0) -> wq.Query | None:
    """`text` as a substring of a name, company or person (all its overlapping n-grams present)."""
    return _all([wq.Term("grams", g) for g in ngram_query(text)], boost=boost)


def _pieces(words: list[str]) -> list[list[str]]:
    """jieba's words of a term, with runs of single CJK characters kept together: jieba cuts an unknown
    fragment like 硒源 into 硒|源, and the run is what a user remembers of a name."""
    out: list[list[str]] = []
    for w in words:
        single = len(w) == 1 and CJK_RE.match(w)
        if single and out and len(out[-1][-1]) == 1 and CJK_RE.match(out[-1][-1]):
            out[-1].append(w)
        else:
            out.append([w])
    return out


def _piece(words: list[str], several: bool) -> wq.Query:
    """One piece of a term: its words in any text field, or — when the term has several pieces — the piece as
    a fragment of a name (`恩施硒源茶业` leaves out 富硒 of 恩施硒源富硒茶业; jieba cuts it 恩施|硒|源富|硒|茶业)."""
    text = "".join(words)
    alts = [_all([_any_field(w) for w in words])]
    if several and len(text) > 1 and CJK_RE.search(text):  # a lone character would match half the city
        alts.append(_grams(text))
    return alts[0] if len(alts) == 1 else wq.Or(alts)


def _term(t: str) -> wq.Query | None:
    pieces = _pieces(query_words(t))
    alts = [q for q in (_all([_piece(p, len(pieces) > 1) for p in pieces]), _grams(t, boost=1.5))
            if q is not None]
    alts += _pinyin(t, prefix=False)
    return wq.Or(alts) if alts else None


def _prefix(t: str) -> wq.Query | None:
    alts: list[wq.Query] = [wq.Prefix(f, t, boost=BOOSTS[f]) for f in PREFIX_FIELDS]
    if len(t) <= 4:
        alts.append(wq.Term("starts", t, boost=3.0))
    if CJK_RE.search(t):
        grams = _all([wq.Term("grams", g) for g in ngram_query(t)], boost=0.5)
        if grams is not None:
            alts.append(grams)
    else:
        alts += [wq.Prefix("grams", t)] + _pinyin(t, prefix=True)
    return wq.Or(alts)


def _phrase(body: str) -> wq.Query | None:
    words = query_words(body)
    if len(words) <= 1:
        return _term(body)
    alts: list[wq.Query] = [wq.Phrase(f, words, boost=BOOSTS[f]) for f in TEXT_FIELDS]
    grams = _all([wq.Term("grams", g) for g in ngram_query(body.replace(" ", ""))], boost=1.5)
    if grams is not None:
        alts.append(grams)
    return wq.Or(alts)


def clause_query(clause: Clause) -> wq.Query | None:
    build = {"term": _term, "prefix": _prefix, "phrase": _phrase}[clause.kind]
    return build(clause.text)


def build(parsed: ParsedQuery) -> tuple[wq.Query | None, wq.Query | None]:
    """(what must match, what must not) — either may be None."""
    musts = []
    for group in parsed.groups:
        qs = [q for q in (clause_query(c) for c in group) if q is not None]
        if qs:
            musts.append(qs[0] if len(qs) == 1 else wq.Or(qs))
    nots = [q for q in (clause_query(c) for c in parsed.excluded) if q is not None]
    positive = None if not musts else (musts[0] if len(musts) == 1 else wq.And(musts))
    negative = None if not nots else wq.Or(nots)
    return positive, negative
