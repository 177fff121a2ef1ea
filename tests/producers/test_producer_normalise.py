"""Validation and normalisation into Reading / DeadLetter, on real files and synthetic bad ones."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bundled_files import API, DATA, EXPORTS, EXTRACT, HISTORICAL, raw_api_records, raw_csv_rows

from flowcast.records import ArcState, DeadLetter, Reading, TrafficState
from producers.normalise import DEAD_LETTER_REASONS, ReadCounts, iter_normalised
from producers.values import (
    InvalidValueError,
    parse_arc_state,
    parse_number,
    parse_sensor_id,
    parse_traffic_state,
)


def _split(items: list[Reading | DeadLetter]) -> tuple[list[Reading], list[DeadLetter]]:
    readings = [i for i in items if isinstance(i, Reading)]
    return readings, [i for i in items if isinstance(i, DeadLetter)]


@pytest.mark.parametrize("name", [*EXPORTS, HISTORICAL, EXTRACT, API])
def test_every_record_is_a_reading_or_a_dead_letter(name: str) -> None:
    rows = len(raw_api_records()) if name == API else len(raw_csv_rows(name)[1])
    counts = ReadCounts()
    readings, dead = _split(list(iter_normalised([DATA / name], counts)))
    assert counts.read == rows
    assert len(readings) + len(dead) == rows
    assert counts.readings == len(readings)
    assert counts.dead_letters.total() == len(dead)


@pytest.mark.parametrize("name", EXPORTS)
def test_missing_flow_is_a_valid_reading(name: str) -> None:
    header, rows = raw_csv_rows(name)
    empty_flow = sum(1 for row in rows if row[header.index("Débit horaire")] == "")
    readings, dead = _split(list(iter_normalised([DATA / name])))
    assert dead == []
    assert empty_flow > 0
    assert sum(1 for r in readings if r.flow is None) == empty_flow


def test_portal_export_row_is_normalised_to_utc() -> None:
    # line 2 of the raw file: 4264;…;2022-06-17T16:00:00+02:00;1120.0;49.9;Saturé;…;Invalide
    first = next(iter_normalised([DATA / EXPORTS[0]]))
    assert first == Reading(
        "4264",
        datetime(2022, 6, 17, 14, tzinfo=UTC),
        1120.0,
        49.9,
        TrafficState.SATURATED,
        ArcState.INVALID,
        EXPORTS[0],
    )


def _historical_by_local_time() -> dict[str, Reading | DeadLetter]:
    header, rows = raw_csv_rows(HISTORICAL)
    local = [row[header.index("t_1h")] for row in rows]
    items = list(iter_normalised([DATA / HISTORICAL]))
    assert len(local) == len(set(local)) == len(items)  # no repeated hour in this file
    return dict(zip(local, items, strict=True))


def test_march_dst_gap_in_the_historical_file() -> None:
    by_local = _historical_by_local_time()
    # Europe/Paris jumps from 02:00 CET to 03:00 CEST on 2022-03-27 (01:00 UTC).
    assert by_local["2022-03-27 01:00:00"].ts == datetime(2022, 3, 27, 0, tzinfo=UTC)  # type: ignore[union-attr]
    gap = by_local["2022-03-27 02:00:00"]
    assert isinstance(gap, DeadLetter)
    assert gap.reason == "nonexistent_local_time"
    assert gap.position == f"{HISTORICAL}:5098"  # grep -n '2022-03-27 02:00' gives line 5098
    assert '"t_1h":"2022-03-27 02:00:00"' in gap.raw
    assert by_local["2022-03-27 03:00:00"].ts == datetime(2022, 3, 27, 1, tzinfo=UTC)  # type: ignore[union-attr]


def test_october_dst_change_in_the_historical_file() -> None:
    by_local = _historical_by_local_time()
    # 2022-10-30: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:00 local occurs twice.
    # The file has it once: the first occurrence is CEST (UTC+2) → 00:00 UTC.
    expected = {
        "2022-10-30 00:00:00": datetime(2022, 10, 29, 22, tzinfo=UTC),
        "2022-10-30 01:00:00": datetime(2022, 10, 29, 23, tzinfo=UTC),
        "2022-10-30 02:00:00": datetime(2022, 10, 30, 0, tzinfo=UTC),
        "2022-10-30 03:00:00": datetime(2022, 10, 30, 2, tzinfo=UTC),
    }
    for local, utc in expected.items():
        reading = by_local[local]
        assert isinstance(reading, Reading)
        assert reading.ts == utc


def test_repeated_october_hour_is_cest_then_cet_per_sensor(tmp_path: Path) -> None:
    path = tmp_path / "synthetic_repeated_hour.csv"  # synthetic: the hour as a full export has it
    path.write_text(
        "iu_ac,t_1h,q,k,etat_trafic,etat_barre\n"
        "376,2022-10-30 02:00:00,100,3.5,1,1\n"
        "999,2022-10-30 02:00:00,50,1.0,1,1\n"
        "376,2022-10-30 02:00:00,90,3.1,1,1\n"
    )
    readings, _ = _split(list(iter_normalised([path])))
    assert [(r.sensor_id, r.ts.hour, r.flow) for r in readings] == [
        ("376", 0, 100.0),  # first 02:00 of sensor 376: CEST → 00:00 UTC
        ("999", 0, 50.0),  # first 02:00 of sensor 999 as well
        ("376", 1, 90.0),  # second 02:00 of sensor 376: CET → 01:00 UTC
    ]


def test_historical_codes_are_mapped() -> None:
    header, rows = raw_csv_rows(HISTORICAL)
    readings, _ = _split(list(iter_normalised([DATA / HISTORICAL])))
    kept = [row for row in rows if row[header.index("t_1h")] != "2022-03-27 02:00:00"]
    codes = {"0": "unknown", "1": "fluid", "2": "pre_saturated", "3": "saturated", "4": "blocked"}
    expected = Counter(codes[row[header.index("etat_trafic")]] for row in kept)
    assert Counter(r.traffic_state.value for r in readings) == expected
    barre = {"1": "open", "2": "closed", "3": "invalid"}
    assert Counter(r.arc_state.value for r in readings) == Counter(
        barre[row[header.index("etat_barre")]] for row in kept
    )


def test_extract_states_survive_lost_accents() -> None:
    # the bundled extract is valid UTF-8 whose accented letters a re-save replaced by U+FFFD
    header, rows = raw_csv_rows(EXTRACT)
    raw_states = Counter(row[header.index("Etat trafic")] for row in rows)
    assert raw_states["Pr\ufffd-satur\ufffd"] > 0
    readings, dead = _split(list(iter_normalised([DATA / EXTRACT])))
    assert dead == []
    got = Counter(r.traffic_state for r in readings)
    assert got[TrafficState.PRE_SATURATED] == raw_states["Pr\ufffd-satur\ufffd"]
    assert got[TrafficState.SATURATED] == raw_states["Satur\ufffd"]
    assert got[TrafficState.BLOCKED] == raw_states["Bloqu\ufffd"]
    assert got[TrafficState.FLUID] == raw_states["Fluide"]
    arcs = Counter(r.arc_state for r in readings)
    assert arcs[ArcState.CLOSED] == Counter(row[10] for row in rows)["Barr\ufffd"]


def test_api_json_null_flow_is_none_and_offsets_become_utc() -> None:
    raw = raw_api_records()
    readings, dead = _split(list(iter_normalised([DATA / API])))
    assert dead == []
    assert [r.sensor_id for r in readings] == [rec["iu_ac"] for rec in raw]
    assert [r.flow is None for r in readings] == [rec["q"] is None for rec in raw]
    assert sum(r.flow is None for r in readings) == 48  # PROVENANCE.md: q is null in 48
    # t_1h is 2026-06-21T00:00:00+02:00 in every record → 22:00 UTC the day before
    assert {r.ts for r in readings} == {datetime(2026, 6, 20, 22, tzinfo=UTC)}
    states = Counter(r.arc_state for r in readings)
    raw_states = Counter(rec["etat_barre"] for rec in raw)
    assert states[ArcState.OPEN] == raw_states["Ouvert"]
    assert states[ArcState.CLOSED] == raw_states["Barré"]
    assert states[ArcState.INVALID] == raw_states["Invalide"]


BAD_CSV = """iu_ac;t_1h;q;k;etat_trafic;etat_barre
376;2022-01-01T10:00:00+01:00;1,5e2;10,5;Fluide;Ouvert
4264.0;2022-01-01 10:00:00;;;;
376;;100;1;1;1
376;yesterday;100;1;1;1
376;2022-03-27 02:30:00;100;1;1;1
376;2022-01-01T10:30:00+01:00;100;1;1;1
;2022-01-01 10:00:00;100;1;1;1
A12;2022-01-01 10:00:00;100;1;1;1
376;2022-01-01 11:00:00;many;1;1;1
376;2022-01-01 12:00:00;-3;1;1;1
376;2022-01-01 13:00:00;25000;1;1;1
376;2022-01-01 14:00:00;100;-0.5;1;1
376;2022-01-01 15:00:00;100;100.5;1;1
"""


def test_every_dead_letter_reason_from_synthetic_bad_files(tmp_path: Path) -> None:
    csv_path = tmp_path / "synthetic_bad.csv"  # synthetic bad input, one reason per row
    csv_path.write_text(BAD_CSV)
    json_path = tmp_path / "synthetic_bad.json"  # synthetic: a non-object and a wrong type
    json_path.write_text(json.dumps([7, {"iu_ac": "1", "t_1h": "2022-01-01T00:00:00Z", "q": [1]}]))
    counts = ReadCounts()
    readings, dead = _split(list(iter_normalised([csv_path, json_path], counts)))
    assert [(r.sensor_id, r.flow, r.occupancy) for r in readings] == [
        ("376", 150.0, 10.5),
        ("4264", None, None),
    ]
    assert [d.reason for d in dead] == [
        "missing_timestamp",
        "bad_timestamp",
        "nonexistent_local_time",
        "not_on_the_hour",
        "missing_sensor_id",
        "bad_sensor_id",
        "bad_number",
        "negative_flow",
        "absurd_flow",
        "negative_occupancy",
        "absurd_occupancy",
        "wrong_type",
        "wrong_type",
    ]
    assert set(counts.dead_letters) == set(DEAD_LETTER_REASONS)
    assert dead[0].position == "synthetic_bad.csv:4"
    assert dead[-1].position == "synthetic_bad.json:#1"
    assert dead[-2].raw == "7"


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("Inconnu", TrafficState.UNKNOWN),
        ("fluide", TrafficState.FLUID),
        ("PRÉ-SATURÉ", TrafficState.PRE_SATURATED),
        ("Pre_sature", TrafficState.PRE_SATURATED),
        ("PrÃ©-saturÃ©", TrafficState.PRE_SATURATED),
        ("Saturé", TrafficState.SATURATED),
        ("Bloqué", TrafficState.BLOCKED),
        ("3", TrafficState.SATURATED),
        ("4.0", TrafficState.BLOCKED),
        (2, TrafficState.PRE_SATURATED),
        ("", TrafficState.UNKNOWN),
        ("nonsense", TrafficState.UNKNOWN),
    ],
)
def test_traffic_state_mapping(text: object, state: TrafficState) -> None:
    assert parse_traffic_state(text) is state


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("Ouvert", ArcState.OPEN),
        ("barré", ArcState.CLOSED),
        ("INVALIDE", ArcState.INVALID),
        ("0", ArcState.UNKNOWN),
        ("1", ArcState.OPEN),
        ("2", ArcState.CLOSED),
        ("3", ArcState.INVALID),
        (None, ArcState.UNKNOWN),
    ],
)
def test_arc_state_mapping(text: object, state: ArcState) -> None:
    assert parse_arc_state(text) is state


def test_value_parsers() -> None:
    assert parse_sensor_id(" 0191 ") == "191"
    assert parse_sensor_id(4264) == "4264"
    with pytest.raises(InvalidValueError) as info:
        parse_number("1 234")  # thousands separators are not accepted
    assert info.value.reason == "bad_number"
    with pytest.raises(InvalidValueError) as info:
        parse_sensor_id("4264.5")
    assert info.value.reason == "bad_sensor_id"
    assert parse_number("12,5") == 12.5
    assert parse_number(None) is None
    assert parse_number("  ") is None


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00"],
)
def test_a_timestamp_pushed_off_the_calendar_by_its_offset_is_bad(value: str) -> None:
    from producers.timestamps import LocalTimeResolver

    with pytest.raises(InvalidValueError) as caught:
        LocalTimeResolver().to_utc("191", value)
    assert caught.value.reason == "bad_timestamp"
