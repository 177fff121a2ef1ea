"""Read any supported OpenData file as a stream of `RawRecord`s, whatever its name says.

>>> from pathlib import Path
>>> first = next(iter_raw_records(Path("data/paris/historique_2022_st-antoine_376.csv.gz")))
>>> first.position, first.fields["sensor_id"], first.fields["ts"]
('historique_2022_st-antoine_376.csv.gz:2', '376', '2022-03-09 16:00:00')
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from producers.formats.csv_source import iter_csv
from producers.formats.errors import UnknownFormatError
from producers.formats.headers import is_referential, normalise_header
from producers.formats.json_source import iter_json
from producers.formats.raw import RawRecord
from producers.formats.sniff import Layout, detect_separator, open_text

__all__ = [
    "Layout",
    "RawRecord",
    "UnknownFormatError",
    "is_referential_file",
    "iter_raw_records",
    "iter_referential",
]


def iter_raw_records(path: Path) -> Iterator[RawRecord]:
    """Stream the records of ``path`` (CSV or JSON, plain or gzip, utf-8 or cp1252).

    Raises `UnknownFormatError` (naming the file) if it is not a counts file.
    """
    source = path.name
    with open_text(path) as (text, layout):
        if layout is Layout.CSV:
            yield from iter_csv(text, str(path), source)
        else:
            yield from iter_json(text, str(path), source, lines=layout is Layout.JSON_LINES)


def is_referential_file(path: Path) -> bool:
    """True if ``path`` is the sensor referential (arc geometry), which holds no counts."""
    with open_text(path) as (text, layout):
        if layout is not Layout.CSV:
            return False
        first = text.readline()
    return is_referential(next(csv.reader([first], delimiter=detect_separator(first)), []))


def iter_referential(path: Path) -> Iterator[dict[str, str]]:
    """Rows of the sensor referential keyed by normalised header (``id_arc_tra``…)."""
    with open_text(path) as (text, _):
        first = text.readline()
        separator = detect_separator(first)
        headers = [normalise_header(h) for h in next(csv.reader([first], delimiter=separator))]
        for row in csv.reader(text, delimiter=separator):
            if row:
                yield dict(zip(headers, row, strict=False))
