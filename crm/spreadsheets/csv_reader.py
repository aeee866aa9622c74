"""Decoding an uploaded CSV (UTF-8, UTF-16 with BOM, or GB18030) and finding its delimiter (comma, tab, ;)."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence

from .cells import MAX_CELL_CHARS
from .errors import SpreadsheetError, reraised_as

DELIMITERS = (",", "\t", ";")  # in order of preference when two fit equally well
SNIFF_CHARS = 64_000
SNIFF_ROWS = 50
# C0 controls other than tab, LF, FF and CR: text editors and Excel never write these in any number.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_CONTROL_CHARS = {chr(b): None for b in _CONTROL_BYTES}


def decode(data: bytes) -> str:
    """UTF-16 when it has a BOM (Excel's "Unicode text"), else UTF-8 (BOM or not), else GB18030."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        with reraised_as("encoding"):
            text = data.decode("utf-16")
        _refuse_binary(len(text) - len(text.translate(_CONTROL_CHARS)), len(text), "\x00" in text)
        return text
    _refuse_binary(len(data) - len(data.translate(None, _CONTROL_BYTES)), len(data), b"\x00" in data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # GB18030 is a superset of the GBK that Chinese Excel and WPS write when saving as CSV.
    with reraised_as("encoding"):
        return data.decode("gb18030")


def _refuse_binary(controls: int, length: int, has_nul: bool) -> None:
    if has_nul or controls > max(8, length // 100):
        raise SpreadsheetError("not_a_spreadsheet")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first rows into the most rows of one common width (≥ 2 columns)."""
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a cut-off last row would skew the widths
    best, best_score = DELIMITERS[0], (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [
                len(row)
                for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
                if any(cell.strip() for cell in row)
            ][:SNIFF_ROWS]
        except csv.Error:
            continue
        if not widths:
            continue
        width, agreeing = Counter(widths).most_common(1)[0]
        if width >= 2 and (agreeing, width) > best_score:
            best, best_score = delimiter, (agreeing, width)
    return best


def raw_rows(text: str, delimiter: str, max_columns: int) -> Iterator[Sequence[object]]:
    """Every row, empty ones included; newline='' lets quoted cells keep their line breaks. A cell longer than
    an XLSX cell may be (MAX_CELL_CHARS) is refused the same way."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise SpreadsheetError("cell_too_large", limit=MAX_CELL_CHARS) from None
            raise SpreadsheetError("not_a_spreadsheet") from error
        if row and max(map(len, row)) > MAX_CELL_CHARS:
            raise SpreadsheetError("cell_too_large", limit=MAX_CELL_CHARS)
        yield row[:max_columns]
