"""Spreadsheet I/O for imports and exports: pure functions over bytes; no Flask, no database, no other crm module."""

from .errors import SpreadsheetError
from .headers import LEAD_FIELDS, guess_mapping, normalise_header
from .reading import Table, read_table
from .writing import neutralise, write_csv, write_xlsx

__all__ = [
    "LEAD_FIELDS",
    "SpreadsheetError",
    "Table",
    "guess_mapping",
    "neutralise",
    "normalise_header",
    "read_table",
    "write_csv",
    "write_xlsx",
]
