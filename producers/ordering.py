"""Global event-time order and dedupe, in bounded memory (a simple external sort).

Readings are sorted by ``(ts, sensor_id)``. Up to ``chunk_size`` readings are sorted in memory;
beyond that, sorted runs are spilled to temporary files and merged with `heapq.merge`. Among
exact duplicates of ``(sensor_id, ts)`` the most informative reading is kept (a flow beats no
flow, then an occupancy, then a known traffic state), the earliest read on a tie.
"""

from __future__ import annotations

import heapq
import itertools
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from flowcast.records import ArcState, Reading, TrafficState

DEFAULT_CHUNK_SIZE = 250_000
MAX_OPEN_RUNS = 64
"""Runs merged at once; more runs are first merged in groups into longer runs."""

_Row = tuple[int, str, int, float | None, float | None, str, str, str, str | None]
"""Sort key (epoch seconds, sensor id, read order) then the rest of the reading."""


@dataclass
class OrderCounts:
    """How many readings went in, and how many were dropped as duplicates."""

    readings: int = 0
    duplicates: int = 0
    spilled_runs: int = 0


def _to_row(reading: Reading, seq: int) -> _Row:
    return (
        int(reading.ts.timestamp()),
        reading.sensor_id,
        seq,
        reading.flow,
        reading.occupancy,
        reading.traffic_state.value,
        reading.arc_state.value,
        reading.source,
        reading.calendar,
    )


def _from_row(row: _Row) -> Reading:
    epoch, sensor_id, _, flow, occupancy, traffic, arc, source, calendar = row
    return Reading(
        sensor_id=sensor_id,
        ts=datetime.fromtimestamp(epoch, tz=UTC),
        flow=flow,
        occupancy=occupancy,
        traffic_state=TrafficState(traffic),
        arc_state=ArcState(arc),
        source=source,
        calendar=calendar,
    )


def _information(row: _Row) -> tuple[bool, bool, bool, int]:
    """Higher is better: has flow, has occupancy, known traffic state, then earlier read."""
    return (row[3] is not None, row[4] is not None, row[5] != TrafficState.UNKNOWN, -row[2])


def _spill(rows: Iterable[_Row], directory: Path) -> Path:
    with tempfile.NamedTemporaryFile("wb", dir=directory, suffix=".run", delete=False) as out:
        pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
        for row in rows:
            pickler.dump(row)
    return Path(out.name)


def _read_run(path: Path) -> Iterator[_Row]:
    handle: IO[bytes]
    with path.open("rb") as handle:
        unpickler = pickle.Unpickler(handle)  # our own temporary file, written just above
        while True:
            try:
                yield unpickler.load()
            except EOFError:
                return


def _reduce_runs(runs: list[Path], directory: Path, max_open: int) -> list[Path]:
    """Merge runs in groups of ``max_open`` until at most ``max_open`` remain."""
    while len(runs) > max_open:
        merged: list[Path] = []
        for start in range(0, len(runs), max_open):
            group = runs[start : start + max_open]
            merged.append(_spill(heapq.merge(*(_read_run(run) for run in group)), directory))
            for run in group:
                run.unlink()
        runs = merged
    return runs


def _sorted_rows(
    readings: Iterable[Reading],
    chunk_size: int,
    directory: Path,
    counts: OrderCounts,
    max_open: int,
) -> Iterator[_Row]:
    seq = itertools.count()
    runs: list[Path] = []
    chunk: list[_Row] = []
    for reading in readings:
        counts.readings += 1
        chunk.append(_to_row(reading, next(seq)))
        if len(chunk) >= chunk_size:
            chunk.sort()
            runs.append(_spill(chunk, directory))
            chunk = []
    chunk.sort()
    if not runs:
        yield from chunk
        return
    counts.spilled_runs = len(runs)
    runs = _reduce_runs(runs, directory, max_open - 1)
    yield from heapq.merge(chunk, *(_read_run(run) for run in runs))


def _dedupe(rows: Iterator[_Row], counts: OrderCounts) -> Iterator[Reading]:
    for _, group in itertools.groupby(rows, key=lambda row: (row[0], row[1])):
        members = list(group)
        counts.duplicates += len(members) - 1
        yield _from_row(max(members, key=_information))


def order_and_dedupe(
    readings: Iterable[Reading],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    counts: OrderCounts | None = None,
    temp_dir: Path | None = None,
    max_open_runs: int = MAX_OPEN_RUNS,
) -> Iterator[Reading]:
    """Yield ``readings`` in ``(ts, sensor_id)`` order with duplicates of a key removed.

    Memory holds at most ``chunk_size`` readings plus one per open run (at most
    ``max_open_runs`` files are open at once); the temporary run files are removed when the
    iteration ends or the generator is closed.
    """
    if chunk_size < 1 or max_open_runs < 3:
        raise ValueError("chunk_size must be at least 1 and max_open_runs at least 3")
    tally = counts if counts is not None else OrderCounts()
    with tempfile.TemporaryDirectory(prefix="flowcast-sort-", dir=temp_dir) as directory:
        rows = _sorted_rows(readings, chunk_size, Path(directory), tally, max_open_runs)
        yield from _dedupe(rows, tally)
