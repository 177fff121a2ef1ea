"""``flowcast bench sources``: hourly readings produced per second from each bundled layout,
against the Paris reader, in one run (speeds vary between sessions: read the ratios).

Each reader runs over its bundled files again and again for at least ``seconds`` (the
samples are small); a figure is hourly readings (and dead letters) out per second, and rows
in per second. ``ratio`` = layout's readings/s ÷ the Paris reader's readings/s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from producers.normalise import ReadCounts, iter_normalised
from producers.sources.definition import SourceDefinition, load_definition

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


def measure(
    paths: Sequence[Path], definition: SourceDefinition | None, seconds: float
) -> dict[str, float]:
    """Read ``paths`` repeatedly for at least ``seconds``; rows and readings per second."""
    rows = items = 0
    started = time.perf_counter()
    while True:
        counts = ReadCounts()
        for _ in iter_normalised(paths, counts, definition):
            items += 1
        rows += counts.read
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    return {"rows_per_s": round(rows / elapsed, 1), "readings_per_s": round(items / elapsed, 1)}


def run_sources_bench(*, seconds: float, json_path: Path) -> dict[str, Any]:
    """Measure Paris then every layout (then Paris again: the reference is their mean)."""
    paris_paths = [DATA / name for name in PARIS_FILES]
    first = measure(paris_paths, None, seconds)
    layouts = {}
    for name, (toml, data) in LAYOUTS.items():
        layouts[name] = measure([DATA / data], load_definition(DATA / toml), seconds)
    second = measure(paris_paths, None, seconds)
    paris = {key: round((first[key] + second[key]) / 2, 1) for key in first}
    for figures in layouts.values():
        figures["ratio"] = round(figures["readings_per_s"] / paris["readings_per_s"], 3)
    result = {"paris": paris, "layouts": layouts, "seconds_each": seconds}
    json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return result
