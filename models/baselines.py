"""Baselines, in the candidates' interface (``predict_one`` / ``learn_one`` on `Features`).

Each baseline always answers once the sensor has one observed flow: when its own input is
missing it falls back to a named simpler baseline (week → day → persistence), so that every
model and baseline is scored on exactly the same hours.
"""

from __future__ import annotations

from models.features import Features
from models.interface import Forecaster

BASELINE_NAMES = (
    "persistence",
    "seasonal_naive_day",
    "seasonal_naive_week",
    "historical_average",
    "moving_average_3h",
)


class Persistence:
    """Next hour = the last observed flow."""

    name = "persistence"

    def predict_one(self, f: Features) -> float:
        return f.last_flow

    def learn_one(self, f: Features, y: float) -> None:
        return None


class SeasonalNaiveDay:
    """Next hour = the same hour yesterday (t-23); else persistence."""

    name = "seasonal_naive_day"

    def predict_one(self, f: Features) -> float:
        value = f.lag_flows[24]
        return f.last_flow if value is None else value

    def learn_one(self, f: Features, y: float) -> None:
        return None


class SeasonalNaiveWeek:
    """Next hour = the same hour last week (t-167); else the same hour yesterday."""

    name = "seasonal_naive_week"

    def predict_one(self, f: Features) -> float:
        value = f.lag_flows[168]
        return SeasonalNaiveDay().predict_one(f) if value is None else value

    def learn_one(self, f: Features, y: float) -> None:
        return None


class HistoricalAverage:
    """Mean of every past flow of the sensor at the same (weekday, local hour); else persistence."""

    name = "historical_average"

    def __init__(self) -> None:
        self.sums = [0.0] * 168
        self.counts = [0] * 168

    def predict_one(self, f: Features) -> float:
        cell = f.context.weekday * 24 + f.context.local_hour
        count = self.counts[cell]
        return self.sums[cell] / count if count else f.last_flow

    def learn_one(self, f: Features, y: float) -> None:
        cell = f.context.weekday * 24 + f.context.local_hour
        self.sums[cell] += y
        self.counts[cell] += 1


class MovingAverage3h:
    """Mean of the observed flows among the last three hours (t, t-1, t-2); else persistence."""

    name = "moving_average_3h"

    def predict_one(self, f: Features) -> float:
        recent = f.recent_flows
        return sum(recent) / len(recent) if recent else f.last_flow

    def learn_one(self, f: Features, y: float) -> None:
        return None


def make_baselines() -> list[Forecaster]:
    """One fresh instance of every baseline, in report order."""
    return [
        Persistence(),
        SeasonalNaiveDay(),
        SeasonalNaiveWeek(),
        HistoricalAverage(),
        MovingAverage3h(),
    ]
