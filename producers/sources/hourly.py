"""Hourly flows from sub-hourly intervals: per-sensor hour buckets, flushed as time moves on.

Intervals arrive as ``(sensor, epoch second of the interval start, value)``. Each UTC hour of
a sensor is a bucket of ``60 / interval`` slots; the first value of a slot wins (a repeated
interval is counted as ``duplicate_interval``), a blank value fills nothing. A bucket is closed
once the sensor's newest interval is more than `REORDER_HOURS` hours later, or at the end.
On closing, an hour with at least ``min_complete`` of its slots gives a flow — the sum scaled
to the full hour (``sum × slots / filled``, counts) or the mean (rates) — and an emptier hour a
reading with no flow, marked ``incomplete_hour``. An interval for an hour already closed is
late (the file is out of order beyond the window): the caller dead-letters it.

>>> agg = HourlyAggregator(interval_minutes=15, min_complete=0.75, aggregate="sum")
>>> [agg.add("s", 3600 * 10 + 900 * k, 100.0) for k in range(3)]
[True, True, True]
>>> agg.add("s", 3600 * 12, 50.0)  # two hours later: the 10:00 bucket is still open
True
>>> [(h.hour, h.flow, h.filled) for h in agg.flush_all()]
[(10, 400.0, 3), (12, None, 1)]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

HOUR = 3600
REORDER_HOURS = 24
INCOMPLETE_HOUR = "incomplete_hour"
"""Reason marked on a reading whose hour had too few intervals: its source is
``"<file>|incomplete_hour"`` and its flow is None."""
"""How far back in time (per sensor) a file may go and still be aggregated correctly."""


@dataclass(slots=True)
class _Bucket:
    values: list[float] = field(default_factory=list)
    mask: int = 0


@dataclass(frozen=True, slots=True)
class HourlyValue:
    """One closed hour of one sensor: ``hour`` is the epoch hour index (UTC)."""

    sensor_id: str
    hour: int
    flow: float | None
    filled: int
    slots: int

    @property
    def incomplete(self) -> bool:
        return self.flow is None


@dataclass
class _SensorHours:
    open: dict[int, _Bucket] = field(default_factory=dict)
    newest: int = -(1 << 62)
    closed_before: int = -(1 << 62)


class HourlyAggregator:
    """Buckets sub-hourly values into hourly flows (see the module docstring)."""

    def __init__(
        self,
        *,
        interval_minutes: int,
        min_complete: float,
        aggregate: str,
        reorder_hours: int = REORDER_HOURS,
    ) -> None:
        self.interval_s = interval_minutes * 60
        self.slots = HOUR // self.interval_s
        self.min_filled = min_filled(min_complete, self.slots)
        self.mean = aggregate == "mean"
        self.reorder_hours = reorder_hours
        self.dropped: Counter[str] = Counter()
        self._sensors: dict[str, _SensorHours] = {}
        self._ready: list[HourlyValue] = []

    def add(self, sensor_id: str, epoch: int, value: float | None) -> bool:
        """Add one interval (``value`` None: present but blank). False if its hour is closed."""
        hours = self._sensors.get(sensor_id)
        if hours is None:
            hours = self._sensors[sensor_id] = _SensorHours()
        hour, offset = divmod(epoch, HOUR)
        if hour < hours.closed_before:
            return False
        bucket = hours.open.get(hour)
        if bucket is None:
            bucket = hours.open[hour] = _Bucket()
            if hour > hours.newest:
                hours.newest = hour
                self._close_before(sensor_id, hours, hour - self.reorder_hours)
        if value is not None:
            bit = 1 << (offset // self.interval_s)
            if bucket.mask & bit:
                self.dropped["duplicate_interval"] += 1
            else:
                bucket.mask |= bit
                bucket.values.append(value)
        return True

    def ready(self) -> Iterator[HourlyValue]:
        """The hours closed since the last call, in closing order."""
        if self._ready:
            ready, self._ready = self._ready, []
            yield from ready

    def flush_all(self) -> Iterator[HourlyValue]:
        """Close every open hour (end of the file) and yield all closed hours."""
        for sensor_id, hours in self._sensors.items():
            self._close_before(sensor_id, hours, hours.newest + 1)
        yield from self.ready()

    def _close_before(self, sensor_id: str, hours: _SensorHours, limit: int) -> None:
        if limit <= hours.closed_before:
            return
        for hour in sorted(h for h in hours.open if h < limit):
            self._ready.append(self._value(sensor_id, hour, hours.open.pop(hour)))
        hours.closed_before = limit

    def _value(self, sensor_id: str, hour: int, bucket: _Bucket) -> HourlyValue:
        filled = len(bucket.values)
        flow = hourly_flow(math.fsum(bucket.values), filled, self.slots, self.min_filled, self.mean)
        return HourlyValue(sensor_id, hour, flow, filled, self.slots)


def min_filled(min_complete: float, slots: int) -> int:
    """How many of an hour's ``slots`` must hold a value for the hour to get a flow."""
    return max(1, _ceil(min_complete * slots))


def hourly_flow(total: float, filled: int, slots: int, needed: int, mean: bool) -> float | None:
    """The hour's flow from the sum of its ``filled`` values: None below ``needed``; the mean
    (rates) or the mean scaled to the ``slots`` of the hour (counts).

    >>> hourly_flow(330.0, 11, 12, 10, mean=False), hourly_flow(4.5, 3, 4, 3, mean=True)
    (360.0, 1.5)
    """
    if filled < needed:
        return None
    flow = total / filled
    if not mean:
        flow *= slots
    return flow


def _ceil(value: float) -> int:
    """Ceiling that forgives float noise (``0.8 × 12 = 9.600000000000001`` → 10)."""
    rounded = round(value)
    return rounded if abs(value - rounded) < 1e-9 else int(value) + 1
