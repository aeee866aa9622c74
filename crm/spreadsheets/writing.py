"""Writing lists to XLSX and CSV for download, with formula-like text neutralised; no Flask, no database."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import chain, islice

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .cells import CHINA_TZ, cell_text, local_naive

# Excel, LibreOffice and WPS start a formula (or DDE call) on these; OWASP's list for CSV injection.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Widths are guessed from the header and this many rows; the rest stream through without being held.
WIDTH_SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 8, 60
EXCEL_MAX_TEXT = 32_767
# Beyond 15 significant digits Excel rounds an integer (an 18-digit USCC would lose its tail): keep it as text.
EXCEL_EXACT_INTEGER = 10**15
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; everything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_xlsx(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    sheet_title: str = "Sheet1",
    *,
    tz: dt.tzinfo = CHINA_TZ,
) -> bytes:
    """An XLSX with a bold, frozen header row and columns sized to their content; rows are streamed.
    Dates and datetimes become date cells (aware ones shown in `tz`), Decimal and int become numbers."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(sheet_title))
    rows = iter(rows)
    sample = [[_xlsx_value(value, tz) for value in row] for row in islice(rows, WIDTH_SAMPLE_ROWS)]
    header_values = [_xlsx_value(header, tz) for header in headers]
    # Write-only sheets take column widths and panes only before the first row is written.
    for index, width in enumerate(_column_widths([header_values, *sample]), 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for value in header_values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in chain(sample, ([_xlsx_value(value, tz) for value in row] for row in rows)):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[object]], *, tz: dt.tzinfo = CHINA_TZ) -> bytes:
    """UTF-8 with a BOM (without it Excel reads GBK and garbles Chinese) and CRLF line ends."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_value(header, tz) for header in headers])
    for row in rows:
        writer.writerow([_csv_value(value, tz) for value in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def _csv_value(value: object, tz: dt.tzinfo) -> str:
    if isinstance(value, str):
        return str(neutralise(value))
    if isinstance(value, int | float | Decimal | dt.date | dt.time | bool) or value is None:
        return cell_text(value, tz)
    return str(neutralise(str(value)))


def _xlsx_value(value: object, tz: dt.tzinfo) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < EXCEL_EXACT_INTEGER else str(value)
    if isinstance(value, float | Decimal):
        # NaN and infinity have no cell representation; show what the caller passed.
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        return value if finite else str(value)
    if isinstance(value, dt.datetime):
        return local_naive(value, tz)  # Excel has no time zones
    if isinstance(value, dt.date):
        return value
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    # str() too for str subclasses (StrEnum members), which openpyxl would not recognise as text.
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))[:EXCEL_MAX_TEXT]  # openpyxl refuses C0 controls
    return neutralise(text)


def _sheet_title(title: str) -> str:
    cleaned = _SHEET_TITLE_FORBIDDEN.sub("_", title).strip("'")[:31]
    return cleaned or "Sheet1"


def _column_widths(rows: Sequence[Sequence[object]]) -> list[float]:
    widths: list[float] = []
    for row in rows:
        for index, value in enumerate(row):
            if index == len(widths):
                widths.append(MIN_WIDTH)
            widths[index] = max(widths[index], _display_width(value) + 2)
    return [min(width, MAX_WIDTH) for width in widths]


def _display_width(value: object) -> int:
    text = cell_text(value) if not isinstance(value, str) else value
    longest = max(text.split("\n"), key=len, default="")
    # Chinese characters take two columns of Excel's width unit.
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in longest)
