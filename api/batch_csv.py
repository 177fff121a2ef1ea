"""Parse an uploaded CSV of readings into (line, sensor_id, hour) requests; bad rows reported.

The header must name a sensor column (``sensor_id``, ``iu_ac`` or ``Identifiant arc``) and a
timestamp column (``ts``, ``t_1h`` or ``Date et heure de comptage``, ISO-8601 with offset);
other columns are ignored. The separator (``,``, ``;`` or tab) is detected from the header.

>>> rows, errors = parse_batch(b"sensor_id;ts\\n4264;2022-06-17T14:00:00+02:00\\n;x\\n")
>>> rows[0][1], rows[0][2].isoformat(), errors
('4264', '2022-06-17T12:00:00+00:00', [(3, 'missing sensor id')])
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flowcast.records import in_service_range, is_sensor_id, parse_utc

SENSOR_COLUMNS = ("sensor_id", "iu_ac", "identifiant arc")
TS_COLUMNS = ("ts", "t_1h", "date et heure de comptage")
Row = tuple[int, str, datetime]
RowProblem = tuple[int, str]


class BatchFormatError(ValueError):
    """The file as a whole is unusable (encoding, header)."""


def _column(header: list[str], names: tuple[str, ...]) -> int:
    lowered = [h.strip().lower().lstrip("\ufeff") for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    raise BatchFormatError(f"header needs one of the columns {', '.join(names)}")


def _row(line: int, cells: list[str], sid: int, tsi: int) -> Row | RowProblem:
    if len(cells) <= max(sid, tsi):
        return line, "too few columns"
    sensor_id, ts_text = cells[sid].strip(), cells[tsi].strip()
    if not sensor_id:
        return line, "missing sensor id"
    if not is_sensor_id(sensor_id):
        return line, f"bad sensor id {sensor_id[:64]!r}"
    try:
        ts = parse_utc(ts_text)
    except ValueError:
        return line, f"bad ts {ts_text[:64]!r} (ISO-8601 with offset expected)"
    if not in_service_range(ts):
        return line, f"ts {ts_text[:64]!r} outside [1970, 2200)"
    return line, sensor_id, ts


def parse_batch(data: bytes, max_rows: int = 10_000) -> tuple[list[Row], list[RowProblem]]:
    """Rows usable for a forecast, and (line, reason) for the others."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchFormatError("the file is not UTF-8 text") from exc
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise BatchFormatError("empty file")
    sid, tsi = _column(header, SENSOR_COLUMNS), _column(header, TS_COLUMNS)
    rows: list[Row] = []
    errors: list[RowProblem] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(errors) >= max_rows:
            raise BatchFormatError(f"more than {max_rows} rows")
        result = _row(line, cells, sid, tsi)
        if len(result) == 3:
            rows.append(result)
        else:
            errors.append(result)
    return rows, errors
