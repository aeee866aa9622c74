"""Request-wide input guards run before any view: numbers that cannot be database ids, JSON too deep to parse,
text no database stores. They turn what would be a 500 deep inside a query into a clean 400/404/422."""
from __future__ import annotations

import json
import re

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

INT_MAX = 2**31 - 1  # PostgreSQL INTEGER; SQLite's limit is larger, but ids never get there
_DIGITS = re.compile(r"^\s*[+-]?\d+\s*$")
# Query and form keys that are integers: ids, paging, years, day counts. Free-text keys (q, mobile, uscc …) are not.
_INT_KEY = re.compile(r"(^|[_-])(id|ids|page|per_page|year|days|limit|count|order)$")
_DAYS_MAX = 36_500  # a century of days: enough for any "not contacted for N days", small enough for date maths


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in routes that refuses (404) numbers no row can have, instead of overflowing in SQL."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def _bad_int(key: str, value: str) -> bool:
    if not _INT_KEY.search(key) or not _DIGITS.match(value):
        return False
    number = int(value)
    limit = _DAYS_MAX if key.endswith("days") else INT_MAX
    return abs(number) > limit


def _walk_json(value, depth: int = 0) -> bool:
    """True when the parsed body holds an integer beyond INT_MAX or a lone surrogate in any string (NUL in JSON
    text is left to the services' validation, which names the field)."""
    if depth > 50:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > INT_MAX
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return any(_walk_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_walk_json(k, depth + 1) or _walk_json(v, depth + 1) for k, v in value.items())
    return False


def _bad_json_fields(parsed) -> list[str]:
    """Top-level fields (or "_body") whose values fail _walk_json, so the problem names the field."""
    if isinstance(parsed, dict):
        return [str(k) if not _walk_json(k) else "_body" for k, v in parsed.items() if _walk_json(k) or _walk_json(v)]
    return ["_body"] if _walk_json(parsed) else []


def _search_box(key: str) -> bool:
    """The search page cleans its own query text (crm.search), so a NUL typed there still gets results."""
    return key == "q" and request.path.rstrip("/") in ("/search", "/api/v1/search")


def _check_request():
    sources = [request.args] if request.mimetype == "application/json" else [request.args, request.form]
    for source in sources:
        for key, value in source.items(multi=True):
            if not isinstance(key, str) or not isinstance(value, str):  # a multipart part werkzeug read as None
                abort(422 if request.path.startswith("/api/") else 400, description="A form field is not text.")
            if ("\x00" in key or "\x00" in value) and not _search_box(key):
                # PostgreSQL refuses NUL in text even as a query parameter; no field of ours takes one.
                abort(422 if request.path.startswith("/api/") else 400, description="NUL character in the input")
            if _bad_int(key, value):
                if request.path.startswith("/api/"):
                    from crm.api.errors import problem

                    abort(problem(422, "The request did not validate.", errors={key: ["Number out of range."]}))
                abort(400, description=f"{key}: number out of range")
    if request.mimetype == "application/json" and request.content_length != 0:
        raw = request.get_data(cache=True)
        if raw:
            try:
                parsed = json.loads(raw)
            except (ValueError, RecursionError):
                abort(400, description="The body is not valid JSON.")
            bad = _bad_json_fields(parsed)
            if bad:
                from crm.api.errors import problem

                abort(problem(422, "The request did not validate.",
                              errors={field: ["Out of range or holds an invalid character."] for field in bad}))


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_check_request)
