"""The benchmarks' input: the bundled real readings, never invented ones.

Past the bundled volume, the benchmarks reuse the same real readings shifted by whole weeks
(sensor ids and values unchanged), and the JSON result says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from flowcast.records import Reading
from producers.files import InputCounts, ordered_readings

WEEK = timedelta(days=7)


def real_readings(files: Sequence[Path]) -> list[Reading]:
    """Every valid reading of the files, in event-time order."""
    return list(ordered_readings(files, InputCounts()))


def shifted_copies(readings: Sequence[Reading]) -> Iterator[Reading]:
    """The readings, then copies shifted by whole weeks past the end, forever."""
    if not readings:
        return
    span = readings[-1].ts - readings[0].ts
    step = WEEK * (span // WEEK + 1)
    for copy in itertools.count():
        for reading in readings:
            yield reading if copy == 0 else replace(reading, ts=reading.ts + step * copy)


def take(readings: Sequence[Reading], count: int) -> list[Reading]:
    """``count`` readings: the real ones first, time-shifted copies beyond them."""
    return list(itertools.islice(shifted_copies(readings), count))


def describe(available: int, count: int) -> str:
    if count <= available:
        return f"{count:,} bundled real Paris readings (ODbL), in event-time order"
    return (
        f"{available:,} bundled real Paris readings (ODbL), then {count - available:,} copies "
        "of the same readings shifted by whole weeks"
    )
