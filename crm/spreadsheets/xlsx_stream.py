"""Streaming an XLSX's sheets straight from the zip with the C XML parser: the workbook, its shared strings and
date styles once, then each sheet row by row. About 20× faster than openpyxl's read-only mode (pure Python per
cell), with the same values for what a 台账 holds. Call xlsx_reader.check_archive first: sizes are bounded there."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Iterator
from xml.etree.ElementTree import XMLPullParser
from xml.parsers import expat

from .cells import MAX_CELL_CHARS
from .errors import SpreadsheetError

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
_READ = 1 << 14
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
# Built-in number formats that show a date or time: the international ones, and the zh-CN ones (27–36,
# 50–58: yyyy"年"m"月"d"日" and the like), which Excel and WPS write by id without defining them.
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)])
_QUOTED_OR_BRACKETED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')
_DATE_CODE = re.compile(r"[dmyhs年月日时分秒]", re.IGNORECASE)
_INTEGER = re.compile(r"-?\d+\Z")
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row(?:\s[^<>]*)?(?<!/)>")
_ROW_TAG_KEEP = 4096


class Workbook:
    """The parts of one workbook a reader needs; sheets are read lazily, as often as asked."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.names = set(archive.namelist())
        root_rels = _rels(self, "_rels/.rels", "")
        workbook_path = next((target for kind, target in root_rels.values() if kind.endswith("/officeDocument")),
                             "xl/workbook.xml")
        self.workbook_path = workbook_path
        rels = _rels(self, _rels_path(workbook_path), posixpath.dirname(workbook_path))
        self.sheets: list[tuple[str, str, str]] = []  # (title, state, part path)
        self.active = 0
        self.date1904 = False
        for elem in _elements(self, workbook_path, ("sheet", "workbookView", "workbookPr")):
            tag = _local(elem.tag)
            if tag == "sheet":
                rid = elem.get(f"{{{_REL}}}id") or elem.get(f"{{{_STRICT_REL}}}id")
                kind, target = rels.get(rid or "", ("", ""))
                if kind.endswith("/worksheet") and target in self.names:
                    self.sheets.append((elem.get("name") or "", elem.get("state") or "visible", target))
            elif tag == "workbookView":
                self.active = _int(elem.get("activeTab"), 0)
            elif tag == "workbookPr":
                self.date1904 = (elem.get("date1904") or "").lower() in ("1", "true")
        by_kind = {kind.rsplit("/", 1)[-1]: target for kind, target in rels.values()}
        self.shared = _shared_strings(self, by_kind.get("sharedStrings"))
        self.date_styles = _date_styles(self, by_kind.get("styles"))

    def open(self, path: str):
        if path not in self.names:
            raise SpreadsheetError("not_a_spreadsheet")
        return self.archive.open(path)

    def dimension_rows(self, path: str) -> int | None:
        """Rows the sheet declares in <dimension ref="A1:I500"/> (read from its start only), or None."""
        for elem in _elements(self, path, ("dimension",), stop="sheetData"):
            match = re.search(r"(\d+)\s*$", elem.get("ref") or "")
            return int(match.group(1)) if match else None
        return None

    def count_rows(self, path: str) -> int:
        """Row elements holding something (<row ...>, not <row .../>), counted in the raw bytes without parsing:
        for a sheet that declares no size (openpyxl's write-only output). ~0.1 s per 100,000 rows; the part's
        size is bounded by check_archive."""
        count, tail = 0, b""
        with self.open(path) as fh:
            while True:
                data = fh.read(_READ)
                buf = tail + data
                # A tag cut by the chunk's end is left whole in the tail (no row tag is near _ROW_TAG_KEEP long);
                # a counted one ending in the tail cannot match again there, as the tail starts after its "<".
                cutoff = len(buf) - _ROW_TAG_KEEP if data else len(buf)
                count += sum(1 for match in _ROW_TAG.finditer(buf) if match.start() < cutoff)
                if not data:
                    return count
                tail = buf[max(cutoff, 0):]

    def rows(self, path: str, max_columns: int) -> Iterator[tuple]:
        """Every row from the first: blank ones (gaps in the row numbers included) as (), others as tuples of
        values (str, int, float, bool, datetime, time or None) up to max_columns wide."""
        shared, date_styles = self.shared, self.date_styles
        epoch = _EPOCH_1904 if self.date1904 else _EPOCH_1900
        columns: dict[str, int] = {}
        expected = 1
        row_tag = cell_tag = None
        for event, elem in _events(self, path, ends_after="sheetData"):
            if event == "start":
                if row_tag is None:  # the root: its namespace names the row and cell tags
                    ns = elem.tag[: elem.tag.index("}") + 1] if elem.tag.startswith("{") else ""
                    row_tag, cell_tag = ns + "row", ns + "c"
                    v_tag, is_tag, t_tag, r_tag = ns + "v", ns + "is", ns + "t", ns + "r"
                    sheet_data = None
                elif sheet_data is None and elem.tag.endswith("sheetData"):
                    sheet_data = elem
                continue
            if elem.tag != row_tag:
                continue
            number = _int(elem.get("r"), expected)
            if number < expected:
                number = expected  # out of order: taken in file order, as Excel repairs it
            if number > EXCEL_MAX_ROWS:
                raise SpreadsheetError("not_a_spreadsheet")
            while expected < number:
                yield ()
                expected += 1
            expected = number + 1
            values: list = []
            position = 0
            for cell in elem:
                if cell.tag != cell_tag:
                    continue
                ref = cell.get("r")
                if ref:
                    letters = ref.rstrip("0123456789")
                    position = columns.get(letters)
                    if position is None:
                        position = columns[letters] = _column(letters)
                else:
                    position += 1
                if position > max_columns:
                    continue
                value = _value(cell, shared, date_styles, epoch, v_tag, is_tag, t_tag, r_tag)
                if value is None:
                    continue
                if type(value) is str and len(value) > MAX_CELL_CHARS:
                    raise SpreadsheetError("cell_too_large", limit=MAX_CELL_CHARS)
                if position > len(values) + 1:
                    values.extend([None] * (position - 1 - len(values)))
                if position <= len(values):
                    values[position - 1] = value
                else:
                    values.append(value)
            elem.clear()
            if sheet_data is not None:
                sheet_data.clear()  # rows already read are dropped: memory stays flat
            yield tuple(values)


def _value(cell, shared, date_styles, epoch, v_tag, is_tag, t_tag, r_tag):
    kind = cell.get("t")
    if kind == "inlineStr":
        inline = cell.find(is_tag)
        return _rich_text(inline, t_tag, r_tag) if inline is not None else None
    v = cell.find(v_tag)
    text = v.text if v is not None else None
    if text is None:
        return None
    if kind is None or kind == "n":
        try:
            number = int(text) if _INTEGER.match(text) else float(text)
        except ValueError:
            raise SpreadsheetError("not_a_spreadsheet") from None
        style = cell.get("s")
        if style is not None and _int(style, -1) in date_styles:
            return _from_serial(number, epoch)
        return number
    if kind == "s":
        try:
            return shared[int(text)]
        except (ValueError, IndexError):
            raise SpreadsheetError("not_a_spreadsheet") from None
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "d":
        try:
            return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return text
    return text  # "str" (a formula's text result) and "e" (#N/A …) read as their text


def _from_serial(number: float, epoch: dt.datetime):
    """Excel's day number as a datetime, or a time for a fraction of a day (as openpyxl reads them)."""
    try:
        if 0 <= number < 1:
            seconds = round(number * 86400)
            return (dt.datetime.min + dt.timedelta(seconds=min(seconds, 86399))).time()
        if epoch is _EPOCH_1900 and number < 60:
            epoch = epoch + dt.timedelta(days=1)  # Lotus' 29 February 1900 that never was
        return epoch + dt.timedelta(days=number)
    except (OverflowError, ValueError):
        return number


def _rich_text(elem, t_tag: str, r_tag: str) -> str:
    """Text of an <si> or <is>: its <t>, or its runs' <t>s; phonetic guides (<rPh>) are left out."""
    parts = []
    for child in elem:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            parts += [t.text or "" for t in child if t.tag == t_tag]
    return "".join(parts)


def _shared_strings(book: Workbook, path: str | None) -> list[str]:
    if not path or path not in book.names:
        return []
    out: list[str] = []
    t_tag = r_tag = si_tag = None
    root = None
    for event, elem in _events(book, path, ends_after="sst"):
        if event == "start":
            if root is None:
                root = elem
                ns = elem.tag[: elem.tag.index("}") + 1] if elem.tag.startswith("{") else ""
                si_tag, t_tag, r_tag = ns + "si", ns + "t", ns + "r"
            continue
        if elem.tag == si_tag:
            text = _rich_text(elem, t_tag, r_tag)
            if len(text) > MAX_CELL_CHARS:
                raise SpreadsheetError("cell_too_large", limit=MAX_CELL_CHARS)
            out.append(text)
            root.clear()
    return out


def _date_styles(book: Workbook, path: str | None) -> frozenset[int]:
    """Indexes of the cell formats (cellXfs) that show a date or time."""
    if not path or path not in book.names:
        return frozenset()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    in_cell_xfs = False
    for event, elem in _events(book, path):
        tag = _local(elem.tag)
        if tag == "cellXfs":
            in_cell_xfs = event == "start"
        elif event == "end" and tag == "numFmt":
            custom[_int(elem.get("numFmtId"), -1)] = elem.get("formatCode") or ""
        elif event == "end" and tag == "xf" and in_cell_xfs:
            xfs.append(_int(elem.get("numFmtId"), 0))
    dates = set()
    for index, fmt_id in enumerate(xfs):
        code = custom.get(fmt_id)
        if code is not None:
            if _is_date_code(code):
                dates.add(index)
        elif fmt_id in _DATE_FORMAT_IDS:
            dates.add(index)
    return frozenset(dates)


def _is_date_code(code: str) -> bool:
    code = code.split(";", 1)[0]
    if code.strip().lower() == "general":
        return False
    return bool(_DATE_CODE.search(_QUOTED_OR_BRACKETED.sub("", code)))


# ---- XML plumbing ------------------------------------------------------------------------------------------

def _events(book: Workbook, path: str, ends_after: str | None = None) -> Iterator[tuple[str, object]]:
    """(event, element) pairs of one part, parsed 16 KiB at a time (a header search that stops after 1,000 rows
    parses no more than it needs: 64 KiB reads parsed ~4,600 blank rows per sheet). With ends_after, start events stop once
    that element has started (halving the events of a sheet: its rows need only their ends). A part with a
    DTD is refused (see _RefuseDTD)."""
    parser = XMLPullParser(events=("start", "end"))
    guard: _RefuseDTD | None = _RefuseDTD()
    with book.open(path) as fh:
        while True:
            data = fh.read(_READ)
            if not data:
                break
            if guard is not None:
                guard.feed(data)  # before the tree parser sees these bytes: it would expand what they declare
                if guard.root_started:
                    guard = None  # no DTD can follow the root element's start
            parser.feed(data)
            for event, elem in parser.read_events():
                if ends_after is not None and event == "start" and elem.tag.endswith(ends_after):
                    _ends_only(parser)
                    ends_after = None
                yield event, elem
        parser.close()
        yield from parser.read_events()


class _RefuseDTD:
    """A second expat parser fed a part's bytes until its root element starts, with handlers that refuse a
    document type declaration and any entity declaration. OOXML never has a DTD, and entity tricks (billion
    laughs, text injected into cells) are the only reason to send one. A parser sees the declaration wherever
    the reads split it, as a scan of each read's bytes did not (issue 13, item 11). ElementTree's fast C parser
    takes no such handler (defusedxml sets them on the slow pure-Python one), hence this parser beside it; it
    costs nothing past the root's start tag."""

    def __init__(self) -> None:
        self.root_started = False
        self._expat = expat.ParserCreate()
        self._expat.StartDoctypeDeclHandler = self._refuse
        self._expat.EntityDeclHandler = self._refuse
        self._expat.UnparsedEntityDeclHandler = self._refuse
        self._expat.ExternalEntityRefHandler = self._refuse
        self._expat.StartElementHandler = self._root

    def feed(self, data: bytes) -> None:
        try:
            self._expat.Parse(data, False)
        except expat.ExpatError:
            raise SpreadsheetError("not_a_spreadsheet") from None

    def _root(self, *_args) -> None:
        self.root_started = True
        self._expat.StartElementHandler = None

    @staticmethod
    def _refuse(*_args) -> None:
        raise SpreadsheetError("not_a_spreadsheet")


def _ends_only(parser: XMLPullParser) -> None:
    """Report only end events from now on (the events already queued are kept). CPython's parser takes a new
    event set this way; elsewhere, nothing changes and the start events are merely skipped."""
    try:
        parser._parser._setevents(parser._events_queue, ("end",))  # noqa: SLF001
    except AttributeError:
        pass


def _elements(book: Workbook, path: str, tags: tuple[str, ...], stop: str | None = None):
    for event, elem in _events(book, path):
        tag = _local(elem.tag)
        if stop is not None and tag == stop:
            return
        if event == "end" and tag in tags:
            yield elem


def _rels(book: Workbook, path: str, base: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, part path inside the archive)."""
    if path not in book.names:
        return {}
    out = {}
    for elem in _elements(book, path, ("Relationship",)):
        target = elem.get("Target") or ""
        if elem.get("TargetMode") == "External":
            continue
        full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        out[elem.get("Id") or ""] = (elem.get("Type") or "", full)
    return out


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column(letters: str) -> int:
    number = 0
    for char in letters.upper():
        if not "A" <= char <= "Z":
            raise SpreadsheetError("not_a_spreadsheet")
        number = number * 26 + ord(char) - 64
    if number > EXCEL_MAX_COLUMNS or number == 0:
        raise SpreadsheetError("not_a_spreadsheet")
    return number


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
