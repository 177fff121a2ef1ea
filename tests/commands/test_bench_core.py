"""``flowcast bench core``: the core and the bare River floor on the same real readings."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from commands.bench.core import FEATURES, floor_rate, floor_samples, run_core_bench
from flowcast.records import Reading
from producers.files import InputCounts, ordered_readings

DATA = Path(__file__).resolve().parents[2] / "data" / "paris"


@pytest.fixture(scope="module")
def readings() -> list[Reading]:
    files = [DATA / "export_2022_convention_5671.csv.gz"]
    return list(ordered_readings(files, InputCounts()))[:500]


def test_floor_samples_are_the_sensors_previous_real_flows(readings: list[Reading]) -> None:
    samples = floor_samples(readings)
    assert len(samples) == len(readings)
    features, y = samples[30]
    assert len(features) == FEATURES
    previous = [s[1] for s in samples[30 - FEATURES : 30]]
    assert [features[f"flow_lag_{lag}"] for lag in range(FEATURES, 0, -1)] == previous
    assert y == readings[30].flow


def test_floor_rate_runs_the_bare_river_loop(readings: list[Reading]) -> None:
    assert floor_rate(floor_samples(readings)) > 0


@pytest.mark.slow
def test_bench_core_writes_the_contract_keys(tmp_path: Path) -> None:
    path = tmp_path / "core.json"
    run_core_bench(records=2000, runs=2, json_path=path)
    result = orjson.loads(path.read_bytes())
    core, floor = result["core_records_per_s"], result["river_floor_records_per_s"]
    assert core > 0 and floor > 0
    assert result["ratio"] == pytest.approx(core / floor, abs=1e-3)
    assert core == max(result["core_runs_records_per_s"]) and result["runs"] == 2
    assert "linear" in result["costs_us_per_reading"]
