"""Timestamps to UTC: offset ISO strings directly, naive local times exactly (Europe/Paris
unless a source definition names another zone).

A naive local time in the autumn repeated hour is ambiguous: its first occurrence for a
sensor is taken as summer time (CEST, ``fold=0``), a second one as winter time (CET,
``fold=1``). A local time that does not exist (the spring gap) is rejected.

>>> resolver = LocalTimeResolver()
>>> [format_utc(resolver.to_utc("376", "2022-10-30 02:00:00")) for _ in range(2)]
['2022-10-30T00:00:00Z', '2022-10-30T01:00:00Z']
>>> resolver.to_utc("376", "2022-03-27 02:00:00")
Traceback (most recent call last):
...
producers.values.InvalidValueError: 2022-03-27 02:00:00 does not exist in Europe/Paris (DST gap)
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flowcast.records import format_utc
from producers.values import InvalidValueError, is_blank

PARIS = ZoneInfo("Europe/Paris")
_FRENCH_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")

__all__ = ["PARIS", "LocalTimeResolver", "format_utc", "parse_timestamp"]


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 (``T`` or space, optional offset/``Z``) or ``dd/mm/yyyy HH:MM[:SS]``.

    Returns an aware datetime for an offset, a naive one for local time.
    """
    if is_blank(value):
        raise InvalidValueError("missing_timestamp", "no timestamp")
    if not isinstance(value, str):
        raise InvalidValueError("wrong_type", f"timestamp of type {type(value).__name__}")
    text = value.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _FRENCH_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise InvalidValueError("bad_timestamp", f"unreadable timestamp {text!r}")


@lru_cache(maxsize=1 << 16)
def local_time_exists(local: datetime, zone: ZoneInfo = PARIS) -> bool:
    """Whether the naive ``local`` time exists in ``zone`` (False in a spring-forward gap)."""
    aware = local.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


@lru_cache(maxsize=1 << 16)
def local_time_ambiguous(local: datetime, zone: ZoneInfo = PARIS) -> bool:
    """Whether the naive ``local`` time happens twice in ``zone`` (the autumn repeated hour)."""
    early = local.replace(tzinfo=zone, fold=0).utcoffset()
    late = local.replace(tzinfo=zone, fold=1).utcoffset()
    return early != late


class LocalTimeResolver:
    """Turns timestamps into UTC, tracking per sensor which ambiguous local hours it has seen.

    Memory holds only ambiguous hours already met (two a year per sensor).
    """

    def __init__(self, zone: ZoneInfo = PARIS) -> None:
        self.zone = zone
        self._seen_ambiguous: set[tuple[str, datetime]] = set()

    def to_utc(self, sensor_id: str, value: Any) -> datetime:
        """The UTC instant of ``value`` for ``sensor_id``; raises `InvalidValueError` if not."""
        parsed = parse_timestamp(value)
        try:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
            return self._local_to_utc(sensor_id, parsed)
        except OverflowError:  # year 1 or 9999 pushed off the calendar by the UTC offset
            raise InvalidValueError(
                "bad_timestamp", f"timestamp {value!r} is outside the calendar in UTC"
            ) from None

    def _local_to_utc(self, sensor_id: str, local: datetime) -> datetime:
        zone = self.zone
        if not local_time_exists(local, zone):
            raise InvalidValueError(
                "nonexistent_local_time", f"{local} does not exist in {zone.key} (DST gap)"
            )
        return local.replace(tzinfo=zone, fold=self.fold(sensor_id, local)).astimezone(UTC)

    def fold(self, sensor_id: str, local: datetime) -> int:
        """0, or 1 for an ambiguous local time already met for ``sensor_id`` (its second
        occurrence)."""
        if not local_time_ambiguous(local, self.zone):
            return 0
        key = (sensor_id, local)
        if key in self._seen_ambiguous:
            return 1
        self._seen_ambiguous.add(key)
        return 0
