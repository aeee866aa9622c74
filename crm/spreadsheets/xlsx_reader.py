"""Opening an XLSX upload: archive checks before a byte is parsed, then each sheet's raw cell values."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from . import xlsx_stream
from .errors import SpreadsheetError, reraised_as

# Sheet XML written by Excel, WPS or openpyxl deflates 10–25×; the measured bomb (0.5 MB → 111 MB) is ~220×.
# Every part is checked, however small: 40 sheets of 1 MB of <row/> each passed a check of parts over 1 MB only
# (issue 13, item 10). A part too small to reach the ratio on its own (a few hundred bytes) cannot trip it.
MAX_COMPRESSION_RATIO = 100
# Excel's own limit on a workbook's sheets is memory; a 台账 has a handful. Past this the file is forged.
MAX_SHEETS = 100
# A row number past Excel's last row is forged (and would make a million blank rows).
EXCEL_MAX_ROWS = xlsx_stream.EXCEL_MAX_ROWS

RawRows = Callable[[int], Iterator[Sequence[object]]]


@dataclass(frozen=True)
class SheetSource:
    title: str
    raw_rows: RawRows  # called with the number of columns wanted; yields every row, empty ones included
    declared_rows: Callable[[], int | None]  # read from the sheet's start on demand: only the chosen sheet's
    count_rows: Callable[[], int] | None = None  # its rows counted, for a sheet that declares no size

    def row_total(self) -> int | None:
        """Rows as declared by the sheet's dimension, else as counted (a write-only openpyxl file has none)."""
        with reraised_as("not_a_spreadsheet"):
            declared = self.declared_rows()
        if declared is not None and declared > 1:
            return declared
        if self.count_rows is None:
            return declared
        with reraised_as("not_a_spreadsheet"):
            return self.count_rows()


def check_archive(data: bytes, *, max_unpacked_bytes: int) -> None:
    """Refuse archives that are not workbooks or would unpack too far, using only the zip directory."""
    with reraised_as("not_a_spreadsheet"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    names = {member.filename for member in members}
    if "mimetype" in names and "content.xml" in names:
        raise SpreadsheetError("unsupported_format", format="ods")
    if "xl/workbook.bin" in names:
        raise SpreadsheetError("unsupported_format", format="xlsb")
    if any(member.flag_bits & 0x1 for member in members):
        raise SpreadsheetError("encrypted")
    if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
        raise SpreadsheetError("not_a_spreadsheet")
    # The directory's sizes are a real bound: zipfile stops each member at its declared size and then
    # fails the CRC check, so a member cannot secretly unpack to more than it claims.
    total = sum(member.file_size for member in members)
    if total > max_unpacked_bytes:
        raise SpreadsheetError("unpacked_too_large", size=total, limit=max_unpacked_bytes)
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > MAX_COMPRESSION_RATIO:
            raise SpreadsheetError(
                "unpacked_too_large", size=total, limit=max_unpacked_bytes, ratio=round(ratio)
            )
    sheets = sum(1 for name in names if name.startswith("xl/worksheets/") and name.endswith(".xml"))
    if sheets > MAX_SHEETS:
        raise SpreadsheetError("too_many_sheets", limit=MAX_SHEETS)


def open_sheets(data: bytes) -> list[SheetSource]:
    """The workbook's worksheets, the one Excel would show first leading; call check_archive before.
    Sheets are streamed from the zip with the C XML parser (xlsx_stream), not openpyxl: 20× faster."""
    with reraised_as("not_a_spreadsheet"):
        archive = zipfile.ZipFile(io.BytesIO(data))
        book = xlsx_stream.Workbook(archive)
    if not book.sheets:
        raise SpreadsheetError("not_a_spreadsheet")
    if len(book.sheets) > MAX_SHEETS:  # parts named otherwise than Excel names them
        raise SpreadsheetError("too_many_sheets", limit=MAX_SHEETS)
    ordered = sorted(enumerate(book.sheets), key=lambda item: (item[0] != book.active, item[1][1] != "visible"))
    return [_source(book, title, path) for _index, (title, _state, path) in ordered]


def _source(book: xlsx_stream.Workbook, title: str, path: str) -> SheetSource:
    def raw_rows(max_columns: int) -> Iterator[Sequence[object]]:
        # Read to the real end: the declared dimension is often wrong, and cells outside it are still data.
        with reraised_as("not_a_spreadsheet"):
            yield from book.rows(path, max(max_columns, 1))

    return SheetSource(title=title, raw_rows=raw_rows, declared_rows=lambda: book.dimension_rows(path),
                       count_rows=lambda: book.count_rows(path))
