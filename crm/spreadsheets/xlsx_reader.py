"""Opening an XLSX upload: archive checks before a byte is parsed, then each sheet's raw cell values."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from . import xlsx_stream
from .errors import SpreadsheetError, reraised_as

# Sheet XML written by Excel, WPS or openpyxl deflates 10–25×; the measured bomb (0.5 MB → 111 MB) is ~220×.
MAX_COMPRESSION_RATIO = 100
# Small parts (styles, relationships) can compress absurdly well and cost nothing to parse.
RATIO_CHECK_MIN_BYTES = 1_000_000
# A row number past Excel's last row is forged (and would make a million blank rows).
EXCEL_MAX_ROWS = xlsx_stream.EXCEL_MAX_ROWS

RawRows = Callable[[int], Iterator[Sequence[object]]]


@dataclass(frozen=True)
class SheetSource:
    title: str
    declared_rows: int | None
    raw_rows: RawRows  # called with the number of columns wanted; yields every row, empty ones included
    count_rows: Callable[[], int] | None = None  # its rows counted, for a sheet that declares no size

    def row_total(self) -> int | None:
        """Rows as declared by the sheet's dimension, else as counted (a write-only openpyxl file has none)."""
        if self.declared_rows is not None and self.declared_rows > 1:
            return self.declared_rows
        if self.count_rows is None:
            return self.declared_rows
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
        if member.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise SpreadsheetError(
                "unpacked_too_large", size=total, limit=max_unpacked_bytes, ratio=round(ratio)
            )


def open_sheets(data: bytes) -> list[SheetSource]:
    """The workbook's worksheets, the one Excel would show first leading; call check_archive before.
    Sheets are streamed from the zip with the C XML parser (xlsx_stream), not openpyxl: 20× faster."""
    with reraised_as("not_a_spreadsheet"):
        archive = zipfile.ZipFile(io.BytesIO(data))
        book = xlsx_stream.Workbook(archive)
    if not book.sheets:
        raise SpreadsheetError("not_a_spreadsheet")
    ordered = sorted(enumerate(book.sheets), key=lambda item: (item[0] != book.active, item[1][1] != "visible"))
    return [_source(book, title, path) for _index, (title, _state, path) in ordered]


def _source(book: xlsx_stream.Workbook, title: str, path: str) -> SheetSource:
    with reraised_as("not_a_spreadsheet"):
        declared = book.dimension_rows(path)

    def raw_rows(max_columns: int) -> Iterator[Sequence[object]]:
        # Read to the real end: the declared dimension is often wrong, and cells outside it are still data.
        with reraised_as("not_a_spreadsheet"):
            yield from book.rows(path, max(max_columns, 1))

    return SheetSource(title=title, declared_rows=declared, raw_rows=raw_rows,
                       count_rows=lambda: book.count_rows(path))
