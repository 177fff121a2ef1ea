"""Global event-time order and dedupe, in memory and through the external sort."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pytest
from bundled_files import DATA, EXPORTS, HISTORICAL, raw_csv_rows

from flowcast.records import ArcState, Reading, TrafficState
from producers.normalise import iter_normalised
from producers.ordering import OrderCounts, order_and_dedupe

ALL_CSV = [DATA / name for name in (*EXPORTS, HISTORICAL)]


def _readings(paths: list[Path]) -> list[Reading]:
    return [r for r in iter_normalised(paths) if isinstance(r, Reading)]


@lru_cache(maxsize=1)
def _all_csv_readings() -> tuple[Reading, ...]:
    return tuple(_readings(ALL_CSV))


def test_real_files_come_out_in_global_event_time_order() -> None:
    readings = list(_all_csv_readings())
    counts = OrderCounts()
    ordered = list(order_and_dedupe(readings, counts=counts))
    keys = [(r.ts, r.sensor_id) for r in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys) == len(readings)  # no duplicate in these files
    assert counts.duplicates == 0
    assert sorted(ordered, key=lambda r: (r.ts, r.sensor_id)) == ordered
    assert set(ordered) == set(readings)


def test_shuffled_and_duplicated_file_gives_the_same_output(tmp_path: Path) -> None:
    name = EXPORTS[1]
    lines = gzip.decompress((DATA / name).read_bytes()).decode().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    rng = random.Random(20220617)
    duplicated = rng.sample(body, 300)
    shuffled = body + duplicated
    rng.shuffle(shuffled)
    copy = tmp_path / "shuffled_duplicated.csv"  # the real rows, shuffled, 300 repeated
    copy.write_text(header + "".join(shuffled))

    original = list(order_and_dedupe(_readings([DATA / name])))
    counts = OrderCounts()
    again = list(order_and_dedupe(_readings([copy]), counts=counts))
    strip = [(r.sensor_id, r.ts, r.flow, r.occupancy, r.traffic_state) for r in original]
    assert [(r.sensor_id, r.ts, r.flow, r.occupancy, r.traffic_state) for r in again] == strip
    assert counts.duplicates == 300
    assert len(again) == len(raw_csv_rows(name)[1])


@pytest.mark.parametrize(("chunk_size", "max_open"), [(97, 3), (1000, 5), (5000, 64)])
def test_external_sort_gives_identical_results(chunk_size: int, max_open: int) -> None:
    readings = list(_all_csv_readings())
    doubled = readings + readings[::3]  # some duplicates across runs
    in_memory = list(order_and_dedupe(doubled))
    counts = OrderCounts()
    external = list(
        order_and_dedupe(doubled, chunk_size=chunk_size, counts=counts, max_open_runs=max_open)
    )
    assert external == in_memory
    assert counts.spilled_runs == len(doubled) // chunk_size
    assert counts.duplicates == len(readings[::3])


def _reading(flow: float | None, occupancy: float | None, source: str) -> Reading:
    ts = datetime(2022, 1, 1, 10, tzinfo=UTC)
    return Reading("1", ts, flow, occupancy, TrafficState.FLUID, ArcState.OPEN, source)


@pytest.mark.parametrize("chunk_size", [1, 100])
def test_the_most_informative_duplicate_is_kept(chunk_size: int) -> None:
    no_flow = _reading(None, 5.0, "a")
    full = _reading(100.0, 5.0, "b")
    flow_only = _reading(100.0, None, "c")
    for order in ([no_flow, full, flow_only], [flow_only, no_flow, full]):
        (kept,) = order_and_dedupe(order, chunk_size=chunk_size)
        assert kept == full


def test_first_read_wins_between_equally_informative_duplicates() -> None:
    first, second = _reading(100.0, 5.0, "first"), _reading(120.0, 5.0, "second")
    (kept,) = order_and_dedupe([first, second], chunk_size=1)
    assert kept == first


def test_temporary_runs_are_removed(tmp_path: Path) -> None:
    readings = _readings([DATA / HISTORICAL])
    out = list(order_and_dedupe(readings, chunk_size=500, temp_dir=tmp_path))
    assert len(out) == len(readings)
    assert list(tmp_path.iterdir()) == []
