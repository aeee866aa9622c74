"""Hostile input: strings and byte strings that break naive escaping, SQL, the Whoosh query language, paths,
column limits, encodings. Each has an id for test output. Text payloads are str; a few are only expressible as
bytes (invalid UTF-8, GBK, a lone surrogate through surrogateescape)."""
from __future__ import annotations

from urllib.parse import quote_from_bytes

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
LONG = "长" * 10_000

TEXT: dict[str, str] = {
    "xss-script": XSS_SCRIPT,
    "xss-img-attr": XSS_IMG,
    "xss-combo": '"><img src=x onerror=alert(1)></textarea></script><script>alert(1)</script>',
    "xss-js-url": "javascript:alert(1)//",
    "sql-or": "' OR 1=1 --",
    "sql-drop": "'; DROP TABLE leads; --",
    "whoosh-field": "county:1 OR *",
    "whoosh-range": "amount:[0 TO]",
    "whoosh-star": "*",
    "quote-unbalanced": '"张',
    "path-posix": "../../etc/passwd",
    "path-windows": "..\\..\\boot.ini",
    "long-10k": LONG,
    "control-chars": "a\x00b\x01c\x1bd",
    "emoji": "🏭👍",
    "full-width": "ＡＢＣ，。１２３",
    "rtl-override": "\u202egnp.exe 🏭👍 ＡＢＣ，。",
    "format-string": "%(password)s {0} %s %n",
    "jinja": "{{ 7*7 }}{% raw %} %(password)s {0} %s",
    "whitespace-only": " \t\u3000 ",
    "negative-number": "-1",
    "huge-number": "9" * 40,
}

BYTES: dict[str, bytes] = {
    "invalid-utf8": b"\xff\xfe\xfd",
    "gbk": "张三丰企业".encode("gbk"),
    "lone-surrogate": "a\udcff\udcfeb".encode("utf-8", "surrogateescape"),
    "overlong-slash": b"\xc0\xaf",
}

# What reaches a JSON body untouched by any encoder: valid JSON text whose string decodes to a lone surrogate.
JSON_LONE_SURROGATE = '"\\ud800x"'

# A smaller set for the one-field-at-a-time runs (the rest of the form valid, so the value reaches the service).
STORED = ["xss-combo", "control-chars"]

# Raw markup that must never come back unescaped in an HTML response.
MARKUP = [XSS_SCRIPT, "<img src=x onerror=alert(1)>"]


# The walks' latin squares use these (every other payload is contained in one of them, or tried elsewhere):
# fewer requests per endpoint keeps the whole walk inside its time budget.
WALK = ["xss-combo", "xss-js-url", "sql-drop", "whoosh-field", "whoosh-range", "whoosh-star", "quote-unbalanced",
        "path-posix", "long-10k", "control-chars", "rtl-override", "jinja", "whitespace-only", "negative-number",
        "huge-number", "invalid-utf8", "gbk", "lone-surrogate"]


def all_payloads() -> list[tuple[str, str | bytes]]:
    return list(TEXT.items()) + list(BYTES.items())


def walk_payloads() -> list[tuple[str, str | bytes]]:
    everything = dict(all_payloads())
    return [(pid, everything[pid]) for pid in WALK]


def encode_form(fields: dict[str, str | bytes | list]) -> bytes:
    """application/x-www-form-urlencoded, with bytes values sent as they are (percent-encoded, not re-encoded)."""
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            raw = item if isinstance(item, bytes) else str(item).encode("utf-8", "surrogateescape")
            parts.append(f"{quote_from_bytes(name.encode())}={quote_from_bytes(raw, safe='')}")
    return "&".join(parts).encode("ascii")


def latin_square(names: list[str]) -> list[dict[str, str | bytes]]:
    """One request per payload in which every name gets a different payload: across the requests, every name
    meets every payload, in len(payloads) requests instead of len(names) × len(payloads)."""
    everything = walk_payloads()
    return [{name: everything[(k + i) % len(everything)][1] for i, name in enumerate(names)}
            for k in range(len(everything))]


def unescaped_markup(body: str) -> list[str]:
    return [m for m in MARKUP if m in body]
