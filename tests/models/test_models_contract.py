"""One contract, run over every candidate, the ensemble and every baseline."""

from __future__ import annotations

import math
import pickle
from dataclasses import replace

import pytest
from river import checks

from flowcast.records import Reading
from models.baselines import BASELINE_NAMES
from models.candidates import make_all_candidates
from models.core import ENSEMBLE, ForecastCore
from models.scaler import ClippedStandardScaler

ALL_NAMES = (*(c.name for c in make_all_candidates()), ENSEMBLE, *BASELINE_NAMES)


def _predictions_by_target(readings: list[Reading]) -> dict[tuple[str, int], dict[str, float]]:
    """Every forecaster's forecast, keyed by (sensor, target hour), as issued."""
    core = ForecastCore(candidates=make_all_candidates)
    issued = {}
    for reading in readings:
        core.process(reading)
        pending = core.sensors[reading.sensor_id].pending
        if pending is not None:
            issued[(reading.sensor_id, pending.features.target_hour)] = dict(pending.predictions)
    return issued


def test_every_forecaster_is_in_the_contract(two_exports: tuple[Reading, ...]) -> None:
    issued = _predictions_by_target(list(two_exports[:600]))
    names = set(next(iter(issued.values())))
    assert names == set(ALL_NAMES)


def test_forecasts_are_finite_and_non_negative(two_exports: tuple[Reading, ...]) -> None:
    issued = _predictions_by_target(list(two_exports[:3000]))
    for predictions in issued.values():
        for name, value in predictions.items():
            assert math.isfinite(value) and value >= 0.0, (name, value)


def test_no_forecast_changes_when_the_future_is_altered(two_exports: tuple[Reading, ...]) -> None:
    """No look-ahead: forecasts issued up to hour T ignore every reading after T."""
    readings = list(two_exports[:2400])
    cut = readings[1500].ts
    altered = [
        replace(r, flow=None if i % 7 == 0 else (r.flow or 0.0) * 3 + 50, occupancy=99.0)
        if r.ts > cut
        else r
        for i, r in enumerate(readings)
    ]
    original, changed = _predictions_by_target(readings), _predictions_by_target(altered)
    cut_hour = int(cut.timestamp()) // 3600
    before = [key for key in original if key[1] <= cut_hour + 1]
    assert len(before) > 1000
    for key in before:
        assert changed[key] == original[key], key
    after = [key for key in original if key[1] > cut_hour + 2 and key in changed]
    assert any(changed[key] != original[key] for key in after), "the alteration had no effect"


@pytest.mark.parametrize("name", [c.name for c in make_all_candidates()])
def test_each_candidate_learns_and_pickles_exactly(
    name: str, st_antoine: tuple[Reading, ...]
) -> None:
    """A candidate restored from pickle forecasts exactly as the original, and learning moves
    it away from its untrained forecast."""
    core = ForecastCore(candidates=lambda: [c for c in make_all_candidates() if c.name == name])
    for reading in st_antoine[:2000]:
        core.process(reading)
    state = core.sensors["376"]
    learner = state.candidates[0]
    assert state.pending is not None
    features = state.pending.features
    clone = pickle.loads(pickle.dumps(learner))
    assert clone.predict_one(features) == learner.predict_one(features)
    fresh = next(c for c in make_all_candidates() if c.name == name)
    assert fresh.predict_one(features) != learner.predict_one(features)


def test_scaler_passes_rivers_estimator_checks() -> None:
    checks.check_estimator(ClippedStandardScaler())
