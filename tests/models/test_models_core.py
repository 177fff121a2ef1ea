"""The online core's promises: honest scoring, idempotence, exact checkpoints, explicit gaps."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flowcast.records import Forecast, Reading
from models.core import ForecastCore
from models.state import dump_state

FIXED_CLOCK = datetime(2026, 1, 1, tzinfo=UTC)


def _fixed() -> datetime:
    return FIXED_CLOCK


def _run(core: ForecastCore, readings: list[Reading]) -> list[Forecast]:
    return [f for r in readings if (f := core.process(r).forecast) is not None]


def _strip(forecasts: list[Forecast]) -> list[tuple[object, ...]]:
    """Forecasts without their wall-clock ``produced_at``."""
    return [(f.sensor_id, f.ts, f.flow, f.flow_low, f.flow_high, f.model) for f in forecasts]


def test_a_scored_forecast_is_the_one_issued_an_hour_before(
    two_exports: tuple[Reading, ...],
) -> None:
    core = ForecastCore()
    issued: dict[tuple[str, object], Forecast] = {}
    scored = 0
    for reading in two_exports[:3000]:
        step = core.process(reading)
        if step.scored is not None:
            assert step.scored is issued[(reading.sensor_id, reading.ts)]
            assert step.scored.observed_ts == reading.ts - timedelta(hours=1)
            scored += 1
        if step.forecast is not None:
            issued[(reading.sensor_id, step.forecast.ts)] = step.forecast
    assert scored > 2500


def test_replayed_and_repeated_readings_change_nothing(two_exports: tuple[Reading, ...]) -> None:
    readings = list(two_exports[:2000])
    clean = ForecastCore(clock=_fixed)
    expected = _strip(_run(clean, readings))
    noisy = []
    rng = random.Random(7)
    for i, reading in enumerate(readings):
        noisy.append(reading)
        if rng.random() < 0.2:
            noisy.append(reading)  # at-least-once delivery: the same record again
        if i > 50 and rng.random() < 0.05:
            noisy.append(readings[i - rng.randint(1, 50)])  # an old record replayed
    dirty = ForecastCore(clock=_fixed)
    assert _strip(_run(dirty, noisy)) == expected
    for sensor in clean.sensors:
        assert dump_state(dirty.sensors[sensor]) == dump_state(clean.sensors[sensor])


def test_checkpoint_restores_exactly(two_exports: tuple[Reading, ...]) -> None:
    readings = list(two_exports[:4000])
    whole = ForecastCore()
    expected = _strip(_run(whole, readings))
    first = ForecastCore()
    before = _run(first, readings[:2500])
    blobs = {sensor: first.export_sensor(sensor) for sensor in first.sensors}
    restored = ForecastCore()
    for sensor, blob in blobs.items():
        restored.import_sensor(sensor, blob)
    assert _strip(before + _run(restored, readings[2500:])) == expected
    assert restored.evaluation_report() == whole.evaluation_report()


def test_state_per_sensor_stays_bounded(st_antoine: tuple[Reading, ...]) -> None:
    core = ForecastCore()
    sizes = []
    for i, reading in enumerate(st_antoine):
        core.process(reading)
        if i in (2000, len(st_antoine) - 1):
            sizes.append(len(core.export_sensor("376")))
    assert sizes[-1] < 64_000
    assert sizes[-1] < sizes[0] * 1.5  # a year more of data does not grow the state


def test_gaps_are_flagged_never_read_as_zero(st_antoine: tuple[Reading, ...]) -> None:
    readings = list(st_antoine[3000:3100])
    gapped = readings[:50] + readings[53:]  # three hours missing
    core = ForecastCore()
    for reading in gapped[:51]:
        core.process(reading)
    pending = core.sensors["376"].pending
    assert pending is not None
    x = pending.features.x
    assert x["miss_lag_1"] == 0.0 and x["miss_lag_2"] == 1.0 and x["miss_lag_3"] == 1.0
    assert x["dev_lag_2"] == 0.0 and pending.features.lag_flows[2] is None


def test_no_forecast_before_a_first_flow_and_missing_flow_not_scored(
    st_antoine: tuple[Reading, ...],
) -> None:
    first = st_antoine[3000]
    core = ForecastCore()
    assert core.process(replace(first, flow=None)).forecast is None
    assert core.process(replace(st_antoine[3001], flow=120.0)).forecast is not None
    step = core.process(replace(st_antoine[3002], flow=None))
    assert step.scored is None and step.forecast is not None


def test_only_the_score_window_is_counted(st_antoine: tuple[Reading, ...]) -> None:
    readings = list(st_antoine[:3000])
    start, end = readings[1000].ts, readings[2000].ts
    windowed = ForecastCore(score_from=start, score_to=end, clock=_fixed)
    _run(windowed, readings)
    everything = ForecastCore(clock=_fixed)
    _run(everything, readings)
    inside = sum(1 for r in readings if start <= r.ts < end and r.flow is not None)
    n_window = windowed.evaluation_report()["champion"]["n"]
    assert 0 < n_window <= inside
    assert n_window < everything.evaluation_report()["champion"]["n"]
    # learning does not depend on the window: the same forecasts either way
    assert windowed.sensors["376"].pending == everything.sensors["376"].pending


def test_interval_is_calibrated_on_real_data(two_exports: tuple[Reading, ...]) -> None:
    core = ForecastCore()
    _run(core, list(two_exports))
    coverage = core.evaluation_report()["interval"]["coverage"]
    assert 0.85 <= coverage <= 0.95


def test_predict_at_serves_the_next_hour_and_refuses_far_hours(
    st_antoine: tuple[Reading, ...],
) -> None:
    core = ForecastCore()
    _run(core, list(st_antoine[:500]))
    pending = core.sensors["376"].pending
    assert pending is not None
    assert core.predict_at("376", pending.forecast.ts) == pending.forecast
    later = core.predict_at("376", pending.forecast.ts + timedelta(hours=5))
    assert later.model == "profile_decay" and later.flow_low <= later.flow <= later.flow_high
    for bad in (timedelta(hours=-1), timedelta(hours=24)):
        try:
            core.predict_at("376", pending.forecast.ts + bad)
        except ValueError as exc:
            assert "hours later" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
