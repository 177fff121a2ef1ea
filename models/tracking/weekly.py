"""Rolling metrics of an evaluation: each model's MAE per simulated week of event time.

`WeeklyErrors` is the period hook `models.backtest.backtest` calls with the core at each
week boundary: it differences the core's cumulative accumulators (a handful of additions
per sensor, once a week of data), so the pass stays as fast as without it.
"""

from __future__ import annotations

from models.core import ForecastCore
from models.metrics import ABS, N


class WeeklyErrors:
    """Per week index: ``{name: (n, mae)}`` for the champion, every candidate and baseline."""

    def __init__(self) -> None:
        self.weeks: dict[int, dict[str, tuple[int, float]]] = {}
        self._previous: dict[str, tuple[float, float]] = {}

    def __call__(self, core: ForecastCore, week: int) -> None:
        totals = _totals(core)
        row: dict[str, tuple[int, float]] = {}
        for name, (n, abs_sum) in totals.items():
            before_n, before_abs = self._previous.get(name, (0.0, 0.0))
            if n > before_n:
                row[name] = (int(n - before_n), round((abs_sum - before_abs) / (n - before_n), 3))
        self._previous = totals
        if row:
            self.weeks[week] = row

    def series(self, name: str) -> list[tuple[int, float]]:
        """``[(week, mae), …]`` of one model, weeks with no scored hour left out."""
        return [(week, row[name][1]) for week, row in self.weeks.items() if name in row]

    def scored(self, name: str) -> list[tuple[int, int]]:
        """``[(week, scored hours), …]`` of one model."""
        return [(week, row[name][0]) for week, row in self.weeks.items() if name in row]


def _totals(core: ForecastCore) -> dict[str, tuple[float, float]]:
    totals: dict[str, tuple[float, float]] = {}
    for state in core.sensors.values():
        for name, acc in state.accumulators.items():
            n, abs_sum = totals.get(name, (0.0, 0.0))
            totals[name] = (n + acc[N], abs_sum + acc[ABS])
    return totals
