"""Per-sensor rolling memory of the recent hours, with gaps kept explicit.

A missing hour is ``None`` (never zero): the ring is reset to ``None`` for every hour skipped.

>>> ring = HourRing(size=4)
>>> ring.put(10, 100.0); ring.put(12, 120.0)
>>> ring.get(12), ring.get(11), ring.get(10), ring.get(9)
(120.0, None, 100.0, None)
"""

from __future__ import annotations

from array import array
from math import isnan

NAN = float("nan")


class HourRing:
    """The values of the last ``size`` hours, indexed by epoch hour.

    Stored as a compact ``array('d')`` with NaN for a missing hour (8 bytes an hour).
    """

    __slots__ = ("last_hour", "size", "values")

    def __init__(self, size: int) -> None:
        self.size = size
        self.values = array("d", [NAN]) * size
        self.last_hour: int | None = None

    def put(self, hour: int, value: float | None) -> None:
        """Record ``value`` for ``hour`` (hours must come in increasing order)."""
        last = self.last_hour
        if last is not None:
            if hour <= last:
                raise ValueError(f"hour {hour} is not after {last}")
            for skipped in range(last + 1, min(hour, last + 1 + self.size)):
                self.values[skipped % self.size] = NAN
        self.values[hour % self.size] = NAN if value is None else value
        self.last_hour = hour

    def get(self, hour: int) -> float | None:
        """Value of ``hour``, or ``None`` if missing or older than the ring."""
        last = self.last_hour
        if last is None or hour > last or hour <= last - self.size:
            return None
        value = self.values[hour % self.size]
        return None if isnan(value) else value

    def recent(self, end_hour: int, count: int) -> list[float]:
        """The available values among the ``count`` hours ending at ``end_hour``.

        >>> ring = HourRing(size=4)
        >>> ring.put(10, 1.0); ring.put(12, 3.0)
        >>> ring.recent(12, 3), ring.recent(13, 3), ring.recent(9, 2)
        ([1.0, 3.0], [3.0], [])
        """
        last = self.last_hour
        if last is None:
            return []
        size, values = self.size, self.values
        first = max(end_hour - count + 1, last - size + 1)
        return [
            value
            for hour in range(first, min(end_hour, last) + 1)
            if not isnan(value := values[hour % size])
        ]
