"""Reading an uploaded XLSX or CSV into headers and lazily produced rows of text; no Flask, no database."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Literal

from . import csv_reader, xlsx_reader
from .cells import cell_text
from .errors import SpreadsheetError

RawRows = Callable[[int], Iterator[Sequence[object]]]

# Columns past this are ignored: no 台账 is that wide, and a stray cell at XFD would make every row 16,384 wide.
MAX_COLUMNS = 500
# Bureaus put a title ("2024年客商台账") and notes above the header; look this far for a row of headings.
HEADER_SEARCH_ROWS = 10
# …and no further than this many rows, blank ones included, in no more than this many sheets: a workbook of 190
# sheets of blank rows took 266 s to find no header (issue 13, item 10).
HEADER_SEARCH_RAW_ROWS = 1000
HEADER_SEARCH_SHEETS = 10
XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
OTHER_SPREADSHEET_SUFFIXES = (".xls", ".xlsb", ".ods", ".et", ".numbers")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # legacy .xls, and also what password-protected .xlsx becomes
_OLE_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
_NEUTRALISED = ("'=", "'+", "'-", "'@")  # what writing.neutralise makes of formula-like text


@dataclass(frozen=True)
class Table:
    """One sheet: its headers and a way to walk its data rows as often as needed (each walk re-reads)."""

    headers: list[str]
    format: Literal["xlsx", "csv"]
    # Rows below the header as the XLSX declares them (blank ones included), or as its row elements count when
    # it declares no size (openpyxl's write-only output, for one): for progress display. None for CSV.
    row_count: int | None
    sheet_title: str | None
    _raw_rows: RawRows = field(repr=False, compare=False)
    _first_data_row: int = field(repr=False, compare=False)
    _max_rows: int = field(repr=False, compare=False)

    def rows(self) -> Iterator[list[str]]:
        """Non-empty data rows, each exactly len(headers) stripped strings; raises SpreadsheetError midway
        (too_many_rows past max_rows, not_a_spreadsheet for damage found late)."""
        width = len(self.headers)
        count = 0
        with closing(self._raw_rows(width)) as raw_rows:
            for index, raw in enumerate(raw_rows):
                if index < self._first_data_row or _blank(raw):
                    continue
                row = [clean_cell(value) for value in raw[:width]]
                if not any(row):
                    continue
                count += 1
                if count > self._max_rows:
                    raise SpreadsheetError("too_many_rows", limit=self._max_rows)
                row.extend([""] * (width - len(row)))
                yield row

    __iter__ = rows


def read_table(
    filename: str,
    data: bytes,
    *,
    max_bytes: int = 20_000_000,
    max_rows: int = 100_000,
    max_unpacked_bytes: int = 200_000_000,
) -> Table:
    """Open an upload as a Table; every refusal is a SpreadsheetError with a stable code."""
    if len(data) > max_bytes:
        raise SpreadsheetError("too_large", size=len(data), limit=max_bytes)
    if not data:
        raise SpreadsheetError("empty")
    if _detect_format(filename, data) == "xlsx":
        xlsx_reader.check_archive(data, max_unpacked_bytes=max_unpacked_bytes)
        for sheet in xlsx_reader.open_sheets(data)[:HEADER_SEARCH_SHEETS]:
            located = _locate_header(sheet.raw_rows)
            if located is not None:
                headers, first_data_row = located
                declared = sheet.row_total()
                row_count = max(declared - first_data_row, 0) if declared is not None else None
                return Table(
                    headers, "xlsx", row_count, sheet.title, sheet.raw_rows, first_data_row, max_rows
                )
        raise SpreadsheetError("empty")
    text = csv_reader.decode(data)
    raw_rows = functools.partial(csv_reader.raw_rows, text, csv_reader.sniff_delimiter(text))
    located = _locate_header(raw_rows)
    if located is None:
        raise SpreadsheetError("empty")
    headers, first_data_row = located
    return Table(headers, "csv", None, None, raw_rows, first_data_row, max_rows)


def clean_cell(value: object) -> str:
    """A cell as the stripped text a person typed: undoes Excel's ="0123" trick and our own neutralising."""
    text = cell_text(value).strip()
    if len(text) >= 3 and text.startswith('="') and text.endswith('"'):
        # Exporting systems write ="13800000000" so Excel keeps the digits as text.
        text = text[2:-1].replace('""', '"').strip()
    if text.startswith(_NEUTRALISED):
        text = text[1:]
    return text


def _detect_format(filename: str, data: bytes) -> Literal["xlsx", "csv"]:
    # Content decides over the name: browsers and users rename files freely.
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC):
        if _OLE_ENCRYPTION_STREAM in data:
            raise SpreadsheetError("encrypted")
        raise SpreadsheetError("unsupported_format", format="xls")
    if suffix in XLSX_SUFFIXES:
        raise SpreadsheetError("not_a_spreadsheet")
    if suffix in OTHER_SPREADSHEET_SUFFIXES:
        raise SpreadsheetError("unsupported_format", format=suffix[1:])
    return "csv"


def _locate_header(raw_rows: RawRows) -> tuple[list[str], int] | None:
    """(headers, index of the first raw row after them), or None for a sheet without any text."""
    first: tuple[list[str], int] | None = None
    seen = 0
    with closing(raw_rows(MAX_COLUMNS)) as rows:
        for index, raw in enumerate(rows):
            if index >= HEADER_SEARCH_RAW_ROWS:
                break
            if _blank(raw):
                continue
            cells = [clean_cell(value) for value in raw]
            filled = sum(1 for cell in cells if cell)
            if not filled:
                continue
            if first is None:
                first = (cells, index + 1)
            if filled >= 2:
                # A lone cell above the headings is a title, not a one-column header.
                return _trim(cells), index + 1
            seen += 1
            if seen >= HEADER_SEARCH_ROWS:
                break
    return (_trim(first[0]), first[1]) if first is not None else None


def _blank(raw: Sequence[object]) -> bool:
    # Counted in C: openpyxl pads every row to the width asked for, and a sheet can hold a million blank ones.
    return len(raw) == raw.count(None) + raw.count("")


def _trim(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells
