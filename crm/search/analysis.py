"""Text analysis for the index: cleaning, jieba words, character n-grams, pinyin keys (no Whoosh queries here)."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import unicodedata
from functools import lru_cache

import jieba
from pypinyin import lazy_pinyin
from pypinyin.core import Pinyin
from whoosh.analysis import Token, Tokenizer

from crm.surnames import surname_reading

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run is either CJK characters or other letters/digits; everything else separates.
RUN_RE = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")
CJK_RE = re.compile(rf"[{_CJK}]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]+")

_jieba_lock = threading.Lock()
_jieba_ready = False


def clean(text: object, limit: int | None = None) -> str:
    """Return text safe to store and encode: no control characters (bar newline and tab), no lone surrogates."""
    if text is None:
        return ""
    s = str(text)
    if limit is not None:
        s = s[:limit]
    # Lone surrogates cannot be UTF-8 encoded (Whoosh stores terms as UTF-8).
    s = s.encode("utf-8", "ignore").decode("utf-8")
    return _CONTROL_RE.sub(" ", s)


def fold(text: str) -> str:
    """NFKC for matching, so full-width letters and digits match what users type (stored text keeps its own)."""
    return unicodedata.normalize("NFKC", text)


def ensure_jieba() -> None:
    """Load jieba's dictionary once per process, from a cache in the temp dir, quietly."""
    global _jieba_ready
    if _jieba_ready:
        return
    with _jieba_lock:
        if _jieba_ready:
            return
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.tmp_dir = os.environ.get("CRM_JIEBA_TMP") or tempfile.gettempdir()
        jieba.dt.cache_file = "crm-jieba.cache"
        jieba.initialize()
        for word in place_words():
            jieba.add_word(word)  # a frequency that lets jieba cut the word out of running text
        _jieba_ready = True


_REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference")
_PLACE_SUFFIX = re.compile(r"(（.*）|\(.*\))$|(示范区|开发区|新区|自治县|区|县|市)$")


def place_words() -> list[str]:
    """The deployment's county names, full and without 区/县/市 (crm/reference/counties.tsv): jieba does not know
    local names, so 汉滨见张伟 in a visit summary was one word 汉滨见 and `汉滨` found nothing in summaries and
    notes. (Industry words are left to jieba: 富硒茶 as one word would no longer find 富硒 leads tagged 茶.)"""
    words: set[str] = set()
    try:
        with open(os.path.join(_REFERENCE, "counties.tsv"), encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            names = [dict(zip(header, line.rstrip("\n").split("\t"), strict=False)).get("name") or ""
                     for line in fh]
    except OSError:
        return []
    for name in names:
        short = _PLACE_SUFFIX.sub("", _PLACE_SUFFIX.sub("", name.strip()))
        words.update(w for w in (name.strip(), short) if 2 <= len(w) <= 5 and CJK_RE.search(w))
    return sorted(words)


def _is_word(w: str) -> bool:
    return any(ch.isalnum() for ch in w)


def index_words(text: str) -> tuple[tuple[str, int, int, int], ...]:
    """(word, start, end, position) for indexing: jieba's words, plus their dictionary sub-words at the same
    position so `医药` finds `生物医药` and phrases over whole words still line up. Short texts are remembered:
    industry words, tags, names and titles repeat across thousands of leads in a rebuild."""
    if len(text) <= 200:
        return _index_words_cached(text)
    return tuple(_index_words(text))


@lru_cache(maxsize=50_000)
def _index_words_cached(text: str) -> tuple[tuple[str, int, int, int], ...]:
    return tuple(_index_words(text))


def _index_words(text: str) -> list[tuple[str, int, int, int]]:
    ensure_jieba()
    freq = jieba.dt.FREQ
    out = []
    pos = 0
    for word, start, end in jieba.tokenize(text):
        if not _is_word(word):
            continue
        lw = word.lower()
        out.append((lw, start, end, pos))
        n = len(word)
        if n > 2 and CJK_RE.match(word):
            for size in (2, 3):
                for i in range(n - size + 1):
                    sub = word[i : i + size]
                    if sub != word and freq.get(sub):
                        out.append((sub, start + i, start + i + size, pos))
        pos += 1
    return out


def query_words(text: str) -> list[str]:
    """jieba's words of a query term, lower-cased, punctuation dropped."""
    ensure_jieba()
    return [w.lower() for w in jieba.cut(text) if _is_word(w)]


def ngrams(text: str, max_n: int = 3) -> list[str]:
    """1..max_n character grams of each CJK run; other words whole (lower-cased)."""
    out = []
    for m in RUN_RE.finditer(text):
        run = m.group(0).lower()
        if m.lastgroup == "word":
            out.append(run)
            continue
        for size in range(1, max_n + 1):
            out.extend(run[i : i + size] for i in range(len(run) - size + 1))
    return out


def ngram_query(text: str, max_n: int = 3) -> list[str]:
    """Grams that must all be present for `text` to be a substring (overlapping max_n-grams)."""
    out = []
    for m in RUN_RE.finditer(text):
        run = m.group(0).lower()
        if m.lastgroup == "word" or len(run) <= max_n:
            out.append(run)
        else:
            out.extend(run[i : i + max_n] for i in range(len(run) - max_n + 1))
    return out


def starts(text: str, max_n: int = 4) -> list[str]:
    """Leading 1..max_n characters of a value, for `张*` meaning "starts with 张"."""
    s = "".join(m.group(0) for m in RUN_RE.finditer(text)).lower()
    return [s[:k] for k in range(1, min(max_n, len(s)) + 1)]


def char_pinyin(text: str, person: bool = False) -> list[str | None]:
    """One pinyin unit per character of text (None for separators); letters and digits stand for themselves.
    person: text is a person's name, so a surname at its head takes its surname reading (crm.surnames)."""
    units: list[str | None] = [None] * len(text)
    for m in RUN_RE.finditer(text):
        run, start = m.group(0), m.start()
        if m.lastgroup == "word":
            for i, ch in enumerate(run.lower()):
                units[start + i] = ch
            continue
        pys = run_pinyin(run)
        if len(pys) != len(run):  # pypinyin grouped something oddly: fall back per character
            pys = [lazy_pinyin(ch)[0] for ch in run]
        for i, py in enumerate(pys):
            units[start + i] = py.lower()
    found = surname_reading(text) if person else None
    if found:
        # The given name converted on its own, as crm.services.identity does for the stored keys: pypinyin's
        # words over the whole name could join the surname to it (曾经|理 rather than 曾|经理).
        surname, syllables = found
        return [*syllables, *char_pinyin(text[len(surname):])]
    return units


def _unknown(s: str) -> list[str]:
    return ["?"] * len(s)


_pinyin_seg = Pinyin().seg


@lru_cache(maxsize=50_000)
def run_pinyin(run: str) -> tuple[str, ...]:
    """lazy_pinyin(run) with "?" for a character without a reading. pypinyin segments the run and converts word
    by word; here each word's conversion is remembered (names are made of a few thousand words; pypinyin costs
    ~0.1 ms of Python per call)."""
    out: list[str] = []
    for word in _pinyin_seg(run):
        out += _word_pinyin(word)
    return tuple(out)


@lru_cache(maxsize=100_000)
def _word_pinyin(word: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(word, errors=_unknown))


def pinyin_keys(text: str, person: bool = False, max_chars: int = 24) -> tuple[set[str], set[str]]:
    """Full-pinyin and initials strings from each word start to the end of its run, so a query may begin
    at any word: `shibo` and `sb` find 张世波, `swyy` finds 安康生物医药. People's names start at every
    character; other text at jieba's word and sub-word starts (every character would double the index)."""
    full: set[str] = set()
    initials: set[str] = set()
    text = text[:max_chars]
    if person:
        begins = set(range(len(text)))
        variants = [char_pinyin(text), char_pinyin(text, person=True)]
    else:
        begins = {start for _w, start, _e, _p in index_words(text)}
        variants = [char_pinyin(text)]
    for units in variants:
        for i in begins:
            tail = []
            for u in units[i:]:
                if u is None:
                    break
                tail.append(u)
            if tail:
                full.add("".join(tail))
                initials.add("".join(u[0] for u in tail))
        if person and len(units) > 1 and None not in units[:2]:
            # The surname in full and the given name by initials, as people often type it: `zhangsb`.
            found = surname_reading(text)
            head = len(found[0]) if found else 1
            rest = units[head:]
            if rest and None not in rest:
                full.add("".join(units[:head]) + "".join(u[0] for u in rest))
    return full, initials


def edges(keys: set[str], max_n: int) -> set[str]:
    """Every prefix up to max_n letters of each key: a prefix query becomes one term lookup."""
    return {k[:n] for k in keys for n in range(1, min(max_n, len(k)) + 1)}


class _ListTokenizer(Tokenizer):
    """Base for tokenizers computed by a function above; picklable (the schema is pickled)."""

    def tokens(self, value: str) -> list[tuple[str, int, int, int]]:
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for text, start, end, pos in self.tokens(value):
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = text
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + start, start_char + end
            yield t


class JiebaTokenizer(_ListTokenizer):
    """index_words of the value line by line (jieba never joins words across a line break), so each line's
    analysis is the remembered one: a lead's name is also cut for its pinyin keys, and titles, regions and
    notes like 总经理 or 台账导入 repeat across thousands of leads."""

    def tokens(self, value):
        value = fold(value)
        if "\n" not in value:
            return index_words(value)
        out = []
        offset = pos = 0
        for line in value.split("\n"):
            words = index_words(line)
            if words:
                out += [(w, start + offset, end + offset, p + pos) for w, start, end, p in words]
                pos += words[-1][3] + 1  # sub-words share their word's position and follow it
            offset += len(line) + 1
        return out


class JiebaCharsTokenizer(_ListTokenizer):
    """jieba's words plus every CJK character at its word's position, for the short industry/tag field:
    a lone `茶` then finds leads in 富硒茶 or tagged 茶叶 (a body of notes would grow too much for this)."""

    def tokens(self, value):
        return _jieba_chars(fold(value))


@lru_cache(maxsize=20_000)
def _jieba_chars(value: str) -> tuple[tuple[str, int, int, int], ...]:
    out = []
    for word, start, end, pos in index_words(value):
        out.append((word, start, end, pos))
        if len(word) > 1 and CJK_RE.match(word):
            out += [(ch, start + i, start + i + 1, pos) for i, ch in enumerate(word) if CJK_RE.match(ch)]
    return tuple(out)


class NgramTokenizer(_ListTokenizer):
    def tokens(self, value):
        return [(g, 0, 0, i) for i, g in enumerate(ngrams(fold(value)))]
