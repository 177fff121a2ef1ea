"""Hostile input files and records through every reader: no crash, every bad record named.

A file is either refused as a whole (`UnknownFormatError`, naming it) or read record by
record, each record becoming exactly one `Reading` (with plausible values) or one `DeadLetter`
with one of the stable reasons and its position.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowcast.bounds import MAX_FLOW, MAX_OCCUPANCY
from flowcast.records import DeadLetter, Reading
from producers.formats import RawRecord, UnknownFormatError
from producers.normalise import (
    DEAD_LETTER_REASONS,
    ReadCounts,
    iter_normalised,
    normalise,
)
from producers.timestamps import LocalTimeResolver

HEADERS = {
    "export": [
        "Identifiant arc", "Libelle", "Date et heure de comptage", "Débit horaire",
        "Taux d'occupation", "Etat trafic", "Etat arc",
    ],
    "historique": ["iu_ac", "libelle", "t_1h", "q", "k", "etat_trafic", "etat_barre"],
    "api": ["iu_ac", "t_1h", "q", "k", "etat_trafic", "etat_barre"],
}  # fmt: skip
PLAUSIBLE = {
    "sensor": st.sampled_from(["4264", "191", "4264.0", " 376 ", "", "abc", "-1", "1e3"]),
    "ts": st.sampled_from(
        [
            "2022-06-17T16:00:00+02:00", "2022-03-27 02:00:00", "2022-10-30 02:00:00",
            "2022-06-17 16:30:00", "2022-13-01 00:00:00", "", "demain", "1655474400",
        ]
    ),
    "number": st.sampled_from(["12,5", "1120.0", "-3", "1e400", "nan", "", "20001", "abc"]),
    "state": st.sampled_from(["Fluide", "Saturé", "PrÃ©-saturÃ©", "Barr\ufffd", "3", "9", ""]),
}  # fmt: skip
TEXT = st.text(st.characters(exclude_characters="\x00"), max_size=30)  # NUL: a binary file
CELLS = st.one_of(TEXT, *PLAUSIBLE.values())
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
FILES = tempfile.mkdtemp(prefix="flowcast-fuzz-")


def check_item(item: Reading | DeadLetter) -> None:
    """A reading has plausible values; a dead letter a known reason and a position."""
    if isinstance(item, DeadLetter):
        assert item.reason in DEAD_LETTER_REASONS, item
        assert item.position and item.source
        return
    assert item.sensor_id.isdigit()
    assert item.ts.tzinfo is UTC and item.ts.minute == item.ts.second == 0
    assert item.flow is None or 0 <= item.flow <= MAX_FLOW
    assert item.occupancy is None or 0 <= item.occupancy <= MAX_OCCUPANCY


def read_file(content: bytes, name: str) -> list[Reading | DeadLetter] | None:
    """Every item read from a file holding ``content``, or None if the file is refused."""
    path = Path(tempfile.mkdtemp(dir=FILES)) / name
    path.write_bytes(content)
    counts = ReadCounts()
    try:
        items = list(iter_normalised([path], counts))
    except UnknownFormatError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
        return None
    for item in items:
        check_item(item)
    assert counts.read == len(items) == counts.readings + counts.dead_letters.total()
    return items


FIELD_NAMES = ("sensor_id", "ts", "flow", "occupancy", "traffic_state", "arc_state", "other")


@settings(max_examples=150, deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES | CELLS),
    as_list=st.booleans(),
)
def test_any_record_normalises_to_a_reading_or_a_named_dead_letter(
    fields: dict[str, Any], as_list: bool
) -> None:
    payload: Any = list(fields.values()) if as_list else fields
    record = RawRecord(fields=fields, source="fuzz.json", position="fuzz.json:#0", payload=payload)
    check_item(normalise(record, LocalTimeResolver()))


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, int]:
    """A counts CSV (any known header, separator, encoding) with hostile rows, and its row
    count."""
    headers = draw(st.sampled_from(list(HEADERS.values())))
    separator = draw(st.sampled_from([";", ",", "\t", "|"]))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(headers) + 2), max_size=12))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=separator)
    writer.writerow(headers)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    data = text.getvalue().encode(encoding, "replace")
    return data, sum(1 for row in rows if row)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=csv_files(), gzipped=st.booleans())
def test_csv_files_with_hostile_rows(file: tuple[bytes, int], gzipped: bool) -> None:
    content, rows = file
    items = read_file(gzip.compress(content) if gzipped else content, "fuzz.csv")
    assert items is not None, "a file with a counts header is read, never refused"
    assert len(items) == rows, "every row is one reading or one dead letter"


@st.composite
def json_files(draw: st.DrawFn) -> bytes:
    """An API export (array, results object or JSON Lines) whose records hold anything."""
    keys = st.sampled_from([*HEADERS["api"], "x"])
    records = draw(st.lists(st.dictionaries(keys, JSON_VALUES | CELLS) | JSON_VALUES, max_size=8))
    layout = draw(st.sampled_from(["array", "object", "lines"]))
    if layout == "lines":
        return "\n".join(json.dumps(r) for r in records).encode()
    document: Any = records if layout == "array" else {"total_count": 1, "results": records}
    return json.dumps(document).encode()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=json_files())
def test_json_files_with_hostile_records(content: bytes) -> None:
    read_file(content, "fuzz.json")


@settings(max_examples=150, deadline=None)
@given(content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_are_read_or_refused_by_name(content: bytes) -> None:
    read_file(content, "fuzz.bin")
