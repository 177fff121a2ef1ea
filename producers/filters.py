"""Which readings a replay keeps: ``--start`` (UTC date), ``--days``, ``--sensors``.

Without ``--start``, ``--days`` counts from the UTC day of the first reading replayed.

>>> from datetime import date
>>> window = ReplayFilter(start=date(2022, 3, 27), days=1)
>>> window.end
datetime.datetime(2022, 3, 28, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flowcast.records import Reading


@dataclass(frozen=True)
class ReplayFilter:
    """A time window ``[start, start + days)`` in UTC and an optional set of sensor ids."""

    start: date | None = None
    days: int | None = None
    sensors: frozenset[str] | None = None

    @property
    def begin(self) -> datetime | None:
        """Start of the window (midnight UTC), if a start date was given."""
        return datetime.combine(self.start, time(), tzinfo=UTC) if self.start else None

    @property
    def end(self) -> datetime | None:
        """End of the window (exclusive), if both start and days were given."""
        begin = self.begin
        return begin + timedelta(days=self.days) if begin and self.days else None

    def anchored(self, first: Reading) -> ReplayFilter:
        """This filter with ``start`` set to the first reading's UTC day if it had none."""
        if self.start is not None:
            return self
        return ReplayFilter(first.ts.astimezone(UTC).date(), self.days, self.sensors)

    def accepts(self, reading: Reading) -> bool:
        """True if the reading is inside the window and of a selected sensor."""
        if self.sensors is not None and reading.sensor_id not in self.sensors:
            return False
        begin, end = self.begin, self.end
        if begin is not None and reading.ts < begin:
            return False
        return end is None or reading.ts < end
