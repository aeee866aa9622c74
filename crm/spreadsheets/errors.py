"""The one exception the spreadsheet package raises for a bad file; codes are stable, messages live with callers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CODES = frozenset(
    {
        "too_large",
        "too_many_rows",
        "too_many_sheets",
        "cell_too_large",
        "unpacked_too_large",
        "not_a_spreadsheet",
        "unsupported_format",
        "empty",
        "encoding",
        "encrypted",
    }
)


class SpreadsheetError(Exception):
    """A file that cannot be read as a table; `code` is one of CODES, `params` fill the translated message."""

    def __init__(self, code: str, **params: Any) -> None:
        if code not in CODES:
            raise ValueError(f"unknown spreadsheet error code {code!r}")
        super().__init__(code, params)
        self.code = code
        self.params: dict[str, Any] = params

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value!r}" for key, value in sorted(self.params.items()))
        return f"{self.code} ({details})" if details else self.code


@contextmanager
def reraised_as(code: str, **params: Any) -> Iterator[None]:
    """Turn whatever a parser raises into SpreadsheetError(code); ours and warnings-as-errors pass through."""
    try:
        yield
    except (SpreadsheetError, Warning):
        raise
    # zipfile, zlib, expat, csv and openpyxl raise a dozen unrelated types for one bad file.
    except Exception as exc:
        raise SpreadsheetError(code, **params) from exc
