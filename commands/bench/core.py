"""``flowcast bench core``: the whole online core in-process against a bare River loop.

In one run (contract in DESIGN.md), on the bundled real readings in event-time order (all of
them by default, or the first ``records``):

- ``core_records_per_s``: a fresh `ForecastCore` (default candidates) takes every reading
  (score, learn, forecast, lifecycle), no I/O;
- ``river_floor_records_per_s``: a bare River
  ``preprocessing.StandardScaler() | linear_model.LinearRegression(loss=optim.losses.Huber())``
  does ``predict_one`` + ``learn_one`` once per reading, on 24 features (the sensor's 24
  previous real flows, veh/h) with the reading's flow as target: the cost of the least a
  learning core does;
- ``ratio`` = core / floor.

Each is measured ``runs`` times, alternating (so both see the same machine load); the
figures are the **best** of the runs (the least disturbed by other processes), and every run
is in the JSON. Afterwards, ``costs_us_per_reading``: µs per reading of every candidate
(default set or not) and of the whole core with all of them, on a sample (`costs`).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from commands.bench import data
from commands.bench.costs import measure_costs
from flowcast.records import Reading
from models.core import ForecastCore

FEATURES = 24
COST_SAMPLE = 20_000
FLOOR_MODEL = (
    "preprocessing.StandardScaler() | linear_model.LinearRegression(loss=optim.losses.Huber())"
)
Sample = tuple[dict[str, float], float]


def core_rate(readings: Sequence[Reading]) -> float:
    """Readings per second through a fresh core (default candidates), no I/O."""
    core = ForecastCore()
    process = core.process
    started = time.perf_counter()
    for reading in readings:
        process(reading)
    return len(readings) / (time.perf_counter() - started)


def floor_samples(readings: Sequence[Reading]) -> list[Sample]:
    """One (24 features, target) pair per reading: the sensor's previous real flows.

    Before a sensor has 24 hours the window is padded with its first flow; a missing flow
    repeats the last one, so every reading gives one learn and one predict.
    """
    windows: dict[str, deque[float]] = {}
    samples: list[Sample] = []
    for reading in readings:
        window = windows.get(reading.sensor_id)
        flow = reading.flow
        if window is None:
            first = flow if flow is not None else 0.0
            window = windows[reading.sensor_id] = deque([first] * FEATURES, maxlen=FEATURES)
        y = flow if flow is not None else window[-1]
        features = {f"flow_lag_{lag}": window[-lag] for lag in range(1, FEATURES + 1)}
        samples.append((features, y))
        window.append(y)
    return samples


def floor_rate(samples: Sequence[Sample]) -> float:
    """Samples per second through a fresh bare River pipeline, predict then learn."""
    from river import linear_model, optim, preprocessing

    model = preprocessing.StandardScaler() | linear_model.LinearRegression(
        loss=optim.losses.Huber()
    )
    predict, learn = model.predict_one, model.learn_one
    started = time.perf_counter()
    for features, y in samples:
        predict(features)
        learn(features, y)
    return len(samples) / (time.perf_counter() - started)


def _timed(measure: Callable[[], float]) -> float:
    gc.collect()
    return measure()


def run_core_bench(*, records: int | None, runs: int, json_path: Path) -> dict[str, Any]:
    """Run the benchmark, write its JSON result and return it (``records``: default all)."""
    out = Console(stderr=True)
    from commands.up import replay_files
    from producers.bundled import bundled_data_dir

    base = data.real_readings(replay_files(bundled_data_dir()))
    records = records or len(base)
    readings = data.take(base, records)
    samples = floor_samples(readings)
    out.print(f"[bold]bench core[/]: {data.describe(len(base), records)}, {runs} runs each")
    cores: list[float] = []
    floors: list[float] = []
    for run in range(1, runs + 1):
        cores.append(_timed(lambda: core_rate(readings)))
        floors.append(_timed(lambda: floor_rate(samples)))
        out.print(
            f"run {run}/{runs}: core {cores[-1]:,.0f} readings/s, "
            f"River floor {floors[-1]:,.0f} /s ({cores[-1] / floors[-1]:.3f}×)"
        )
    result = summary(cores, floors, records)
    result["data"] = data.describe(len(base), records)
    sample = min(COST_SAMPLE, records)
    out.print(f"per-model costs on {sample:,} readings (all candidates) …")
    result["costs_us_per_reading"] = measure_costs(readings, sample)
    result["costs_sample_readings"] = sample
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    out.print_json(orjson.dumps(result).decode())
    return result


def summary(cores: Sequence[float], floors: Sequence[float], records: int) -> dict[str, Any]:
    """The contract keys (best of the runs) and everything behind them.

    >>> s = summary([4000.0, 5000.0], [20000.0, 25000.0], 100)
    >>> s["core_records_per_s"], s["river_floor_records_per_s"], s["ratio"]
    (5000.0, 25000.0, 0.2)
    """
    core, floor = max(cores), max(floors)
    core_median, floor_median = statistics.median(cores), statistics.median(floors)
    return {
        "core_records_per_s": round(core, 1),
        "river_floor_records_per_s": round(floor, 1),
        "ratio": round(core / floor, 3),
        "statistic": f"best of {len(cores)} runs, core and floor alternating",
        "records": records,
        "runs": len(cores),
        "core_runs_records_per_s": [round(rate, 1) for rate in cores],
        "river_floor_runs_records_per_s": [round(rate, 1) for rate in floors],
        "core_median_records_per_s": round(core_median, 1),
        "river_floor_median_records_per_s": round(floor_median, 1),
        "ratio_of_medians": round(core_median / floor_median, 3),
        "core": "models.core.ForecastCore, default candidates, fresh for each run",
        "river_floor": f"{FLOOR_MODEL}: predict_one + learn_one per reading, "
        f"{FEATURES} features (the sensor's previous real flows)",
    }
