"""Streaming CSV reading: the csv module over a text stream, one row at a time."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from typing import TextIO

from producers.formats.errors import UnknownFormatError
from producers.formats.headers import (
    SENSOR_ID,
    TS,
    canonical_fields,
    is_referential,
)
from producers.formats.raw import RawRecord
from producers.formats.sniff import detect_separator

csv.field_size_limit(min(sys.maxsize, 1 << 28))  # long geo_shape LineStrings exceed the default


def read_csv_header(text: TextIO, path: str) -> tuple[str, list[str]]:
    """Read the header line: its separator and its cells, checked to be a counts file."""
    first = text.readline()
    separator = detect_separator(first)
    headers = next(csv.reader([first], delimiter=separator), [])
    if is_referential(headers):
        raise UnknownFormatError(
            path,
            "this is the sensor referential (referentiel-comptages-routiers: arc geometry, "
            "id_arc_tra, geo_point_2d), not traffic counts; it is read by "
            "producers.sensors.load_sensor_catalog, not replayed",
        )
    canonical = canonical_fields(headers)
    if SENSOR_ID not in canonical or TS not in canonical:
        found = ", ".join(repr(h) for h in headers[:12]) or "nothing"
        raise UnknownFormatError(
            path,
            "CSV header has no sensor id column (iu_ac / Identifiant arc) and timestamp column "
            f"(t_1h / Date et heure de comptage); found {found}",
        )
    return separator, headers


def iter_csv(text: TextIO, path: str, source: str) -> Iterator[RawRecord]:
    """Yield every data row of a counts CSV as a `RawRecord` positioned ``source:line``.

    Empty lines are skipped; a row shorter than the header lacks the missing fields.
    """
    separator, headers = read_csv_header(text, path)
    return iter_csv_rows(text, separator, headers, source)


def iter_csv_rows(
    text: TextIO, separator: str, headers: list[str], source: str
) -> Iterator[RawRecord]:
    """The data rows after a header read by `read_csv_header` (see `iter_csv`)."""
    canonical = canonical_fields(headers)
    reader = csv.reader(text, delimiter=separator)
    previous_line = 1
    for row in reader:
        line = previous_line + 1
        previous_line = 1 + reader.line_num
        if not row:
            continue
        yield RawRecord(
            fields=dict(zip(canonical, row, strict=False)),
            source=source,
            position=f"{source}:{line}",
            payload=row,
            headers=headers,
        )
