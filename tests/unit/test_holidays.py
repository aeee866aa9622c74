"""The holiday calendar against published dates; pure functions, no app."""

import datetime

import pytest

from crm.holidays import HOLIDAY_KEYS, Holiday, holiday_date, holidays_for_year, next_occurrence

# Published dates, 2020–2035 (cross-checked against borax 4.1 and, for 2034's 重阳, an ephemeris).
# Each row: 春节, 除夕, 元宵, 清明, 端午, 中秋, 重阳 as MM-DD of that year.
PUBLISHED = {
    2020: ("01-25", "01-24", "02-08", "04-04", "06-25", "10-01", "10-25"),
    2021: ("02-12", "02-11", "02-26", "04-04", "06-14", "09-21", "10-14"),
    2022: ("02-01", "01-31", "02-15", "04-05", "06-03", "09-10", "10-04"),
    2023: ("01-22", "01-21", "02-05", "04-05", "06-22", "09-29", "10-23"),
    2024: ("02-10", "02-09", "02-24", "04-04", "06-10", "09-17", "10-11"),
    2025: ("01-29", "01-28", "02-12", "04-04", "05-31", "10-06", "10-29"),
    2026: ("02-17", "02-16", "03-03", "04-05", "06-19", "09-25", "10-18"),
    2027: ("02-06", "02-05", "02-20", "04-05", "06-09", "09-15", "10-08"),
    2028: ("01-26", "01-25", "02-09", "04-04", "05-28", "10-03", "10-26"),
    2029: ("02-13", "02-12", "02-27", "04-04", "06-16", "09-22", "10-16"),
    2030: ("02-03", "02-02", "02-17", "04-05", "06-05", "09-12", "10-05"),
    2031: ("01-23", "01-22", "02-06", "04-05", "06-24", "10-01", "10-24"),
    2032: ("02-11", "02-10", "02-25", "04-04", "06-12", "09-19", "10-12"),
    2033: ("01-31", "01-30", "02-14", "04-04", "06-01", "09-08", "10-01"),
    2034: ("02-19", "02-18", "03-05", "04-05", "06-20", "09-27", "10-20"),  # after 2033's leap 11th month
    2035: ("02-08", "02-07", "02-22", "04-05", "06-10", "09-16", "10-09"),
}
COLUMNS = (
    "spring_festival",
    "new_years_eve",
    "lantern",
    "qingming",
    "dragon_boat",
    "mid_autumn",
    "double_ninth",
)
CASES = [
    pytest.param(key, year, datetime.date.fromisoformat(f"{year}-{month_day}"), id=f"{year}-{key}")
    for year, row in PUBLISHED.items()
    for key, month_day in zip(COLUMNS, row, strict=True)
]


@pytest.mark.parametrize(("key", "year", "expected"), CASES)
def test_holiday_date_matches_published_calendar(key: str, year: int, expected: datetime.date) -> None:
    assert holiday_date(key, year) == expected


@pytest.mark.parametrize("year", [2020, 2035])
def test_fixed_solar_holidays_are_new_year_and_national_day(year: int) -> None:
    assert holiday_date("new_year", year) == datetime.date(year, 1, 1)
    assert holiday_date("national_day", year) == datetime.date(year, 10, 1)


def test_new_years_eve_2025_is_the_29th_of_the_twelfth_month() -> None:
    assert holiday_date("new_years_eve", 2025) == datetime.date(2025, 1, 28)


@pytest.mark.parametrize("year", [1950, 1984, 2025, 2100])
def test_holidays_for_year_has_all_keys_sorted_by_date(year: int) -> None:
    holidays = holidays_for_year(year)

    assert sorted(h.key for h in holidays) == sorted(HOLIDAY_KEYS)
    assert [h.date for h in holidays] == sorted(h.date for h in holidays)
    assert all(h.date.year == year for h in holidays)


def test_holidays_for_year_carries_chinese_and_english_names() -> None:
    by_key = {h.key: h for h in holidays_for_year(2025)}

    assert by_key["spring_festival"] == Holiday(
        key="spring_festival", name="春节", name_en="Spring Festival", date=datetime.date(2025, 1, 29)
    )
    assert [by_key[key].name for key in HOLIDAY_KEYS] == [
        "元旦", "除夕", "春节", "元宵节", "清明节", "端午节", "中秋节", "重阳节", "国庆节",
    ]  # fmt: skip
    assert all(by_key[key].name_en for key in HOLIDAY_KEYS)


def test_holidays_for_year_returns_a_copy_the_cache_does_not_share() -> None:
    holidays_for_year(2026).clear()

    assert len(holidays_for_year(2026)) == len(HOLIDAY_KEYS)


@pytest.mark.parametrize("year", [1949, 2101])
def test_year_outside_1950_to_2100_is_rejected(year: int) -> None:
    with pytest.raises(ValueError, match="1950–2100"):
        holidays_for_year(year)
    with pytest.raises(ValueError, match="1950–2100"):
        holiday_date("spring_festival", year)


def test_unknown_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown holiday key 'christmas'"):
        holiday_date("christmas", 2025)
    with pytest.raises(ValueError, match="unknown holiday key"):
        next_occurrence("christmas", datetime.date(2025, 1, 1))


def test_next_occurrence_on_the_day_itself_is_that_day() -> None:
    holiday = next_occurrence("mid_autumn", datetime.date(2025, 10, 6))

    assert (holiday.key, holiday.date) == ("mid_autumn", datetime.date(2025, 10, 6))


def test_next_occurrence_before_the_day_stays_in_this_year() -> None:
    assert next_occurrence("dragon_boat", datetime.date(2025, 1, 1)).date == datetime.date(2025, 5, 31)


def test_next_occurrence_after_this_years_looks_into_next_year() -> None:
    assert next_occurrence("spring_festival", datetime.date(2025, 1, 30)).date == datetime.date(2026, 2, 17)
    assert next_occurrence("new_years_eve", datetime.date(2025, 12, 31)).date == datetime.date(2026, 2, 16)
    assert next_occurrence("new_year", datetime.date(2025, 12, 31)).date == datetime.date(2026, 1, 1)


def test_next_occurrence_past_2100_is_rejected() -> None:
    with pytest.raises(ValueError, match="not 2101"):
        next_occurrence("national_day", datetime.date(2100, 10, 2))
