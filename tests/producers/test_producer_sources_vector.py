"""The vectorised reader of long sub-hourly files gives exactly what the row reader gives.

Every test reads a file both ways (`iter_defined(..., engine="rows")`, the reference, and the
default engine, vectorised for these files) and compares the whole item sequences (readings
and dead letters, in order) and the counts. The inputs are the bundled real PeMS extract, and
small synthetic files written by the tests (they say so) for the cases the real one lacks:
gaps, both DST changes in several zones, repeated and unsorted intervals, bad cells, quotes,
ragged rows, line endings, and blocks so small that open hours cross block boundaries.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowcast.records import DeadLetter, Reading
from producers.read_counts import ReadCounts
from producers.sources import load_definition, parse_definition, vector
from producers.sources.reader import iter_defined, vectorised

DATA = Path(__file__).resolve().parents[2] / "data"
PEMS = DATA / "california" / "pems_2016-01-02_station.csv.gz"


def definition(**change: Any) -> Any:
    base: dict[str, Any] = {
        "name": "t", "timezone": "America/Los_Angeles", "holidays": "US", "subdivision": "CA",
        "layout": "long", "sensor": ["station"], "timestamp": "time",
        "timestamp_format": "%d/%m/%Y %H:%M", "value": "flow", "interval_minutes": 5,
        "aggregate": "sum", "min_complete": 0.8,
    }  # fmt: skip
    data = {key: value for key, value in (base | change).items() if value is not None}
    return parse_definition(data, "test")


def both_ways(path: Path, source: Any) -> list[Reading | DeadLetter]:
    """Read ``path`` both ways; assert the same items and counts; return the items."""
    assert vectorised(source)
    expected_counts, counts = ReadCounts(), ReadCounts()
    expected = list(iter_defined(path, source, expected_counts, engine="rows"))
    got = list(iter_defined(path, source, counts))
    assert got == expected
    assert counts == expected_counts
    return got


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode())
    return path


def rows_text(header: str, rows: list[str], end: str = "\n") -> str:
    return end.join([header, *rows]) + end


def day_of_5min(
    day: str, station: str = "401", flow: int = 10, hours: range = range(24)
) -> list[str]:
    return [f"{station},{day} {h}:{m:02d},{flow}" for h in hours for m in range(0, 60, 5)]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of ~300 characters: hours stay open across many block boundaries."""
    monkeypatch.setattr(vector, "BLOCK_CHARACTERS", 300)


def test_the_bundled_pems_extract_reads_the_same_both_ways() -> None:
    items = both_ways(PEMS, load_definition(DATA / "california" / "pems.toml"))
    assert len(items) == 27 * 24 and all(isinstance(i, Reading) for i in items)


def test_the_bundled_pems_extract_in_small_blocks(small_blocks: None) -> None:
    items = both_ways(PEMS, load_definition(DATA / "california" / "pems.toml"))
    assert len(items) == 27 * 24


@pytest.mark.parametrize(
    ("zone", "first_day", "second_day", "repeated"),
    [
        ("America/Los_Angeles", "13/03/2016", "06/11/2016", 1),
        ("Australia/Melbourne", "03/04/2016", "02/10/2016", 2),  # autumn first: April
        ("Europe/Paris", "27/03/2016", "30/10/2016", 2),
        ("America/Chicago", "13/03/2016", "06/11/2016", 1),
    ],
)
def test_both_dst_changes_of_a_zone_read_the_same(
    tmp_path: Path, zone: str, first_day: str, second_day: str, repeated: int, small_blocks: None
) -> None:
    rows = [*day_of_5min(first_day), *day_of_5min(second_day)]
    autumn = first_day if zone.startswith("Australia") else second_day
    # the repeated autumn hour written twice, as a 5-minute export of local times does
    again = day_of_5min(autumn, flow=7, hours=range(repeated, repeated + 1))
    at = rows.index(f"401,{autumn} {repeated + 1}:00,10")
    rows[at:at] = again
    path = write(tmp_path / "dst.csv", rows_text("station,time,flow", rows))  # synthetic rows
    items = both_ways(path, definition(timezone=zone, holidays=None, subdivision=None))
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert [d.reason for d in dead] == ["nonexistent_local_time"] * 12  # the spring gap
    readings = [i for i in items if isinstance(i, Reading)]
    assert len(readings) == 2 * 24 and [r.flow for r in readings].count(7 * 12) == 1


def test_gaps_duplicates_unsorted_rows_and_bad_cells_read_the_same(
    tmp_path: Path, small_blocks: None
) -> None:
    rows = [
        *day_of_5min("01/02/2016", hours=range(6)),
        *day_of_5min("01/02/2016", hours=range(9, 12)),  # a three-hour gap
        "401,01/02/2016 10:05,99",  # a repeated interval: the first value stays
        "401,01/02/2016 8:55,4",  # back 3 hours: still open, aggregated
        "402,01/02/2016 10:00,3",  # another sensor, interleaved
        *day_of_5min("03/02/2016", hours=range(2)),
        "401,01/02/2016 9:00,5",  # back 41 hours: its hour was closed (late)
        "402,01/02/2016 10:05,",  # blank: present, no value
        "401,03/02/2016 1:07,5",  # off the 5-minute grid
        "401,31/02/2016 1:00,5",  # no such day
        ",03/02/2016 1:00,5",  # no sensor
        "401,,5",  # no timestamp
        "401,03/02/2016 1:00,-3",
        "401,03/02/2016 1:00,1e400",
        "401,03/02/2016 1:00,12,5",  # an extra field: ignored, the value is 12
        "401,03/02/2016 1:00,abc",
        "401, 03/02/2016 2:00 ,1_000",  # spaces and an underscore: the row parsers read them
        "401,03/02/2016 2:05,7.5",
        "403,03/02/2016 2:00",  # a short row: no value
        "",
        "   ",
    ]  # synthetic rows
    path = write(tmp_path / "messy.csv", rows_text("station,time,flow", rows))
    items = both_ways(path, definition())
    reasons = {i.reason for i in items if isinstance(i, DeadLetter)}
    assert reasons == {"late_interval", "off_interval", "bad_timestamp", "missing_sensor_id",
                       "missing_timestamp", "negative_flow", "bad_number"}  # fmt: skip


def test_quotes_line_endings_and_a_field_on_two_lines_read_the_same(tmp_path: Path) -> None:
    body = rows_text("station,time,flow", day_of_5min("01/02/2016", hours=range(3)), "\r\n")
    body += '"401","01/02/2016 3:00","1\r\n2"\r\n"4 01",01/02/2016 3:05,"3"\r\n'
    body += "401,01/02/2016 3:10,4\r401,01/02/2016 3:15,5\n"  # a lone CR ends a line too
    path = write(tmp_path / "quoted.csv", body)  # synthetic rows
    items = both_ways(path, definition())
    dead = [(i.reason, i.position) for i in items if isinstance(i, DeadLetter)]
    assert dead == [("bad_number", "quoted.csv:39")]  # the row ends on the 39th line


def test_iso_timestamps_with_and_without_offsets_read_the_same(tmp_path: Path) -> None:
    rows = [f"401,2016-02-01T{h:02d}:{m:02d}:00,{h}" for h in range(4) for m in range(0, 60, 5)]
    rows += [f"401,2016-02-01 04:{m:02d},1" for m in range(0, 60, 5)]
    rows += [f"401,2016-02-01T05:{m:02d}:00-08:00,2" for m in range(0, 60, 5)]
    rows += ["401,2016-02-01T06:00:00.5,1", "401,2016-02-01,1", "401,2016-02-30T00:00,1",
             "401,2016-2-01T06:05,1", "401,2016-02-01 6:10,1"]  # fmt: skip
    path = write(tmp_path / "iso.csv", rows_text("station,time,flow", rows))  # synthetic rows
    items = both_ways(path, definition(timestamp_format=None))
    assert sum(isinstance(i, Reading) and i.flow is not None for i in items) == 6


def test_rates_averaged_with_decimals_read_the_same(tmp_path: Path, small_blocks: None) -> None:
    rows = [f"a;b;{d} {h}:{m:02d};{(h * 7 + m) / 3:.4f}" for d in ("01/02/2016", "02/02/2016")
            for h in range(24) for m in range(0, 60, 15)]  # fmt: skip
    path = write(tmp_path / "rates.csv", rows_text("s1;s2;time;speed", rows))  # synthetic rows
    source = definition(sensor=["s1", "s2"], value="speed", interval_minutes=15,
                        aggregate="mean", min_complete=0.75)  # fmt: skip
    items = both_ways(path, source)
    assert {i.sensor_id for i in items if isinstance(i, Reading)} == {"t:a-b"}


# -- any file ------------------------------------------------------------------------------

ZONES = ["America/Los_Angeles", "Australia/Melbourne", "Europe/London", "Asia/Kolkata"]
DAYS = ["13/03/2016", "06/11/2016", "02/10/2016", "03/04/2016", "27/03/2016", "30/10/2016"]


HOSTILE = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r\n"), max_size=12
)
VALUES = st.one_of(
    st.integers(0, 400).map(str),
    st.sampled_from(["", "1,5", "7.25", "-1", "nan", "x", "1e9", " 4 ", "1_0"]),
)


def stamp(day: str, hour: int, minute: int, iso: bool) -> str:
    """``day`` (dd/mm/yyyy) + ``hour`` hours (may pass midnight) + ``minute``, as text."""
    shifted = date(int(day[6:]), int(day[3:5]), int(day[:2])) + timedelta(hours=hour)
    if iso:
        return f"{shifted.isoformat()}T{hour % 24:02d}:{minute:02d}"
    return f"{shifted:%d/%m/%Y} {hour % 24}:{minute:02d}"


@st.composite
def long_files(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A long 5- or 15-minute file (synthetic): one or two id columns, runs of intervals near
    DST days, some rows swapped or repeated, some cells hostile (random text)."""
    minutes = draw(st.sampled_from([5, 15]))
    day = draw(st.sampled_from(DAYS))
    iso = draw(st.booleans())
    start = draw(st.integers(0, 20))
    count = draw(st.integers(1, 60))
    rows: list[list[str]] = []
    for k in range(count):
        hour, minute = start + k * minutes // 60, k * minutes % 60
        for station in draw(st.lists(st.sampled_from(["1", "2", " 3", ""]), min_size=1,
                                     max_size=2)):  # fmt: skip
            text = stamp(day, hour, minute, iso)
            if draw(st.integers(0, 19)) == 0:
                text = draw(HOSTILE)
            rows.append([station, draw(st.sampled_from(["a", "b"])), text, draw(VALUES)])
    if draw(st.booleans()):
        a, b = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows) - 1))
        rows[a], rows[b] = rows[b], rows[a]
    rows += draw(st.lists(st.sampled_from(rows), max_size=3))
    out = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    csv.writer(out, quoting=quoting, lineterminator=ending).writerows(
        [["station", "lane", "time", "flow"], *rows]
    )
    change = {
        "timezone": draw(st.sampled_from(ZONES)), "holidays": None, "subdivision": None,
        "interval_minutes": minutes, "min_complete": draw(st.sampled_from([0.5, 1.0])),
        "aggregate": draw(st.sampled_from(["sum", "mean"])),
        "sensor": draw(st.sampled_from([["station"], ["station", "lane"]])),
        "timestamp_format": None if iso else "%d/%m/%Y %H:%M",
    }  # fmt: skip
    return out.getvalue(), change


SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@settings(max_examples=40, deadline=None, suppress_health_check=SLOW_OK)
@given(file=long_files(), block=st.sampled_from([64, 500, 4_000_000]))
def test_any_long_file_reads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: tuple[str, dict[str, Any]], block: int
) -> None:
    text, change = file
    monkeypatch.setattr(vector, "BLOCK_CHARACTERS", block)
    path = tmp_path / "any.csv"
    path.write_text(text, newline="")  # synthetic rows
    both_ways(path, definition(**change))
