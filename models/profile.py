"""Day-type × hour-of-day profile of a sensor's flow, recent weeks weighted more.

Each cell is an exponentially weighted mean whose weight starts at ``1/n`` (a plain mean while
the cell is young) and never falls below ``min_weight`` (so old weeks fade). Public holidays
count as Sundays (see `models.calendar_context`). An empty cell falls back to the same hour over all
day types, then to the sensor's overall level.

>>> p = DayHourProfile(min_weight=0.5)
>>> p.update(0, 8, 100.0); p.update(0, 8, 200.0); p.update(0, 8, 400.0)
>>> p.value(0, 8), round(p.value(3, 8), 1)  # day type 3 has no data yet: same hour, all types
(275.0, 233.3)
"""

from __future__ import annotations

from models.calendar_context import DAY_TYPES

HOURS = 24


class DayHourProfile:
    """Exponentially weighted flow per (day type, local hour)."""

    __slots__ = ("counts", "hour_counts", "hour_means", "level", "means", "min_weight")

    def __init__(self, min_weight: float = 0.1) -> None:
        self.min_weight = min_weight
        self.means = [0.0] * (DAY_TYPES * HOURS)
        self.counts = [0] * (DAY_TYPES * HOURS)
        self.hour_means = [0.0] * HOURS
        self.hour_counts = [0] * HOURS
        self.level: float | None = None

    def update(self, day_type: int, hour: int, flow: float) -> None:
        """Fold one observed flow into its cell, its hour and the overall level."""
        cell = day_type * HOURS + hour
        self.counts[cell] += 1
        self.means[cell] += (flow - self.means[cell]) * max(
            1.0 / self.counts[cell], self.min_weight
        )
        self.hour_counts[hour] += 1
        self.hour_means[hour] += (flow - self.hour_means[hour]) * max(
            1.0 / self.hour_counts[hour], self.min_weight / DAY_TYPES
        )
        self.level = flow if self.level is None else self.level + (flow - self.level) * 0.01

    def value(self, day_type: int, hour: int) -> float | None:
        """Expected flow for the cell, with fallbacks; ``None`` before any observation."""
        cell = day_type * HOURS + hour
        if self.counts[cell]:
            return self.means[cell]
        if self.hour_counts[hour]:
            return self.hour_means[hour]
        return self.level
