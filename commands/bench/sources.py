"""``flowcast bench sources``: hourly readings produced per second from each bundled layout,
against the Paris reader, in one run (speeds vary between sessions: read the ratios).

Each reader runs over its bundled files again and again (the samples are small), after one
untimed pass (imports and caches: the vectorised reader of long sub-hourly files imports
pandas and pyarrow on first use, about a second once per process; ``warmup_s`` reports that
first pass), for ``seconds`` in all, in alternating rounds; a figure is hourly readings (and
dead letters) out per second, and rows in per second. ``ratio`` = layout's readings/s ÷ the
Paris reader's readings/s; ``cpu_ratio`` the same per second of the process's CPU time (all
threads), which a busy machine disturbs less than the wall clock. ``long_5min_row_reader`` is
the same file read row by row (the reference the vectorised reader must equal).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from producers.normalise import ReadCounts, iter_normalised
from producers.sources.definition import SourceDefinition, load_definition
from producers.sources.reader import iter_defined

DATA = Path(__file__).resolve().parents[2] / "data"
PARIS_FILES = (
    "paris/historique_2022_st-antoine_376.csv.gz",
    "paris/export_2022_champs-elysees_4264.csv.gz",
    "paris/extract_2023_69arcs.csv.gz",
)
LAYOUTS = {
    "long_5min": ("california/pems.toml", "california/pems_2016-01-02_station.csv.gz"),
    "wide_15min": ("melbourne/scats.toml", "melbourne/scats_2006-10_site970.csv.gz"),
    "hourly_series": ("minneapolis/i94.toml", "minneapolis/i94_2012-10-12_atr301.csv.gz"),
}


ROUNDS = 6
"""Measurements alternate (Paris, every layout, Paris, …) in this many rounds, so a change in
the machine's load touches them alike."""


def measure(
    paths: Sequence[Path],
    definition: SourceDefinition | None,
    seconds: float,
    engine: str = "auto",
) -> dict[str, float]:
    """Read ``paths`` repeatedly for at least ``seconds``; rows and readings (and dead
    letters) per second. ``engine="rows"``: a defined source read row by row."""
    rows = items = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while True:
        counts = ReadCounts()
        for _ in _items(paths, counts, definition, engine):
            items += 1
        rows += counts.read
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    cpu = time.process_time() - cpu_started
    return {"rows": rows, "items": items, "seconds": elapsed, "cpu_seconds": cpu}


def _items(
    paths: Sequence[Path], counts: ReadCounts, definition: SourceDefinition | None, engine: str
) -> Iterator[object]:
    if definition is None or engine == "auto":
        return iter_normalised(paths, counts, definition)
    return (
        item for path in paths for item in iter_defined(path, definition, counts, engine=engine)
    )


def _rates(total: dict[str, float]) -> dict[str, float]:
    return {
        "rows_per_s": round(total["rows"] / total["seconds"], 1),
        "readings_per_s": round(total["items"] / total["seconds"], 1),
        "readings_per_cpu_s": round(total["items"] / total["cpu_seconds"], 1),
    }


def run_sources_bench(*, seconds: float, json_path: Path) -> dict[str, Any]:
    """Paris and every layout, alternating in `ROUNDS` rounds of ``seconds / ROUNDS`` each,
    after one untimed pass of each (imports, caches: reported as ``warmup_s``)."""
    readers: dict[str, tuple[list[Path], SourceDefinition | None, str]] = {
        "paris": ([DATA / name for name in PARIS_FILES], None, "auto")
    }
    for name, (toml, data) in LAYOUTS.items():
        readers[name] = ([DATA / data], load_definition(DATA / toml), "auto")
    toml, data = LAYOUTS["long_5min"]
    readers["long_5min_row_reader"] = ([DATA / data], load_definition(DATA / toml), "rows")
    warmup = {}
    for name, (paths, definition, engine) in readers.items():
        started = time.perf_counter()
        for _ in _items(paths, ReadCounts(), definition, engine):
            pass
        warmup[name] = round(time.perf_counter() - started, 3)
    totals = {name: dict.fromkeys(("rows", "items", "seconds", "cpu_seconds"), 0.0)
              for name in readers}  # fmt: skip
    for _ in range(ROUNDS):
        for name, (paths, definition, engine) in readers.items():
            figures = measure(paths, definition, seconds / ROUNDS, engine)
            for key in totals[name]:
                totals[name][key] += figures[key]
    paris = _rates(totals.pop("paris")) | {"warmup_s": warmup["paris"]}
    layouts: dict[str, dict[str, float]] = {}
    for name, total in totals.items():
        figures = _rates(total)
        figures["ratio"] = round(figures["readings_per_s"] / paris["readings_per_s"], 3)
        figures["cpu_ratio"] = round(figures["readings_per_cpu_s"] / paris["readings_per_cpu_s"], 3)
        layouts[name] = figures | {"warmup_s": warmup[name]}
    result = {"paris": paris, "layouts": layouts, "seconds_each": seconds, "rounds": ROUNDS}
    json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return result
