"""Defects the hostile walks found and that are not fixed yet, by "METHOD rule" (the access matrix: "matrix METHOD
rule"; schemathesis: "schemathesis METHOD /openapi/path") → the exact request and error.
Each such case runs as a strict xfail: it is reported on every run, and the day the defect is fixed the case
XPASSes and fails, so its line here must be deleted."""
from __future__ import annotations

import pytest

HUGE = "9" * 40
_OVERFLOW = (f"a {len(HUGE)}-digit integer in a query or form field → OverflowError: Python int too large to "
             "convert to SQLite INTEGER (ints read with request.args.get(type=int) or form IntegerField/coerce=int "
             "reach SQL unbounded; PostgreSQL: NumericValueOutOfRange)")
KNOWN_DEFECTS: dict[str, str] = {
}


def cases(items, key) -> list:
    """pytest.param for each item, marked strict-xfail when its key names a known defect."""
    out = []
    for item in items:
        reason = KNOWN_DEFECTS.get(key(item))
        marks = [pytest.mark.xfail(strict=True, reason=f"KNOWN DEFECT: {reason}")] if reason else []
        out.append(pytest.param(*item if isinstance(item, tuple) else (item,), marks=marks))
    return out
