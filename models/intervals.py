"""Prediction intervals from the recent honest residuals of the served forecast.

The interval for the next hour is the forecast plus the empirical ``(1-coverage)/2`` and
``(1+coverage)/2`` quantiles of the last ``window`` residuals (actual − forecast), divided by
the sensor's level so that they carry over when the level moves.

>>> q = ResidualQuantiles(window=5, coverage=0.8, min_count=5)
>>> for r in (-0.2, -0.1, 0.0, 0.1, 0.2):
...     q.add(r)
>>> q.bounds()
(-0.2, 0.2)
"""

from __future__ import annotations

import bisect
from array import array

DEFAULT_BOUNDS = (-0.5, 0.5)


class ResidualQuantiles:
    """Rolling quantiles of normalised residuals (sorted window, O(window) per update)."""

    __slots__ = ("coverage", "min_count", "ordered", "recent", "window")

    def __init__(self, window: int = 336, coverage: float = 0.9, min_count: int = 24) -> None:
        self.window = window
        self.min_count = min_count
        self.coverage = coverage
        self.recent = array("d")  # in arrival order
        self.ordered = array("d")  # the same values, sorted

    def add(self, residual: float) -> None:
        self.recent.append(residual)
        bisect.insort(self.ordered, residual)
        if len(self.recent) > self.window:
            old = self.recent.pop(0)
            del self.ordered[bisect.bisect_left(self.ordered, old)]

    def bounds(self) -> tuple[float, float]:
        """(low, high) residual bounds; wide defaults until ``min_count`` residuals are known."""
        ordered = self.ordered
        n = len(ordered)
        if n < self.min_count:
            return DEFAULT_BOUNDS
        tail = (1.0 - self.coverage) / 2.0
        low = ordered[min(n - 1, int(tail * n))]
        high = ordered[max(0, min(n - 1, int((1.0 - tail) * n + 0.5) - 1))]
        return low, high
