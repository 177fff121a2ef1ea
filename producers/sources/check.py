"""``flowcast sources check``: how a sample of a file parses, before replaying a year of it.

The sample is bounded twice: the first `DEFAULT_MAX_ROWS` rows of the file, or what was read
within `DEFAULT_SECONDS` seconds, whichever comes first (the summary says which, and whether
the whole file was read). Per sensor: hourly readings, the time range, the cadence of the
hourly readings and the missing hours (gaps); then the first normalised readings and the dead
letters and dropped values by reason.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from flowcast.records import DeadLetter, Reading, hour_index
from producers.read_counts import ReadCounts
from producers.sources.builtin import BuiltinSource, open_builtin
from producers.sources.definition import SourceDefinition

DEFAULT_MAX_ROWS = 50_000
DEFAULT_SECONDS = 10.0
FIRST_READINGS = 12


@dataclass
class SensorSummary:
    """What the sample holds for one sensor."""

    sensor_id: str
    readings: int = 0
    with_flow: int = 0
    incomplete: int = 0
    hours: set[int] = field(default_factory=set)

    @property
    def duplicates(self) -> int:
        """Readings for an hour already read (the replay keeps the first with a flow)."""
        return self.readings - len(self.hours)

    @property
    def first(self) -> int:
        return min(self.hours)

    @property
    def last(self) -> int:
        return max(self.hours)

    @property
    def missing_hours(self) -> int:
        """Hours between the first and the last with no reading."""
        return self.last - self.first + 1 - len(self.hours)

    @property
    def longest_gap(self) -> int:
        """The longest run of consecutive missing hours."""
        ordered = sorted(self.hours)
        return max((b - a - 1 for a, b in pairwise(ordered)), default=0)

    @property
    def cadence_hours(self) -> int:
        """The most common step between consecutive hours with a reading (1 = hourly)."""
        ordered = sorted(self.hours)
        steps = Counter(b - a for a, b in pairwise(ordered))
        return steps.most_common(1)[0][0] if steps else 0


@dataclass
class CheckSummary:
    """The outcome of checking a sample of one file."""

    path: Path
    definition: SourceDefinition | None  # None: read as the built-in `builtin`
    counts: ReadCounts
    sensors: dict[str, SensorSummary]
    first_readings: list[Reading]
    examples: dict[str, DeadLetter]
    stopped_by: str | None  # None: the whole file was read; else why the sample stopped
    seconds: float
    builtin: BuiltinSource | None = None  # the Paris format detected (no definition given)

    @property
    def first_hour(self) -> datetime | None:
        return min((r.ts for r in self.first_readings), default=None) if self.sensors else None

    @property
    def span(self) -> tuple[int, int] | None:
        if not self.sensors:
            return None
        return (min(s.first for s in self.sensors.values()),
                max(s.last for s in self.sensors.values()))  # fmt: skip


def _items(
    path: Path, definition: SourceDefinition | None, counts: ReadCounts, stop: Callable[[], bool]
) -> Iterator[Reading | DeadLetter]:
    """The file's items; a defined source stops reading at ``stop`` and closes its open hours
    (a built-in format has no open hours: the caller stops iterating)."""
    if definition is None:
        from producers.normalise import iter_normalised

        return iter_normalised([path], counts)
    from producers.sources.reader import iter_defined

    return iter_defined(path, definition, counts, stop)


def check_file(
    path: Path,
    definition: SourceDefinition | None = None,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_seconds: float = DEFAULT_SECONDS,
) -> CheckSummary:
    """Read a sample of ``path`` (with ``definition``, or a built-in format) and summarise it.

    Raises what reading raises for a file that cannot be read at all (`UnknownFormatError`,
    `HeaderMismatchError`, `OSError`).
    """
    builtin = None
    if definition is None:
        with open_builtin(path) as (builtin, _):
            pass
    counts = ReadCounts()
    sensors: dict[str, SensorSummary] = {}
    first: list[Reading] = []
    examples: dict[str, DeadLetter] = {}
    started = time.perf_counter()
    stopped_by: str | None = None

    def stop() -> bool:
        nonlocal stopped_by
        if counts.read >= max_rows:
            stopped_by = f"the first {max_rows:,} rows"
        elif time.perf_counter() - started > max_seconds:
            stopped_by = f"what was read in {max_seconds:g} s ({counts.read:,} rows)"
        return stopped_by is not None

    for item in _items(path, definition, counts, stop):
        if isinstance(item, DeadLetter):
            examples.setdefault(item.reason, item)
        else:
            _add(sensors, item)
            if len(first) < FIRST_READINGS:
                first.append(item)
        if definition is None and stop():
            break
    return CheckSummary(
        path, definition, counts, sensors, first, examples, stopped_by,
        time.perf_counter() - started, builtin,
    )  # fmt: skip


def _add(sensors: dict[str, SensorSummary], reading: Reading) -> None:
    summary = sensors.get(reading.sensor_id)
    if summary is None:
        summary = sensors[reading.sensor_id] = SensorSummary(reading.sensor_id)
    summary.readings += 1
    summary.hours.add(hour_index(reading.ts))
    if reading.flow is not None:
        summary.with_flow += 1
    elif reading.source.endswith("|incomplete_hour"):
        summary.incomplete += 1
