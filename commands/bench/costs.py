"""What each candidate and baseline costs per reading (µs), measured on a sample of the data.

Every learner of the full candidate set is wrapped in a timing proxy and the core runs over
the first readings; the report shows ``predict_one`` + ``learn_one`` time per reading.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable

from flowcast.records import Reading
from models.candidates import make_all_candidates
from models.core import ForecastCore
from models.features import Features
from models.interface import Forecaster


class Timed:
    """A forecaster that adds the time of each call to a shared total."""

    def __init__(self, inner: Forecaster, totals: dict[str, float]) -> None:
        self.inner = inner
        self.name = inner.name
        self.totals = totals

    def predict_one(self, f: Features) -> float:
        tick = time.perf_counter()
        value = self.inner.predict_one(f)
        self.totals[self.name] = self.totals.get(self.name, 0.0) + time.perf_counter() - tick
        return value

    def learn_one(self, f: Features, y: float) -> None:
        tick = time.perf_counter()
        self.inner.learn_one(f, y)
        self.totals[self.name] = self.totals.get(self.name, 0.0) + time.perf_counter() - tick


def measure_costs(readings: Iterable[Reading], sample: int) -> dict[str, float]:
    """µs per reading of every candidate (default or not) and of the whole core."""
    totals: dict[str, float] = {}
    core = ForecastCore(candidates=lambda: [Timed(c, totals) for c in make_all_candidates()])
    count = 0
    started = time.perf_counter()
    for reading in itertools.islice(readings, sample):
        core.process(reading)
        count += 1
    elapsed = time.perf_counter() - started
    if not count:
        return {}
    costs = {name: round(seconds / count * 1e6, 2) for name, seconds in sorted(totals.items())}
    costs["whole_core_with_all_candidates"] = round(elapsed / count * 1e6, 2)
    return costs
