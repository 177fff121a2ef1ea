"""Reading a CSV file under a source definition: rows → hourly `Reading`s and `DeadLetter`s.

One streaming pass, memory bounded by the open hour buckets (see `producers.sources.hourly`).

- long layout: one row per interval (or per hour); wide layout: one row per sensor and local
  day, column k holding local time ``k × interval`` after midnight.
- naive timestamps are local times of the definition's timezone. In a long file a local time
  that does not exist (spring forward) is a dead letter ``nonexistent_local_time``; in a wide
  file the cells of that hour are dropped and counted under the same reason. In the repeated
  autumn hour a wide column is its first occurrence; in a long file a local time met a second
  time for a sensor is the second occurrence.
- duplicates: the first value read for a sensor's interval wins (counted
  ``duplicate_interval``); for hourly sources the dedupe of the replay keeps the first reading
  with a flow.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flowcast.bounds import MAX_FLOW
from flowcast.records import ArcState, DeadLetter, Reading, TrafficState, hour_start
from producers.formats.raw import RawRecord
from producers.formats.sniff import Layout, detect_separator, open_text
from producers.read_counts import ReadCounts
from producers.sources.columns import ColumnMap, HeaderMismatchError, map_columns
from producers.sources.definition import SourceDefinition
from producers.sources.hourly import HOUR, INCOMPLETE_HOUR, HourlyAggregator, HourlyValue
from producers.sources.sensor_ids import make_sensor_id
from producers.sources.timeparse import timestamp_parser
from producers.timestamps import LocalTimeResolver
from producers.values import InvalidValueError, is_blank, parse_number

SOURCE_REASONS = ("off_interval", "late_interval")
"""Dead-letter reasons of defined sources beyond those of `producers.normalise`: a timestamp
off the declared cadence, an interval whose hour was already closed."""
_EPOCH = datetime(1970, 1, 1)


@lru_cache(maxsize=1 << 16)
def local_hour_epoch(hour: datetime, zone: ZoneInfo, fold: int) -> int | None:
    """Epoch second of the naive local ``hour`` in ``zone`` (``fold`` picks the occurrence of
    a repeated hour), or None if that hour does not exist there."""
    aware = hour.replace(tzinfo=zone, fold=fold)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != hour:
        return None
    return int(utc.timestamp())


@lru_cache(maxsize=1 << 16)
def local_hour_ambiguous(hour: datetime, zone: ZoneInfo) -> bool:
    early = hour.replace(tzinfo=zone, fold=0).utcoffset()
    return early != hour.replace(tzinfo=zone, fold=1).utcoffset()


class _RowReader:
    """The per-file state: parsers, local-time resolver, hour buckets, counters."""

    def __init__(
        self, definition: SourceDefinition, columns: ColumnMap, source: str,
        headers: list[str], counts: ReadCounts,
    ) -> None:  # fmt: skip
        self.definition = definition
        self.columns = columns
        self.source = source
        self.headers = headers
        self.counts = counts
        self.zone = definition.zone
        self.calendar = definition.calendar
        self.parse_time = timestamp_parser(definition.timestamp_format)
        self.resolver = LocalTimeResolver(self.zone)
        self.interval_s = definition.interval_minutes * 60
        self.hourly = definition.intervals_per_hour == 1
        self.max_value = (
            MAX_FLOW
            if definition.aggregate == "mean"
            else MAX_FLOW / (definition.intervals_per_hour)
        )
        self.constant_id = (
            make_sensor_id(definition.name, [definition.sensor_id])
            if definition.sensor_id is not None
            else None
        )
        self.aggregator = HourlyAggregator(
            interval_minutes=definition.interval_minutes,
            min_complete=definition.min_complete,
            aggregate=definition.aggregate,
        )
        self.dead: list[DeadLetter] = []
        self.out: list[Reading] = []
        self._hour_starts: dict[tuple[int, int, int, int], tuple[int, int | None] | None] = {}

    # -- cells -----------------------------------------------------------------------------

    def sensor_of(self, row: list[str]) -> str:
        if self.constant_id is not None:
            return self.constant_id
        parts = [row[i] if i < len(row) else "" for i in self.columns.sensor]
        if all(is_blank(part) for part in parts):
            raise InvalidValueError("missing_sensor_id", "no sensor id")
        return make_sensor_id(self.definition.name, parts)

    def time_of(self, text: str) -> datetime:
        if is_blank(text):
            raise InvalidValueError("missing_timestamp", "no timestamp")
        try:
            return self.parse_time(text)
        except (ValueError, OverflowError):
            expected = self.definition.timestamp_format or "ISO 8601"
            raise InvalidValueError(
                "bad_timestamp", f"unreadable timestamp {text.strip()!r} (expected {expected})"
            ) from None

    def value_of(self, text: str) -> float | None:
        try:
            value: float | None = float(text)  # the common case, without the general parser
        except ValueError:
            value = parse_number(text)  # blank, decimal comma, or a bad number (raises)
        if value is None:
            return None
        if not math.isfinite(value):
            raise InvalidValueError("bad_number", f"{text!r} is not finite")
        if value < 0:
            raise InvalidValueError("negative_flow", f"value {value} < 0")
        if value > self.max_value:
            raise InvalidValueError(
                "absurd_flow", f"value {value:g} > {self.max_value:g} for one interval"
            )
        return value

    def epoch_of(self, sensor_id: str, when: datetime) -> int:
        """UTC epoch second of a parsed timestamp (naive = local time of the zone)."""
        if when.tzinfo is not None:
            try:
                return int(when.timestamp())
            except (OverflowError, ValueError):
                raise InvalidValueError("bad_timestamp", f"{when} is off the calendar") from None
        starts = self.local_hour((when.year, when.month, when.day, when.hour), when)
        if starts is None:
            raise InvalidValueError(
                "nonexistent_local_time", f"{when} does not exist in {self.zone.key} (DST gap)"
            )
        start = starts[0]
        if starts[1] is not None and self.resolver.fold(sensor_id, when):
            start = starts[1]
        return start + when.minute * 60 + when.second

    def local_hour(
        self, key: tuple[int, int, int, int], when: datetime
    ) -> tuple[int, int | None] | None:
        """`hour_starts` of ``when``'s local hour; `InvalidValueError` ``bad_timestamp`` if
        the zone's offset pushes it off the calendar (year 1 or 9999)."""
        try:
            return self.hour_starts(key)
        except (OverflowError, ValueError):
            raise InvalidValueError(
                "bad_timestamp", f"{when} is outside the calendar in UTC"
            ) from None

    def hour_starts(self, key: tuple[int, int, int, int]) -> tuple[int, int | None] | None:
        """Epoch seconds of the local hour ``(year, month, day, hour)``: its first occurrence
        and, for the repeated autumn hour, its second; None if it does not exist. Cached per
        file (one entry per local hour met)."""
        try:
            return self._hour_starts[key]
        except KeyError:
            pass
        hour = datetime(*key)
        first = local_hour_epoch(hour, self.zone, 0)
        second = (
            local_hour_epoch(hour, self.zone, 1) if local_hour_ambiguous(hour, self.zone) else None
        )
        starts = None if first is None else (first, second)
        self._hour_starts[key] = starts
        return starts

    # -- rows ------------------------------------------------------------------------------

    def long_row(self, row: list[str]) -> None:
        columns = self.columns
        sensor_id = self.sensor_of(row)
        epoch = self.epoch_of(sensor_id, self.time_of(_cell(row, columns.timestamp)))
        value = self.value_of(_cell(row, columns.values[0]))
        self.interval(sensor_id, epoch, value)

    def wide_row(self, row: list[str]) -> list[InvalidValueError]:
        """Unpivot one row; returns its bad cells (the row is dead-lettered for them, its good
        cells are kept)."""
        sensor_id = self.sensor_of(row)
        day = self.time_of(_cell(row, self.columns.timestamp))
        date = (day.year, day.month, day.day)
        hours = [self.local_hour((*date, hour), day) for hour in range(24)]
        problems: list[InvalidValueError] = []
        minutes = self.definition.interval_minutes
        for k, index in enumerate(self.columns.values):
            offset = k * minutes
            starts = hours[offset // 60]  # a repeated hour: its first occurrence
            if starts is None:
                self.counts.dropped["nonexistent_local_time"] += 1
                continue
            start = starts[0]
            try:
                value = self.value_of(_cell(row, index))
            except InvalidValueError as bad:
                column = self.headers[index].strip()
                problems.append(InvalidValueError(bad.reason, f"{column}: {bad.detail}"))
                continue
            self.interval(sensor_id, start + (offset % 60) * 60, value)
        return problems

    def interval(self, sensor_id: str, epoch: int, value: float | None) -> None:
        if self.hourly:
            if epoch % HOUR:
                raise InvalidValueError(
                    "not_on_the_hour", f"{_utc(epoch)} is not the start of an hour"
                )
            self.out.append(self.reading(sensor_id, epoch // HOUR, value))
            return
        if epoch % self.interval_s:
            raise InvalidValueError(
                "off_interval",
                f"{_utc(epoch)} is not on the {self.definition.interval_minutes}-minute grid",
            )
        if not self.aggregator.add(sensor_id, epoch, value):
            raise InvalidValueError(
                "late_interval",
                f"{_utc(epoch)} comes after its hour was closed (the file goes back in time "
                "for this sensor by more than a day: sort it by time)",
            )

    def reading(self, sensor_id: str, hour: int, flow: float | None, note: str = "") -> Reading:
        return Reading(
            sensor_id=sensor_id,
            ts=hour_start(hour),
            flow=flow,
            occupancy=None,
            traffic_state=TrafficState.UNKNOWN,
            arc_state=ArcState.UNKNOWN,
            source=f"{self.source}|{note}" if note else self.source,
            calendar=self.calendar,
        )

    def closed(self, values: Iterable[HourlyValue]) -> None:
        for value in values:
            if value.incomplete:
                self.counts.incomplete_hours += 1
                self.out.append(self.reading(value.sensor_id, value.hour, None, INCOMPLETE_HOUR))
            else:
                self.out.append(self.reading(value.sensor_id, value.hour, value.flow))

    def dead_letter(self, row: list[str], line: int, reason: str, detail: str) -> None:
        raw = RawRecord(fields={}, source=self.source, position="", payload=row,
                        headers=self.headers)  # fmt: skip
        self.dead.append(
            DeadLetter(reason, self.source, f"{self.source}:{line}", raw.raw_text(), detail)
        )

    def read(
        self, rows: Iterator[list[str]], line_of: LineCounter, stop: Callable[[], bool] | None
    ) -> Iterator[Reading | DeadLetter]:
        wide = self.definition.layout == "wide"
        counts = self.counts
        for row in rows:
            if not row:
                continue
            if stop is not None and stop():
                break
            counts.read += 1
            try:
                if wide:
                    problems = self.wide_row(row)
                    if problems:
                        detail = "; ".join(p.detail for p in problems)
                        self.dead_letter(row, line_of(), problems[0].reason, detail)
                else:
                    self.long_row(row)
            except InvalidValueError as bad:
                self.dead_letter(row, line_of(), bad.reason, bad.detail)
            if not self.hourly:
                self.closed(self.aggregator.ready())
            yield from self._drain()
        self.closed(self.aggregator.flush_all())
        counts.dropped.update(self.aggregator.dropped)
        yield from self._drain()

    def _drain(self) -> Iterator[Reading | DeadLetter]:
        if self.dead:
            self.counts.dead_letters.update(d.reason for d in self.dead)
            yield from self.dead
            self.dead = []
        if self.out:
            self.counts.readings += len(self.out)
            yield from self.out
            self.out = []


class LineCounter:
    """The physical line a `csv.reader` is on (a quoted cell may span lines)."""

    def __init__(self, reader: csv.Reader) -> None:  # type: ignore[name-defined]
        self._reader = reader

    def __call__(self) -> int:
        return int(self._reader.line_num) + 1  # + the header line


def _cell(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def _utc(epoch: int) -> str:
    return (_EPOCH + timedelta(seconds=epoch)).strftime("%Y-%m-%d %H:%M UTC")


def iter_defined(
    path: Path,
    definition: SourceDefinition,
    counts: ReadCounts,
    stop: Callable[[], bool] | None = None,
    engine: str = "auto",
) -> Iterator[Reading | DeadLetter]:
    """Stream the hourly readings and dead letters of the CSV ``path`` read with
    ``definition``; `HeaderMismatchError` (or `UnknownFormatError`) if it cannot be read.

    ``stop`` (for samples) is asked before each row; once it says True the rest of the file
    is not read and the open hours are closed as if the file ended there.

    ``engine``: ``"auto"`` reads long sub-hourly files block by block, vectorised
    (`producers.sources.vector`: the same items, faster), and everything else (or any file
    with ``stop``) row by row; ``"rows"`` always row by row (the reference)."""
    with open_text(path) as (text, layout):
        if layout is not Layout.CSV:
            raise HeaderMismatchError(
                str(path), f"source {definition.name!r} reads CSV files; this file is JSON"
            )
        first = text.readline()
        separator = detect_separator(first)
        headers = next(csv.reader([first], delimiter=separator), [])
        columns = map_columns(headers, definition, str(path))
        reader = _RowReader(definition, columns, path.name, headers, counts)
        if engine == "auto" and stop is None and vectorised(definition):
            from producers.sources.vector import VectorLongReader

            yield from VectorLongReader(reader, separator).read(text, first_line=2)
            return
        rows = csv.reader(text, delimiter=separator)
        yield from reader.read(rows, LineCounter(rows), stop)


def vectorised(definition: SourceDefinition) -> bool:
    """Whether `iter_defined` reads files of ``definition`` vectorised (long, sub-hourly)."""
    return definition.layout == "long" and definition.intervals_per_hour > 1
