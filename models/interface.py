"""The one small interface every candidate and baseline implements."""

from __future__ import annotations

from typing import Protocol

from models.features import Features


class Forecaster(Protocol):
    """Forecasts the flow of ``f.target_hour``; learns once that hour's flow ``y`` is known."""

    name: str

    def predict_one(self, f: Features) -> float: ...

    def learn_one(self, f: Features, y: float) -> None: ...
