"""Reference data and dates: municipalities, public holidays, school breaks, school calendars.

Also the date arithmetic the simulation and the writers share: days since 1970 (`_eday`) and
Helsinki wall-clock minutes (`_local_minute`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

HELSINKI = ZoneInfo("Europe/Helsinki")
_EPOCH = date(1970, 1, 1)


def _reference_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "reference"


@dataclass(frozen=True)
class Municipality:
    """A municipality of the 2026 division with its region (maakunta)."""

    code: str
    name: str
    region_code: str


@cache
def municipalities() -> tuple[Municipality, ...]:
    """All municipalities of `kunnat_2026.csv`, codes kept as 3-digit text."""
    with open(_reference_dir() / "kunnat_2026.csv", encoding="utf-8", newline="") as f:
        return tuple(
            Municipality(row["kunta_code"].zfill(3), row["kunta_name_fi"], row["maakunta_code"])
            for row in csv.DictReader(f)
        )


@cache
def _municipality_index() -> dict[str, Municipality]:
    return {m.code: m for m in municipalities()}


def _normalise_code(code: str | int) -> str:
    text = str(code).strip().zfill(3)
    if text not in _municipality_index():
        raise ValueError(f"unknown municipality code {code!r}")
    return text


@cache
def _listed_holidays() -> dict[int, frozenset[date]]:
    """Public holidays per year from the seed file (only the years it covers)."""
    by_year: dict[int, set[date]] = {}
    with open(_reference_dir() / "fi_holidays_2024_2029.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            day = date.fromisoformat(row["date"])
            by_year.setdefault(day.year, set()).add(day)
    return {year: frozenset(days) for year, days in by_year.items()}


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _computed_holidays(year: int) -> frozenset[date]:
    """Weekday-relevant Finnish public holidays for years the seed file does not cover."""
    easter = _easter(year)
    fixed = [(1, 1), (1, 6), (5, 1), (12, 6), (12, 24), (12, 25), (12, 26)]
    days = {date(year, m, d) for m, d in fixed}
    days |= {easter - timedelta(days=2), easter + timedelta(days=1), easter + timedelta(39)}
    return frozenset(days)


def holidays(year: int) -> frozenset[date]:
    """Public holidays of a year: the seed file where it covers the year, else computed."""
    return _listed_holidays().get(year) or _computed_holidays(year)


@cache
def _sample_breaks() -> dict[tuple[str, str, int], tuple[date, date]]:
    """Per (municipality, holiday type, year) the break from the sample, basic education first."""
    breaks: dict[tuple[str, str, int], tuple[date, date]] = {}
    path = _reference_dir() / "school_holidays_sample_2025_2027.csv"
    with open(path, encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: "perusopetus" not in r["school_level"])
    for row in rows:
        key = (row["kunta_code"].zfill(3), row["holiday_type"], int(row["year"]))
        span = (date.fromisoformat(row["start_date"]), date.fromisoformat(row["end_date"]))
        breaks.setdefault(key, span)
    return breaks


def _iso_week_span(year: int, week: int) -> tuple[date, date]:
    monday = date.fromisocalendar(year, week, 1)
    return monday, monday + timedelta(days=6)


def _school_year_start(year: int) -> date:
    day = date(year, 8, 10)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _summer_start(year: int) -> date:
    day = date(year, 5, 29)
    return day + timedelta(days=(5 - day.weekday()) % 7)


def _christmas_start(year: int) -> date:
    day = date(year, 12, 22)
    return day - timedelta(days=day.weekday()) if day.weekday() < 5 else day


@cache
def _breaks(code: str, year: int) -> tuple[tuple[date, date], ...]:
    """School breaks that fall in a calendar year for one municipality."""
    sample = _sample_breaks()
    autumn = sample.get((code, "syysloma", year)) or _iso_week_span(year, 42)
    winter = sample.get((code, "hiihtoloma", year)) or _iso_week_span(year, 9)
    return (
        (date(year, 1, 1), date(year, 1, 6)),
        winter,
        (_summer_start(year), _school_year_start(year) - timedelta(days=1)),
        autumn,
        (_christmas_start(year), date(year, 12, 31)),
    )


def is_school_day(day: date, municipality_code: str) -> bool:
    """Whether pupils of the municipality have lessons on the day."""
    if day.weekday() >= 5 or day in holidays(day.year):
        return False
    return not any(lo <= day <= hi for lo, hi in _breaks(municipality_code, day.year))


@cache
def _calendar(code: str, start: date, school_days: int) -> tuple[date, ...]:
    days: list[date] = []
    day = start
    while len(days) < school_days:
        if is_school_day(day, code):
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


def school_calendar(municipality_code: str, start: date, school_days: int) -> list[date]:
    """The first `school_days` school days of the municipality from `start` onwards."""
    if school_days < 1:
        raise ValueError("school_days must be at least 1")
    return list(_calendar(_normalise_code(municipality_code), start, school_days))


def whole_weeks(coverage: tuple[date, date]) -> tuple[date, date]:
    """Extend a window outward to Monday..Sunday."""
    start, end = coverage
    return start - timedelta(days=start.weekday()), end + timedelta(days=6 - end.weekday())


def _eday(value: date) -> int:
    return (value - _EPOCH).days


def _to_date(eday: int) -> date:
    return _EPOCH + timedelta(days=int(eday))


def _local_minute(moment: datetime) -> int:
    """Minutes since 1970 on the Helsinki wall clock (naive datetimes are Helsinki time)."""
    local = moment.astimezone(HELSINKI) if moment.tzinfo else moment
    return _eday(local.date()) * 1440 + local.hour * 60 + local.minute
