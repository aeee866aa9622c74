"""The holiday calendar (元旦 … 国庆) computed with lunar-python for 1950–2100; no Flask, no database here."""

import datetime
from dataclasses import dataclass
from functools import lru_cache

from lunar_python import Lunar

MIN_YEAR = 1950
MAX_YEAR = 2100

HOLIDAY_KEYS: tuple[str, ...] = (
    "new_year",
    "new_years_eve",
    "spring_festival",
    "lantern",
    "qingming",
    "dragon_boat",
    "mid_autumn",
    "double_ninth",
    "national_day",
)

_NAMES: dict[str, tuple[str, str]] = {
    "new_year": ("元旦", "New Year's Day"),
    "new_years_eve": ("除夕", "Chinese New Year's Eve"),
    "spring_festival": ("春节", "Spring Festival"),
    "lantern": ("元宵节", "Lantern Festival"),
    "qingming": ("清明节", "Qingming Festival"),
    "dragon_boat": ("端午节", "Dragon Boat Festival"),
    "mid_autumn": ("中秋节", "Mid-Autumn Festival"),
    "double_ninth": ("重阳节", "Double Ninth Festival"),
    "national_day": ("国庆节", "National Day"),
}

# Festivals fixed on a day of the Chinese calendar: (lunar month, lunar day). Month numbers here are the
# ordinary months; lunar-python numbers a leap month negatively, so a leap 五月 never shifts 端午.
_LUNAR_DAYS: dict[str, tuple[int, int]] = {
    "spring_festival": (1, 1),
    "lantern": (1, 15),
    "dragon_boat": (5, 5),
    "mid_autumn": (8, 15),
    "double_ninth": (9, 9),
}


@dataclass(frozen=True)
class Holiday:
    key: str
    name: str
    name_en: str
    date: datetime.date


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"holiday dates are available for {MIN_YEAR}–{MAX_YEAR} only, not {year}")


def _check_key(key: str) -> None:
    if key not in _NAMES:
        raise ValueError(f"unknown holiday key {key!r}; expected one of: {', '.join(HOLIDAY_KEYS)}")


def _lunar_to_date(year: int, month: int, day: int) -> datetime.date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return datetime.date(solar.getYear(), solar.getMonth(), solar.getDay())


def _holiday(key: str, date: datetime.date) -> Holiday:
    name, name_en = _NAMES[key]
    return Holiday(key=key, name=name, name_en=name_en, date=date)


@lru_cache(maxsize=256)
def _holidays(year: int) -> tuple[Holiday, ...]:
    dates = {key: _lunar_to_date(year, month, day) for key, (month, day) in _LUNAR_DAYS.items()}
    # 除夕 is the last day of the old year, which is 腊月廿九 when that month is short (2025-01-28).
    dates["new_years_eve"] = dates["spring_festival"] - datetime.timedelta(days=1)
    # Lunar year `year` begins between 21 Jan and 20 Feb, so its solar-term table holds this April's 清明.
    qingming = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    dates["qingming"] = datetime.date(qingming.getYear(), qingming.getMonth(), qingming.getDay())
    dates["new_year"] = datetime.date(year, 1, 1)
    dates["national_day"] = datetime.date(year, 10, 1)
    return tuple(sorted((_holiday(key, dates[key]) for key in HOLIDAY_KEYS), key=lambda h: h.date))


def holidays_for_year(year: int) -> list[Holiday]:
    """The nine holidays falling in solar `year`, sorted by date; ValueError outside 1950–2100."""
    _check_year(year)
    return list(_holidays(year))


def _find(key: str, year: int) -> Holiday:
    _check_year(year)
    return next(h for h in _holidays(year) if h.key == key)


def holiday_date(key: str, year: int) -> datetime.date:
    """The date of holiday `key` in solar `year` (除夕 is the eve of that year's 春节)."""
    _check_key(key)
    return _find(key, year).date


def next_occurrence(key: str, today: datetime.date) -> Holiday:
    """Holiday `key` on or after `today`, taken from next year once this year's has passed."""
    _check_key(key)
    holiday = _find(key, today.year)
    if holiday.date < today:
        holiday = _find(key, today.year + 1)
    return holiday
