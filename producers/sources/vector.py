"""Long sub-hourly files read a block of lines at a time, vectorised (pandas, pyarrow).

The result is the row reader's (`producers.sources.reader`), item for item: the same hourly
readings and dead letters (reason, position, raw record, detail) in the same order, and the
same counts. Only the work is batched:

- a block of about `BLOCK_CHARACTERS` of text (whole lines) is split into its sensor,
  timestamp and value columns by pyarrow's csv reader (pandas' when rows are ragged); a block
  holding a quote, a NUL or a line longer than the csv module's field limit is split by the
  csv module instead, so quoted fields (even on several lines), positions and csv errors stay
  the csv module's;
- sensor ids are made once per distinct value; timestamps and values are parsed with
  pyarrow when their text has a shape whose meaning is certain (a guard pattern: the
  format's digits and separators; a plain decimal number); any other text goes through the
  row reader's own parsers (once per distinct text), so a bad row is reported in the same
  words;
- local time → UTC uses the row reader's per-hour table; the few rows in a repeated autumn
  hour go through its resolver one by one, in file order (first occurrence, then second);
- hours: late rows (more than `REORDER_HOURS` back for their sensor), repeated intervals
  (the first value wins), completeness and the closing order (an hour closes at the row that
  takes its sensor more than `REORDER_HOURS` past it; at the end, sensors in order of first
  appearance) are computed on arrays; the intervals of hours still open at the end of a block
  are carried to the next one, so memory is bounded by a block and about a day per sensor.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, pairwise
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flowcast.records import ArcState, DeadLetter, Reading, TrafficState
from producers.sources.hourly import (
    HOUR,
    INCOMPLETE_HOUR,
    REORDER_HOURS,
    hourly_flow,
    min_filled,
)
from producers.sources.sensor_ids import make_sensor_id
from producers.sources.timeparse import compile_format
from producers.values import InvalidValueError, is_blank

if TYPE_CHECKING:
    from producers.sources.reader import _RowReader

BLOCK_CHARACTERS = 4_000_000
"""Text read per block (whole lines): ~160,000 rows of a 5-minute PeMS export."""
INT = np.int64
_UNKNOWN = TrafficState.UNKNOWN
_NO_STATE = ArcState.UNKNOWN
_NO_HOUR = -(1 << 62)
_SHIFT = 1 << 40  # group key = code × _SHIFT + hour + _BIAS (hours fit in ±2**39)
_BIAS = 1 << 39
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_FIELDS = ("year", "month", "day", "hour", "minute", "second")
_RE2_SPECIAL = frozenset(".^$*+?()[]{}|\\")
_ISO_SHAPES = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
"""ISO 8601 texts read here as `datetime.fromisoformat` reads them; any other ISO text
(an offset, a fraction, a date alone) goes through it."""


# -- timestamps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """A timestamp shape: guard pattern, fields in text order."""

    guard: str
    fields: tuple[str, ...]


def _shape(fmt: str, width: str = "{1,2}") -> _Shape | None:
    """The shape of a format made of ``%Y %m %d %H %M %S`` parted by separators holding no
    digit (what the row reader reads with its regex parser); None for any other format.
    ``width``: digits of the fields other than the year (ISO 8601 wants exactly two)."""
    compiled = compile_format(fmt)
    if compiled is None:
        return None
    tokens = re.split(r"(%.)", fmt)
    literals = tokens[0::2]
    between = literals[1:-1]
    if any(not text for text in between):
        return None  # two fields side by side: no separator to split them on
    if any(c.isdigit() for text in literals for c in text):
        return None
    guard = "".join(
        "[0-9]{4}" if token == "%Y" else "[0-9]" + width if token.startswith("%")
        else "".join("\\" + c if c in _RE2_SPECIAL else c for c in token)
        for token in tokens
    )  # fmt: skip
    return _Shape(f"^{guard}$", tuple(compiled[1]))


class VectorTimes:
    """Reads the timestamps whose text has a known shape (`ok`); the rest is left to the
    row reader's parser."""

    def __init__(self, fmt: str | None) -> None:
        shapes = [_shape(iso, "{2}") for iso in _ISO_SHAPES] if fmt is None else [_shape(fmt)]
        self.shapes = [shape for shape in shapes if shape is not None]

    def parse(self, texts: pa.Array) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``ok`` per row, and the fields (year … second) as int64 arrays."""
        n = len(texts)
        ok = np.zeros(n, dtype=bool)
        fields = {name: np.zeros(n, dtype=INT) for name in _FIELDS}
        for shape in self.shapes:
            match = pc.match_substring_regex(texts, shape.guard).to_numpy(zero_copy_only=False)
            rows = np.flatnonzero(match & ~ok)
            if not len(rows):
                continue
            picked = texts if len(rows) == n else texts.take(pa.array(rows))
            numbers = _numbers(picked, len(shape.fields)).reshape(len(rows), len(shape.fields))
            values = {name: numbers[:, k] for k, name in enumerate(shape.fields)}
            valid = _valid_date(values["year"], values["month"], values["day"])
            for name, limit in (("hour", 23), ("minute", 59), ("second", 59)):
                if name in values:
                    valid &= values[name] <= limit
            good = rows[valid]
            for name, column in values.items():
                fields[name][good] = column[valid]
            ok[good] = True
        return ok, fields


def _numbers(texts: pa.Array, fields: int) -> np.ndarray:
    """The digit runs of each text as numbers, ``fields`` per text (a guard pattern has
    checked that each text holds exactly that many runs of 1 to 4 digits, and nothing else
    but separators without digits)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    kind = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    _, offsets_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=kind)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    starts = (offsets[:-1] - offsets[0]).astype(INT)
    digit = (data >= 48) & (data <= 57)
    before = np.zeros(len(digit), dtype=bool)
    before[1:] = digit[:-1]
    before[starts[starts < len(before)]] = False  # a text's first character starts a run
    after = np.zeros(len(digit), dtype=bool)
    after[:-1] = digit[1:]
    ends_at = (offsets[1:] - offsets[0] - 1).astype(INT)
    after[ends_at[ends_at >= 0]] = False  # a text's last character ends a run
    first = np.flatnonzero(digit & ~before)
    length = np.flatnonzero(digit & ~after) + 1 - first
    values = np.zeros(len(first), dtype=INT)
    value = data.astype(INT) - 48
    for k in range(4):
        longer = length > k
        values[longer] = values[longer] * 10 + value[first[longer] + k]
    assert len(values) == len(texts) * fields
    return values


def _valid_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """What `datetime(year, month, day)` accepts."""
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    months = (year - 1970) * 12 + np.clip(month, 1, 12) - 1
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    following = (months + 1).astype("datetime64[M]").astype("datetime64[D]")
    days: np.ndarray = (following - first).astype(INT)
    return np.asarray(valid & (day <= days), dtype=bool)


_HOURS: dict[tuple[str, int], tuple[int, int, int]] = {}
"""(zone, local hour key) → (UTC epoch of its first occurrence, of its second or `_NO_HOUR`,
state): the row reader's `hour_starts`, kept across files (bounded)."""
_GAP, _OUTSIDE = 1, 2
_DATETIMES: dict[int, datetime] = {}
"""UTC epoch second → aware datetime, kept across files (bounded)."""
_CACHE_SIZE = 1 << 17


def _hour(rows: _RowReader, zone: str, key: int) -> tuple[int, int, int]:
    rest, hour = divmod(key, 24)
    rest, day = divmod(rest, 32)
    year, month = divmod(rest, 13)
    try:
        starts = rows.hour_starts((year, month, day, hour))
    except (OverflowError, ValueError):
        entry = (0, _NO_HOUR, _OUTSIDE)
    else:
        if starts is None:
            entry = (0, _NO_HOUR, _GAP)
        else:
            entry = (starts[0], _NO_HOUR if starts[1] is None else starts[1], 0)
    if len(_HOURS) >= _CACHE_SIZE:
        _HOURS.clear()
    _HOURS[(zone, key)] = entry
    return entry


def _datetime(epoch: int) -> datetime:
    value = _DATETIMES.get(epoch)
    if value is None:
        if len(_DATETIMES) >= _CACHE_SIZE:
            _DATETIMES.clear()
        value = _DATETIMES[epoch] = datetime.fromtimestamp(epoch, tz=UTC)
    return value


# -- blocks --------------------------------------------------------------------------------


@dataclass
class _Block:
    """Rows of a block: the needed columns as text, each row's physical line number, and how
    to get a row back whole (for its dead letter)."""

    columns: dict[int, pa.Array]
    lines: np.ndarray
    rows: list[list[str]] | None = None  # split by the csv module
    text: list[str] | None = None  # the lines pandas split

    def row(self, index: int, separator: str) -> list[str]:
        if self.rows is not None:
            return self.rows[index]
        assert self.text is not None
        return next(csv.reader([self.text[index]], delimiter=separator), [])


def _split_lines(buffer: str) -> list[str]:
    """The lines of ``buffer`` (whole lines) as the csv module sees them: ended by "\n",
    "\r\n" or a lone "\r", without their ends."""
    if "\r" in buffer:
        if buffer.count("\r") != buffer.count("\r\n"):
            return [line.rstrip("\r\n") for line in io.StringIO(buffer, newline="")]
        buffer = buffer.replace("\r\n", "\n")
    lines = buffer.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


@dataclass
class _Rows:
    """Accepted intervals, in file order: group key (sensor code, UTC hour), slot in the
    hour, value (NaN: blank)."""

    key: np.ndarray
    slot: np.ndarray
    value: np.ndarray

    @classmethod
    def empty(cls) -> _Rows:
        return cls(np.empty(0, dtype=INT), np.empty(0, dtype=INT), np.empty(0))

    def __add__(self, other: _Rows) -> _Rows:
        return _Rows(*(np.concatenate([a, b]) for a, b in zip(self.parts(), other.parts(),
                                                              strict=True)))  # fmt: skip

    def parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.key, self.slot, self.value

    def take(self, mask: np.ndarray) -> _Rows:
        return _Rows(*(part[mask] for part in self.parts()))


def _group_key(code: np.ndarray, hour: np.ndarray) -> np.ndarray:
    return np.asarray(code * _SHIFT + hour + _BIAS, dtype=INT)


def _split_key(key: int) -> tuple[int, int]:
    code, rest = divmod(key, _SHIFT)
    return code, rest - _BIAS


# -- the reader ----------------------------------------------------------------------------


class VectorLongReader:
    """A long sub-hourly file, block by block (see the module docstring)."""

    def __init__(self, rows: _RowReader, separator: str) -> None:
        self.rows = rows
        definition = rows.definition
        self.separator = separator
        self.width = max(len(rows.headers), 1)
        self.sensor_columns = list(rows.columns.sensor)
        self.time_column = rows.columns.timestamp
        self.value_column = rows.columns.values[0]
        self.usecols = sorted({*self.sensor_columns, self.time_column, self.value_column})
        self.times = VectorTimes(definition.timestamp_format)
        self.slots = definition.intervals_per_hour
        self.needed = min_filled(definition.min_complete, self.slots)
        self.mean = definition.aggregate == "mean"
        self.ids: list[str] = []
        self.codes: dict[str, int] = {}
        self.newest = np.empty(0, dtype=INT)
        self.rank: dict[int, int] = {}
        self.open = _Rows.empty()
        self.position = 0
        self.duplicates = 0

    def read(self, text: TextIO, first_line: int) -> Iterator[Reading | DeadLetter]:
        """Every item of the data lines of ``text`` (``first_line``: the first one's number)."""
        line = first_line
        while buffer := text.read(BLOCK_CHARACTERS):
            if not buffer.endswith("\n"):
                buffer += text.readline()  # whole lines only (and "\r\n" kept together)
            if '"' in buffer or "\x00" in buffer:
                block, used = self._csv_block(buffer, text, line)
            else:
                lines = _split_lines(buffer)
                if max(map(len, lines), default=0) > csv.field_size_limit():
                    block, used = self._csv_block(buffer, text, line)
                else:
                    block, used = self._pandas_block(lines, line), len(lines)
            line += used
            if len(block.lines):
                yield from self._block(block)
        yield from self._finish()

    def _pandas_block(self, lines: list[str], first_line: int) -> _Block:
        present = [i for i, text in enumerate(lines) if text] if "" in lines else None
        body = lines if present is None else [lines[i] for i in present]
        numbers = (
            np.arange(len(lines), dtype=INT) if present is None else np.asarray(present, dtype=INT)
        )
        return _Block(self._columns(body), numbers + first_line, text=body)

    def _columns(self, body: list[str]) -> dict[int, pa.Array]:
        """The needed columns of unquoted lines: pyarrow's csv reader when every line has the
        header's number of fields, pandas' (which pads and cuts rows as the csv module's
        reading does) otherwise."""
        if not body:
            return {i: pa.array([], type=pa.string()) for i in self.usecols}
        text = "\n".join(body)
        names = [str(i) for i in range(self.width)]
        wanted = [str(i) for i in self.usecols]
        try:
            table = pacsv.read_csv(
                io.BytesIO(text.encode("utf-8", "surrogatepass")),
                read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 26),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.separator, quote_char=False, double_quote=False,
                    escape_char=False, newlines_in_values=False, ignore_empty_lines=False,
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=wanted, column_types=dict.fromkeys(wanted, pa.string()),
                    strings_can_be_null=False, quoted_strings_can_be_null=False,
                ),
            )  # fmt: skip
            if table.num_rows == len(body):
                return {i: table.column(str(i)).combine_chunks() for i in self.usecols}
        except (pa.ArrowInvalid, UnicodeEncodeError):
            pass
        frame = pd.read_csv(
            io.StringIO(text), sep=self.separator, header=None, names=list(range(self.width)),
            usecols=self.usecols, dtype=str, na_filter=False, skip_blank_lines=False,
            quoting=csv.QUOTE_NONE, engine="c",
        )  # fmt: skip
        return {i: _arrow(frame[i]) for i in self.usecols}

    def _csv_block(self, buffer: str, rest: TextIO, first_line: int) -> tuple[_Block, int]:
        """Split by the csv module; a quoted field running past the buffer is read on."""
        count = len(_split_lines(buffer))
        reader = csv.reader(chain(io.StringIO(buffer, newline=""), rest), delimiter=self.separator)
        rows: list[list[str]] = []
        numbers: list[int] = []
        while reader.line_num < count:
            row = next(reader, None)
            if row is None:
                break
            if row:
                rows.append(row)
                numbers.append(first_line - 1 + reader.line_num)
        columns = {
            i: pa.array([row[i] if i < len(row) else "" for row in rows], type=pa.string())
            for i in self.usecols
        }
        return _Block(columns, np.asarray(numbers, dtype=INT), rows=rows), reader.line_num

    # -- one block ------------------------------------------------------------------------

    def _block(self, block: _Block) -> Iterator[Reading | DeadLetter]:
        n = len(block.lines)
        self.rows.counts.read += n
        positions = self.position + np.arange(n, dtype=INT)
        self.position += n
        errors: dict[int, tuple[str, str]] = {}
        codes = self._sensor_codes(block, errors)
        epochs = self._epochs(block, codes, errors)
        values = self._values(block, errors)
        good = np.ones(n, dtype=bool)
        good[list(errors)] = False
        candidates = np.flatnonzero(good)
        interval_s = self.rows.interval_s
        for i in candidates[epochs[candidates] % interval_s != 0].tolist():
            minutes = self.rows.definition.interval_minutes
            errors[i] = ("off_interval", f"{_utc(int(epochs[i]))} is not on the "
                         f"{minutes}-minute grid")  # fmt: skip
        good[list(errors)] = False
        accepted, closers = self._accept(np.flatnonzero(good), codes, epochs, errors)
        hours = epochs[accepted] // HOUR
        new = _Rows(
            _group_key(codes[accepted], hours),
            (epochs[accepted] % HOUR) // interval_s,
            values[accepted],
        )
        closed_keys, closed_at = self._close(new, closers, positions)
        flows = self._flows(closed_keys)
        in_order = np.lexsort((closed_keys, closed_at))  # by closing row, then hour
        closed_keys, closed_at = closed_keys[in_order], closed_at[in_order]
        events: list[tuple[int, int, int, Reading | DeadLetter]] = []
        for i, (reason, detail) in errors.items():
            self.rows.dead_letter(block.row(i, self.separator), int(block.lines[i]), reason,
                                  detail)  # fmt: skip
            events.append((int(positions[i]), 0, 0, self.rows.dead.pop()))
        readings = self._readings(closed_keys, flows)
        events.extend(
            zip(closed_at.tolist(), [1] * len(readings), closed_keys.tolist(), readings,
                strict=True)
        )  # fmt: skip
        if errors:
            events.sort(key=lambda event: event[:3])
            self.rows.counts.dead_letters.update(reason for reason, _ in errors.values())
        self.rows.counts.readings += len(readings)
        yield from (event[3] for event in events)

    def _finish(self) -> Iterator[Reading | DeadLetter]:
        """Close every open hour: sensors in order of first appearance, hours in order."""
        keys = pd.unique(self.open.key)
        flows = self._flows(keys, everything=True)
        ordered = np.asarray(
            sorted(keys.tolist(), key=lambda key: (self.rank[key // _SHIFT], key)), dtype=INT
        )
        readings = self._readings(ordered, flows)
        self.open = _Rows.empty()
        if self.duplicates:
            self.rows.counts.dropped["duplicate_interval"] += self.duplicates
        self.rows.counts.readings += len(readings)
        yield from readings

    # -- columns --------------------------------------------------------------------------

    def _code(self, sensor_id: str) -> int:
        code = self.codes.get(sensor_id)
        if code is None:
            code = self.codes[sensor_id] = len(self.ids)
            self.ids.append(sensor_id)
            self.newest = np.append(self.newest, _NO_HOUR)
        return code

    def _sensor_codes(self, block: _Block, errors: dict[int, tuple[str, str]]) -> np.ndarray:
        """Sensor code per row (-1: no sensor id, dead-lettered)."""
        n = len(block.lines)
        if self.rows.constant_id is not None:
            return np.full(n, self._code(self.rows.constant_id), dtype=INT)
        frame = pd.DataFrame(
            {k: block.columns[i].to_numpy(zero_copy_only=False)
             for k, i in enumerate(self.sensor_columns)}
        )  # fmt: skip
        group = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
        distinct = frame.drop_duplicates().itertuples(index=False, name=None)
        name = self.rows.definition.name
        mapped = np.asarray(
            [-1 if all(map(is_blank, parts)) else self._code(make_sensor_id(name, parts))
             for parts in distinct],
            dtype=INT,
        )  # fmt: skip
        codes = mapped[group] if n else np.empty(0, dtype=INT)
        for i in np.flatnonzero(codes < 0).tolist():
            errors[i] = ("missing_sensor_id", "no sensor id")
        return codes

    def _epochs(
        self, block: _Block, codes: np.ndarray, errors: dict[int, tuple[str, str]]
    ) -> np.ndarray:
        """UTC epoch second per row, as the row reader's `time_of` and `epoch_of` make it."""
        texts = block.columns[self.time_column]
        ok, fields = self.times.parse(texts)
        epochs = np.zeros(len(ok), dtype=INT)
        local = ok & (codes >= 0)
        slow = [i for i in np.flatnonzero(~ok & (codes >= 0)).tolist()]
        parsed: dict[int, datetime] = {}
        if slow:
            strings = texts.to_pylist()
            seen: dict[str, datetime | InvalidValueError] = {}
            for i in slow:
                text = strings[i]
                if text not in seen:
                    try:
                        seen[text] = self.rows.time_of(text)
                    except InvalidValueError as bad:
                        seen[text] = bad
                when = seen[text]
                if isinstance(when, InvalidValueError):
                    errors[i] = (when.reason, when.detail)
                elif when.tzinfo is not None:
                    try:
                        epochs[i] = int(when.timestamp())
                    except (OverflowError, ValueError):
                        errors[i] = ("bad_timestamp", f"{when} is off the calendar")
                else:
                    parsed[i] = when
                    for name in _FIELDS:
                        fields[name][i] = getattr(when, name)
                    local[i] = True
        self._localise(np.flatnonzero(local), fields, codes, epochs, errors, parsed)
        return epochs

    def _localise(
        self,
        at: np.ndarray,
        fields: dict[str, np.ndarray],
        codes: np.ndarray,
        epochs: np.ndarray,
        errors: dict[int, tuple[str, str]],
        parsed: dict[int, datetime],
    ) -> None:
        """Naive local times → UTC through the row reader's table of local hours."""
        if not len(at):
            return
        rows = self.rows
        year, month, day, hour = (fields[name][at] for name in _FIELDS[:4])
        keys = ((year * 13 + month) * 32 + day) * 24 + hour
        unique, inverse = np.unique(keys, return_inverse=True)
        inverse = inverse.reshape(-1)
        zone = rows.zone.key
        table = [_HOURS.get((zone, key)) or _hour(rows, zone, key) for key in unique.tolist()]
        first, second, state = (
            np.asarray(column, dtype=INT) for column in zip(*table, strict=True)
        )
        trouble = {k: int(state[k]) for k in np.flatnonzero(state).tolist()}
        seconds = fields["minute"][at] * 60 + fields["second"][at]
        epochs[at] = first[inverse] + seconds

        def when(i: int) -> datetime:
            y, m, d, h, mi, sec = (int(fields[name][i]) for name in _FIELDS)
            return parsed.get(i) or datetime(y, m, d, h, mi, sec)

        if trouble:
            for j in np.flatnonzero(np.isin(inverse, list(trouble))).tolist():
                i = int(at[j])
                if trouble[int(inverse[j])] == _GAP:
                    detail = f"{when(i)} does not exist in {rows.zone.key} (DST gap)"
                    errors[i] = ("nonexistent_local_time", detail)
                else:
                    errors[i] = ("bad_timestamp", f"{when(i)} is outside the calendar in UTC")
        for j in np.flatnonzero(second[inverse] != _NO_HOUR).tolist():  # in file order
            i = int(at[j])
            if rows.resolver.fold(self.ids[int(codes[i])], when(i)):
                epochs[i] = second[inverse[j]] + seconds[j]

    def _values(self, block: _Block, errors: dict[int, tuple[str, str]]) -> np.ndarray:
        """The value per row (NaN: blank), as the row reader's `value_of` reads it."""
        texts = block.columns[self.value_column]
        values = np.full(len(texts), np.nan)
        plain = pc.match_substring_regex(texts, _NUMBER).to_numpy(zero_copy_only=False)
        simple = np.flatnonzero(plain)
        if len(simple):
            cast = pc.cast(texts.take(pa.array(simple)), pa.float64())
            values[simple] = cast.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            odd = ~plain | ~np.isfinite(values) | (values < 0) | (values > self.rows.max_value)
        slow = [i for i in np.flatnonzero(odd).tolist() if i not in errors]
        if slow:
            strings = texts.to_pylist()
            seen: dict[str, float | InvalidValueError | None] = {}
            for i in slow:
                text = strings[i]
                if text not in seen:
                    try:
                        seen[text] = self.rows.value_of(text)
                    except InvalidValueError as bad:
                        seen[text] = bad
                value = seen[text]
                if isinstance(value, InvalidValueError):
                    errors[i] = (value.reason, value.detail)
                else:
                    values[i] = np.nan if value is None else value
        return values

    # -- hours ----------------------------------------------------------------------------

    def _accept(
        self,
        candidates: np.ndarray,
        codes: np.ndarray,
        epochs: np.ndarray,
        errors: dict[int, tuple[str, str]],
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The candidates that are not late (the late ones are dead-lettered), in file order;
        and, for the accepted ones by sensor then file order: sensor code, the sensor's newest
        hour after the row, the row's index (what closes hours). Registers new sensors in
        order of first appearance and the newest hour of each sensor."""
        empty = np.empty(0, dtype=INT)
        if not len(candidates):
            return empty, (empty, empty, empty)
        code = codes[candidates]
        seen, first_at = np.unique(code, return_index=True)
        for c in seen[np.argsort(first_at)].tolist():  # in order of first appearance
            self.rank.setdefault(c, len(self.rank))
        order = np.argsort(code, kind="stable")  # by sensor, then file order
        code, hour, index = code[order], epochs[candidates][order] // HOUR, candidates[order]
        offset = code * _SHIFT  # sensors in increasing code order: one running max for all
        running = np.maximum.accumulate(hour + offset) - offset
        starts = np.ones(len(code), dtype=bool)
        starts[1:] = code[1:] != code[:-1]
        before = np.roll(running, 1)
        before[starts] = _NO_HOUR
        state = self.newest[code]
        late = hour < np.maximum(before, state) - REORDER_HOURS
        for i in index[late].tolist():
            errors[i] = (
                "late_interval",
                f"{_utc(int(epochs[i]))} comes after its hour was closed (the file goes back in "
                "time for this sensor by more than a day: sort it by time)",
            )
        after = np.maximum(running, state)
        ends = np.ones(len(code), dtype=bool)
        ends[:-1] = starts[1:]
        self.newest[code[ends]] = after[ends]
        keep = ~late
        return np.sort(index[keep]), (code[keep], after[keep], index[keep])

    def _close(
        self,
        new: _Rows,
        closers: tuple[np.ndarray, np.ndarray, np.ndarray],
        positions: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The hours closed within the block and the position of the row closing each (the
        first row of their sensor more than `REORDER_HOURS` past them); keeps the rest open."""
        rows = self.open + new
        self.closing = rows
        code, after, index = closers
        if not len(rows.key) or not len(code):
            self.open = rows
            return np.empty(0, dtype=INT), np.empty(0, dtype=INT)
        groups = pd.unique(rows.key)
        group_code = groups // _SHIFT
        thresholds = _group_key(group_code, groups - group_code * _SHIFT - _BIAS + REORDER_HOURS)
        found = np.searchsorted(_group_key(code, after), thresholds, side="right")
        inside = found < len(code)
        inside[inside] = code[found[inside]] == group_code[inside]
        closed = groups[inside]
        self.open = rows.take(~np.isin(rows.key, closed))
        return closed, positions[index[found[inside]]]

    def _flows(self, keys: np.ndarray, everything: bool = False) -> dict[int, float | None]:
        """The flow of each hour in ``keys`` from all its intervals (the rows being closed)."""
        if not len(keys):
            return {}
        rows = self.open if everything else self.closing
        rows = rows.take(np.isin(rows.key, keys) & ~np.isnan(rows.value))
        order = np.lexsort((rows.slot, rows.key))  # stable: file order within a slot
        group, slot, value = rows.key[order], rows.slot[order], rows.value[order]
        first = np.ones(len(group), dtype=bool)
        first[1:] = (group[1:] != group[:-1]) | (slot[1:] != slot[:-1])
        self.duplicates += int(len(first) - first.sum())
        kept_key, kept = group[first], value[first]
        unique, starts, filled = np.unique(kept_key, return_index=True, return_counts=True)
        if len(kept) and np.all(kept == np.floor(kept)) and np.abs(kept).sum() < 2.0**53:
            totals = np.add.reduceat(kept, starts).tolist() if len(starts) else []
        else:  # exactly rounded sums, as the row reader's `math.fsum`
            bounds = [*starts.tolist(), len(kept)]
            totals = [math.fsum(kept[a:b].tolist()) for a, b in pairwise(bounds)]
        sums = dict(zip(unique.tolist(), zip(filled.tolist(), totals, strict=True), strict=True))
        flows: dict[int, float | None] = {}
        for key in keys.tolist():
            count, total = sums.get(key, (0, 0.0))
            flows[key] = hourly_flow(float(total), count, self.slots, self.needed, self.mean)
        return flows

    def _readings(self, keys: np.ndarray, flows: dict[int, float | None]) -> list[Reading]:
        """The readings of the hours ``keys`` (as the row reader's `reading` makes them)."""
        rows = self.rows
        source, calendar, ids = rows.source, rows.calendar, self.ids
        incomplete = f"{source}|{INCOMPLETE_HOUR}"
        codes = (keys // _SHIFT).tolist()
        starts = ((keys % _SHIFT - _BIAS) * HOUR).tolist()
        out: list[Reading] = []
        missing = 0
        for key, code, start in zip(keys.tolist(), codes, starts, strict=True):
            flow = flows[key]
            if flow is None:
                missing += 1
            out.append(
                Reading(ids[code], _datetime(start), flow, None, _UNKNOWN,
                        _NO_STATE, source if flow is not None else incomplete, calendar)
            )  # fmt: skip
        rows.counts.incomplete_hours += missing
        return out


def _arrow(series: pd.Series) -> pa.Array:
    array = pa.array(series.fillna(""))
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _utc(epoch: int) -> str:
    from producers.sources.reader import _utc as row_utc

    return row_utc(epoch)
