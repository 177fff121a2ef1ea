"""Calendar context of an hour in Paris local time: hour of day, day type, holidays.

Traffic follows local time, so every calendar feature is computed in Europe/Paris.

>>> ctx = hour_context(hour_index_of("2022-07-14T10:00:00+00:00"))  # Bastille Day, 12:00 local
>>> ctx.local_hour, ctx.public_holiday, ctx.day_type == DAY_TYPE_SUNDAY
(12, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from flowcast.records import HOUR_SECONDS

PARIS = ZoneInfo("Europe/Paris")
DAY_TYPE_MON_THU = 0
DAY_TYPE_FRIDAY = 1
DAY_TYPE_SATURDAY = 2
DAY_TYPE_SUNDAY = 3  # Sundays and public holidays
DAY_TYPES = 4
_FRENCH_HOLIDAYS = holidays.country_holidays("FR")


@dataclass(frozen=True, slots=True)
class HourContext:
    """What the calendar says about one hour, in Paris local time."""

    local_hour: int
    weekday: int
    day_type: int
    public_holiday: bool
    school_holiday: bool


def hour_index_of(text: str) -> int:
    """Epoch hour of an ISO timestamp with offset (a helper for doctests and tests)."""
    return int(datetime.fromisoformat(text).timestamp()) // HOUR_SECONDS


@lru_cache(maxsize=200_000)
def hour_context(hour: int) -> HourContext:
    """Calendar context of epoch hour ``hour`` (cached: every sensor shares the same hours)."""
    local = datetime.fromtimestamp(hour * HOUR_SECONDS, tz=UTC).astimezone(PARIS)
    day = local.date()
    public = is_public_holiday(day)
    weekday = day.weekday()
    return HourContext(
        local_hour=local.hour,
        weekday=weekday,
        day_type=_day_type(weekday, public),
        public_holiday=public,
        school_holiday=is_school_holiday(day),
    )


def _day_type(weekday: int, public_holiday: bool) -> int:
    if public_holiday or weekday == 6:
        return DAY_TYPE_SUNDAY
    if weekday == 5:
        return DAY_TYPE_SATURDAY
    if weekday == 4:
        return DAY_TYPE_FRIDAY
    return DAY_TYPE_MON_THU


@lru_cache(maxsize=10_000)
def is_public_holiday(day: date) -> bool:
    """French public holiday (package ``holidays``)."""
    return day in _FRENCH_HOLIDAYS


@lru_cache(maxsize=10_000)
def is_school_holiday(day: date) -> bool:
    """School holiday in zone C (Paris), when ``vacances-scolaires-france`` knows the year."""
    try:
        return bool(_school_calendar().is_holiday_for_zone(day, "C"))
    except Exception:  # the package raises for years it has no data for
        return False


@lru_cache(maxsize=1)
def _school_calendar() -> Any:
    from vacances_scolaires_france import SchoolHolidayDates

    return SchoolHolidayDates()
