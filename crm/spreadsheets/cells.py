"""Turning one Python cell value into the text a person would read; shared by the readers and the CSV writer."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact for every date this
# CRM stores and needs no tz database on the server.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
# Excel's own limit on the characters of one cell: a longer one was not written by a spreadsheet program.
MAX_CELL_CHARS = 32_767


def number_text(value: int | float | Decimal) -> str:
    """Integers without '.0', no scientific notation, floats to Excel's 15 significant digits."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e21:
        # A mobile or account number typed as a number arrives as 13812345678.0.
        return str(int(value))
    text = format(value, ".15g")  # Excel shows 15 digits; more would print 0.1+0.2 noise
    return format(Decimal(text), "f") if "e" in text else text


def local_naive(value: dt.datetime, tz: dt.tzinfo = CHINA_TZ) -> dt.datetime:
    """Aware datetimes (stored in UTC) as the wall-clock time users see; naive ones are taken as already local."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(tz).replace(tzinfo=None)
    return value.replace(tzinfo=None)


def _round_to_second(value: dt.datetime) -> dt.datetime:
    # Excel keeps times as fractions of a day; 10:31 comes back as 10:30:59.999.
    if value.microsecond >= 500_000:
        value += dt.timedelta(seconds=1)
    return value.replace(microsecond=0)


def _time_text(hour: int, minute: int, second: int) -> str:
    return f"{hour:02d}:{minute:02d}:{second:02d}" if second else f"{hour:02d}:{minute:02d}"


def cell_text(value: object, tz: dt.tzinfo = CHINA_TZ) -> str:
    """Text of a cell value: '' for empty, YYYY-MM-DD for dates (with HH:MM[:SS] when there is a time)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return number_text(value)
    if isinstance(value, dt.datetime):
        value = _round_to_second(local_naive(value, tz))
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return f"{value.date().isoformat()} {_time_text(value.hour, value.minute, value.second)}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        value = _round_to_second(dt.datetime.combine(dt.date(2000, 1, 1), value.replace(tzinfo=None)))
        return _time_text(value.hour, value.minute, value.second)
    return str(value)
