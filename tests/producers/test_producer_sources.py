"""Source definitions: bad definitions named, each layout read right (gaps, DST, duplicates).

Expected values come from the bundled real files read with the csv module, or are reasoned
out by hand for the small synthetic inputs written by the tests (they say so).
"""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowcast.records import DeadLetter, Reading, is_calendar, is_sensor_id
from producers.files import InputCounts, ordered_readings
from producers.normalise import ReadCounts, iter_normalised
from producers.sources import DefinitionError, load_definition, parse_definition
from producers.sources.columns import HeaderMismatchError
from producers.sources.sensor_ids import make_sensor_id

DATA = Path(__file__).resolve().parents[2] / "data"
SCATS = DATA / "melbourne" / "scats_2006-10_site970.csv.gz"
I94 = DATA / "minneapolis" / "i94_2012-10-12_atr301.csv.gz"
PEMS = DATA / "california" / "pems_2016-01-02_station.csv.gz"

LONG_5MIN: dict[str, Any] = {
    "name": "test-la", "timezone": "America/Los_Angeles", "holidays": "US",
    "subdivision": "CA", "layout": "long", "sensor": ["station", "lane"], "timestamp": "time",
    "timestamp_format": "%d/%m/%Y %H:%M", "value": "flow", "interval_minutes": 5,
    "aggregate": "sum", "min_complete": 0.8,
}  # fmt: skip


def read(path: Path, definition: Any) -> tuple[list[Reading], list[DeadLetter], ReadCounts]:
    counts = ReadCounts()
    items = list(iter_normalised([path], counts, definition))
    readings = [i for i in items if isinstance(i, Reading)]
    dead = [i for i in items if isinstance(i, DeadLetter)]
    return readings, dead, counts


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- definitions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezon": "UTC"}, "timezon: unknown field"),
        ({"timezone": None}, "timezone: missing"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown IANA timezone"),
        ({"holidays": "XX"}, "holidays: 'XX' is not a country"),
        ({"holidays": None}, "subdivision: needs `holidays`"),
        ({"subdivision": "ZZ"}, "subdivision: 'ZZ' is not a subdivision of US"),
        ({"layout": "tall"}, "layout: Input should be 'long' or 'wide'"),
        ({"sensor_id": "one"}, "sensor / sensor_id: give exactly one"),
        ({"sensor": None}, "sensor / sensor_id: give exactly one"),
        ({"sensor": []}, "sensor: name at least one non-empty column"),
        ({"value": None}, "value / values: a long layout"),
        ({"layout": "wide"}, "value / values: a wide layout"),
        ({"layout": "wide", "value": None, "values": "V00..X95"}, "values: 'V00..X95'"),
        ({"layout": "wide", "value": None, "values": "V00..V300"}, "values: 301 columns"),
        ({"interval_minutes": 7}, "interval_minutes: must divide an hour"),
        ({"aggregate": "median"}, "aggregate: Input should be 'sum' or 'mean'"),
        ({"min_complete": 0}, "min_complete: Input should be greater than 0"),
        ({"min_complete": 1.5}, "min_complete: Input should be less than or equal to 1"),
        ({"name": "bad name!"}, "name: 1-32 letters"),
        ({"timestamp_format": "dd/mm/yyyy"}, "timestamp_format: 'dd/mm/yyyy' has no strptime"),
    ],
)
def test_a_bad_definition_is_rejected_naming_its_field(change: dict[str, Any], field: str) -> None:
    data = {k: v for k, v in (LONG_5MIN | change).items() if v is not None}
    with pytest.raises(DefinitionError) as error:
        parse_definition(data, "city.toml")
    assert str(error.value).startswith("city.toml: bad source definition: ")
    assert field in str(error.value)


def test_definition_files_report_missing_files_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="no such source definition file"):
        load_definition(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\ntimezone = \n')
    with pytest.raises(DefinitionError, match=r"broken.toml: not valid TOML \(.*line 2"):
        load_definition(broken)


def test_the_bundled_definitions_load_and_carry_valid_calendars() -> None:
    for name in ("melbourne/scats", "minneapolis/i94", "california/pems"):
        definition = load_definition(DATA / f"{name}.toml")
        assert definition.calendar is not None and is_calendar(definition.calendar)


def test_sensor_ids_are_namespaced_slugs_of_at_most_64_characters() -> None:
    assert make_sensor_id("m", ["970", " Warrigal Rd / High St "]) == "m:970-Warrigal_Rd_High_St"
    assert make_sensor_id("m", ["Rue de l'Église"]) == "m:Rue_de_l_Eglise"
    first = make_sensor_id("city", ["a" * 70 + "1"])
    second = make_sensor_id("city", ["a" * 70 + "2"])
    assert len(first) == len(second) == 64 and first != second
    assert first.startswith("city:aaaa") and is_sensor_id(first)
    assert is_sensor_id(make_sensor_id("city", ["北京"]))  # nothing latin left: a hash


# -- long layout, sub-hourly (synthetic rows, America/Los_Angeles) ------------------------


def five_minute_rows(day: str, hour: int, flows: list[int | str], lane: str = "1") -> list[Any]:
    return [["401", lane, f"{day} {hour}:{5 * k:02d}", flow] for k, flow in enumerate(flows)]


def test_long_five_minute_counts_make_hourly_flows_with_completeness(tmp_path: Path) -> None:
    definition = parse_definition(LONG_5MIN, "test")
    rows = [
        *five_minute_rows("01/02/2016", 8, [10] * 12),  # complete: 120
        *five_minute_rows("01/02/2016", 9, [10] * 11),  # 11 of 12 ≥ 0.8: scaled to 120
        *five_minute_rows("01/02/2016", 10, [10] * 6),  # 6 of 12 < 0.8: no flow
        *five_minute_rows("01/02/2016", 11, [10, 10, "", *[10] * 9]),  # a blank: 11 of 12
        ["401", "1", "01/02/2016 11:00", 99],  # a repeated interval: the first (10) wins
        ["401", "1", "01/02/2016 12:07", 5],  # off the 5-minute grid
        ["401", "1", "not a date", 5],
    ]  # synthetic rows
    path = write_csv(tmp_path / "la.csv", ["station", "lane", "time", "flow"], rows)
    readings, dead, counts = read(path, definition)
    assert [(r.ts, r.flow) for r in readings] == [
        (utc(2016, 2, 1, 16), 120.0),  # 08:00 PST
        (utc(2016, 2, 1, 17), 120.0),
        (utc(2016, 2, 1, 18), None),
        (utc(2016, 2, 1, 19), 120.0),
    ]
    assert {r.sensor_id for r in readings} == {"test-la:401-1"}
    assert readings[2].source == "la.csv|incomplete_hour"
    assert {r.calendar for r in readings} == {"America/Los_Angeles|US|CA"}
    assert counts.incomplete_hours == 1 and counts.dropped == {"duplicate_interval": 1}
    assert [(d.reason, d.position) for d in dead] == [
        ("off_interval", "la.csv:44"),
        ("bad_timestamp", "la.csv:45"),
    ]
    assert counts.read == len(rows) and counts.readings == 4


def test_long_layout_across_both_dst_changes_of_its_timezone(tmp_path: Path) -> None:
    definition = parse_definition(LONG_5MIN, "test")
    rows = [
        *five_minute_rows("13/03/2016", 1, [5] * 12),
        *five_minute_rows("13/03/2016", 2, [5] * 12),  # 02:00-02:55 do not exist in LA
        *five_minute_rows("13/03/2016", 3, [5] * 12),
        *five_minute_rows("06/11/2016", 1, [1] * 12),  # 01:00-01:55 PDT
        *five_minute_rows("06/11/2016", 1, [2] * 12),  # again: 01:00-01:55 PST
        *five_minute_rows("06/11/2016", 2, [3] * 12),
    ]  # synthetic rows
    path = write_csv(tmp_path / "dst.csv", ["station", "lane", "time", "flow"], rows)
    readings, dead, _ = read(path, definition)
    assert [(r.ts, r.flow) for r in readings] == [
        (utc(2016, 3, 13, 9), 60.0),  # 01:00 PST
        (utc(2016, 3, 13, 10), 60.0),  # 03:00 PDT: one hour later
        (utc(2016, 11, 6, 8), 12.0),  # first 01:00 is PDT (UTC-7)
        (utc(2016, 11, 6, 9), 24.0),  # the repeated 01:00 is PST (UTC-8)
        (utc(2016, 11, 6, 10), 36.0),
    ]
    assert [d.reason for d in dead] == ["nonexistent_local_time"] * 12


def test_a_file_going_back_more_than_a_day_dead_letters_the_late_rows(tmp_path: Path) -> None:
    definition = parse_definition(LONG_5MIN, "test")
    rows = [
        *five_minute_rows("01/02/2016", 8, [10] * 12),
        *five_minute_rows("03/02/2016", 8, [10] * 12),
        *five_minute_rows("01/02/2016", 9, [10] * 12),  # 47 h back: its day is closed
        *five_minute_rows("03/02/2016", 7, [10] * 12),  # 1 h back: still open, in order
    ]  # synthetic rows
    path = write_csv(tmp_path / "late.csv", ["station", "lane", "time", "flow"], rows)
    readings, dead, _ = read(path, definition)
    assert sorted((r.ts, r.flow) for r in readings) == [
        (utc(2016, 2, 1, 16), 120.0),
        (utc(2016, 2, 3, 15), 120.0),
        (utc(2016, 2, 3, 16), 120.0),
    ]
    assert [d.reason for d in dead] == ["late_interval"] * 12
    assert "sort it by time" in dead[0].detail


def test_the_bundled_pems_sample_sums_twelve_five_minute_counts() -> None:
    definition = load_definition(DATA / "california" / "pems.toml")
    readings, dead, counts = read(PEMS, definition)
    with gzip.open(PEMS, "rt", newline="") as handle:
        raw = list(csv.DictReader(handle))
    flows = [int(row["Lane 1 Flow (Veh/5 Minutes)"]) for row in raw]
    assert dead == [] and counts.read == len(raw) == 27 * 288  # 27 whole days, with gaps
    assert readings[0].ts == utc(2016, 1, 4, 8)  # 04/01/2016 00:00 PST
    hourly = [float(sum(flows[i : i + 12])) for i in range(0, len(flows), 12)]
    assert [r.flow for r in readings] == hourly and counts.incomplete_hours == 0
    assert readings[-1].ts == utc(2016, 3, 1, 7)  # 29/02/2016 23:00 PST
    assert {r.ts.date() for r in readings} >= {datetime(2016, 1, 22).date()}  # after a gap


# -- wide layout (the real SCATS sample, and synthetic DST days) --------------------------


def test_the_bundled_scats_sample_unpivots_96_quarter_hours_per_row() -> None:
    definition = load_definition(DATA / "melbourne" / "scats.toml")
    readings, dead, counts = read(SCATS, definition)
    with gzip.open(SCATS, "rt", newline="") as handle:
        raw = list(csv.DictReader(handle))
    assert dead == [] and counts.read == len(raw) == 62
    # 29/10/2006: clocks went from 02:00 to 03:00 in Melbourne; V08..V11 do not exist
    assert counts.dropped == {"nonexistent_local_time": 2 * 4}
    assert len(readings) == 62 * 24 - 2
    first = raw[0]
    assert readings[0].sensor_id == "melbourne-scats:970-WARRIGAL_RD_N_of_HIGH_STREET_RD"
    assert readings[0].ts == utc(2006, 9, 30, 14)  # 00:00 AEST
    assert readings[0].flow == sum(float(first[f"V{k:02d}"]) for k in range(4))
    ten_am = next(r for r in readings if r.ts == utc(2006, 10, 1, 0))
    assert ten_am.flow == sum(float(first[f"V{k:02d}"]) for k in range(40, 44))


def test_wide_rows_on_dst_days_drop_the_gap_and_take_the_first_repeated_hour(
    tmp_path: Path,
) -> None:
    definition = parse_definition(
        {"name": "w", "timezone": "Australia/Melbourne", "layout": "wide", "sensor": ["site"],
         "timestamp": "day", "timestamp_format": "%d/%m/%Y", "values": "V00..V95",
         "interval_minutes": 15, "min_complete": 0.75},
        "test",
    )  # fmt: skip
    header = ["site", "day", *[f"V{k:02d}" for k in range(96)]]
    rows = [
        ["1", "29/10/2006", *[4] * 96],  # spring forward at 02:00
        ["1", "25/03/2007", *[4] * 8, *[9] * 4, *[4] * 84],  # 02:00-02:59 happens twice
        ["1", "26/03/2007", *[4] * 95, "x"],  # a bad cell: the row is kept, the cell reported
    ]  # synthetic rows
    readings, dead, counts = read(write_csv(tmp_path / "w.csv", header, rows), definition)
    spring = [r for r in readings if r.ts.date() <= datetime(2006, 10, 29).date()]
    assert len(spring) == 23 and counts.dropped["nonexistent_local_time"] == 4
    assert [(r.ts, r.flow) for r in readings if r.flow == 36.0] == [
        (utc(2007, 3, 24, 15), 36.0)  # 02:00 AEDT (UTC+11), the first occurrence
    ]
    autumn = [r for r in readings if utc(2007, 3, 24, 13) <= r.ts < utc(2007, 3, 25, 14)]
    assert len(autumn) == 24  # 25 hours that day, the repeated one (AEST) has no column
    assert [(d.reason, d.detail) for d in dead] == [("bad_number", "V95: 'x' is not a number")]
    assert readings[-1].flow == 16.0  # 23:00-23:45 with V95 missing: 3 of 4 ≥ 0.75, scaled


# -- single hourly series (the real I-94 sample) ------------------------------------------


def test_the_i94_series_keeps_the_first_of_the_hours_repeated_per_weather() -> None:
    definition = load_definition(DATA / "minneapolis" / "i94.toml")
    with gzip.open(I94, "rt", newline="") as handle:
        raw = list(csv.DictReader(handle))
    first_per_hour: dict[str, float] = {}
    for row in raw:
        first_per_hour.setdefault(row["date_time"], float(row["traffic_volume"]))
    counts = InputCounts()
    readings = list(ordered_readings([I94], counts, definition))
    # the fall-back hour 2012-11-04 01:00 appears twice: read in order of appearance as
    # 01:00 CDT then 01:00 CST (the documented rule for long files), so one more reading
    fall_back = [
        (r.ts, r.flow) for r in readings if utc(2012, 11, 4, 5) <= r.ts < utc(2012, 11, 4, 8)
    ]
    assert fall_back == [(utc(2012, 11, 4, 5), 2125.0), (utc(2012, 11, 4, 6), 730.0),
                             (utc(2012, 11, 4, 7), 730.0)]  # fmt: skip
    assert len(readings) == len(first_per_hour) + 1 < len(raw)
    assert counts.order.duplicates == len(raw) - len(first_per_hour) - 1
    flows = list(first_per_hour.values())
    at = list(first_per_hour).index("2012-11-04 01:00:00")
    assert [r.flow for r in readings] == [*flows[: at + 1], 730.0, *flows[at + 1 :]]
    assert readings[0].ts == utc(2012, 10, 2, 14)  # 09:00 CDT
    assert {r.sensor_id for r in readings} == {"minneapolis-i94:atr301-westbound"}
    assert {r.calendar for r in readings} == {"America/Chicago|US|MN"}  # kept by the ordering


def test_an_hourly_series_across_the_fall_back_hour(tmp_path: Path) -> None:
    definition = load_definition(DATA / "minneapolis" / "i94.toml")
    header = ["holiday", "date_time", "traffic_volume"]
    rows = [["None", "2012-11-04 00:00:00", 800], ["None", "2012-11-04 01:00:00", 500],
            ["None", "2012-11-04 01:00:00", 400], ["None", "2012-11-04 02:00:00", 300],
            ["None", "2013-03-10 02:00:00", 300]]  # fmt: skip  # synthetic rows
    readings, dead, _ = read(write_csv(tmp_path / "i94.csv", header, rows), definition)
    assert [(r.ts, r.flow) for r in readings] == [
        (utc(2012, 11, 4, 5), 800.0),
        (utc(2012, 11, 4, 6), 500.0),  # 01:00 CDT
        (utc(2012, 11, 4, 7), 400.0),  # 01:00 CST
        (utc(2012, 11, 4, 8), 300.0),
    ]
    assert [d.reason for d in dead] == ["nonexistent_local_time"]


# -- files that do not fit ----------------------------------------------------------------


def test_a_header_that_does_not_match_names_the_missing_column_and_the_found_ones() -> None:
    definition = load_definition(DATA / "melbourne" / "scats.toml")
    with pytest.raises(HeaderMismatchError) as error:
        read(I94, definition)
    message = str(error.value)
    assert message.startswith(f"{I94}: column 'SCATS Number' (and 98 more) of source")
    assert "found 'holiday', 'temp'" in message and "\n" not in message


def test_a_json_file_is_refused_by_a_csv_definition(data_dir: Path) -> None:
    definition = load_definition(DATA / "minneapolis" / "i94.toml")
    with pytest.raises(HeaderMismatchError, match="reads CSV files; this file is JSON"):
        read(data_dir / "api_v2.1_records_2026-06-21.json.gz", definition)
