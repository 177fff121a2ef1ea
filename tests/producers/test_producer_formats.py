"""Sniffing and streaming of every bundled format, plain or gzip, and clear format errors."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from bundled_files import (
    API,
    DATA,
    EXPORTS,
    EXTRACT,
    HISTORICAL,
    REFERENTIAL,
    raw_api_records,
    raw_csv_rows,
)

from producers.formats import UnknownFormatError, is_referential_file, iter_raw_records
from producers.formats.headers import canonical_field, normalise_header
from producers.formats.json_source import JsonChunks, iter_json_array
from producers.formats.sniff import detect_encoding, detect_separator

CSV_FILES = (*EXPORTS, HISTORICAL, EXTRACT)


@pytest.mark.parametrize("name", CSV_FILES)
def test_csv_row_count_matches_an_independent_count(name: str) -> None:
    _, rows = raw_csv_rows(name)
    records = list(iter_raw_records(DATA / name))
    assert len(records) == len(rows)
    assert records[0].position == f"{name}:2"
    assert records[-1].position == f"{name}:{len(rows) + 1}"
    assert [r.payload for r in records] == rows


def test_api_json_records_are_streamed_with_their_index() -> None:
    expected = raw_api_records()
    records = list(iter_raw_records(DATA / API))
    assert [r.payload for r in records] == expected
    assert [r.position for r in records] == [f"{API}:#{i}" for i in range(len(expected))]


def test_plain_file_with_a_misleading_name_is_read_by_content(tmp_path: Path) -> None:
    plain = tmp_path / "looks_like.json"  # the real export, decompressed, under a wrong name
    plain.write_bytes(gzip.decompress((DATA / EXPORTS[0]).read_bytes()))
    from_plain = [r.fields for r in iter_raw_records(plain)]
    from_gzip = [r.fields for r in iter_raw_records(DATA / EXPORTS[0])]
    assert from_plain == from_gzip


def test_results_object_and_json_lines_give_the_same_records(tmp_path: Path) -> None:
    records = raw_api_records()  # real records, re-wrapped in the other two JSON layouts
    wrapped = tmp_path / "results.json"
    wrapped.write_text(json.dumps({"total_count": len(records), "results": records}))
    lines = tmp_path / "records.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert [r.payload for r in iter_raw_records(wrapped)] == records
    assert [r.payload for r in iter_raw_records(lines)] == records
    assert next(iter_raw_records(lines)).position == "records.jsonl:1"


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_incremental_json_decoder_matches_json_load(chunk: int) -> None:
    text = json.dumps([{"q": 12.5, "k": None}, 123456, "x]y", [1, [2]], True, -0.25e3])
    decoded = [value for _, value in iter_json_array(JsonChunks(io.StringIO(text), chunk))]
    assert decoded == json.loads(text)


def test_referential_is_refused_as_readings_with_a_clear_message() -> None:
    with pytest.raises(UnknownFormatError) as info:
        next(iter_raw_records(DATA / REFERENTIAL))
    message = str(info.value)
    assert REFERENTIAL in message
    assert "sensor referential" in message and "not traffic counts" in message
    assert is_referential_file(DATA / REFERENTIAL)
    assert not is_referential_file(DATA / HISTORICAL)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"name,city\nAlice,Paris\n", "no sensor id column"),
        (b"", "empty"),
        (b'{"unexpected": [1, 2', "malformed JSON"),
    ],
)
def test_unknown_format_names_the_file(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "synthetic_not_counts.csv"  # synthetic bad input
    path.write_bytes(content)
    with pytest.raises(UnknownFormatError) as info:
        list(iter_raw_records(path))
    assert str(path) in str(info.value)
    assert why in str(info.value)


def test_cp1252_file_is_decoded_with_its_accents(tmp_path: Path) -> None:
    # synthetic: a re-saved export really written in cp1252 (é = byte 0xE9)
    text = (
        "Identifiant arc,Libelle,Date et heure de comptage,Debit horaire,Taux d'occupation,"
        "Etat trafic,Etat arc\r\n"
        '4264,Av_Champs_Élysées,2022-06-17T16:00:00+02:00,"1120,0",49.9,Pré-saturé,Barré\r\n'
    )
    path = tmp_path / "synthetic_cp1252.csv"
    path.write_bytes(text.encode("cp1252"))
    (record,) = iter_raw_records(path)
    assert record.fields["name"] == "Av_Champs_Élysées"
    assert record.fields["traffic_state"] == "Pré-saturé"
    assert record.fields["arc_state"] == "Barré"


def test_detection_helpers() -> None:
    assert detect_encoding("Débit".encode("cp1252")) == "cp1252"
    assert detect_encoding("Débit".encode()) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbfiu_ac") == "utf-8-sig"
    assert detect_encoding("Débit".encode()[:2]) == "utf-8"  # a character cut by the sample
    assert detect_separator("iu_ac,libelle,t_1h") == ","
    assert detect_separator("a\tb\tc") == "\t"


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("Identifiant arc", "sensor_id"),
        ("iu_ac", "sensor_id"),
        ("\ufeffiu_ac", "sensor_id"),
        ("Date et heure de comptage", "ts"),
        ("t_1h", "ts"),
        ("Débit horaire", "flow"),
        ("Debit horaire", "flow"),
        ("DEBIT_HORAIRE", "flow"),
        ("Taux d'occupation", "occupancy"),
        ("Taux d’occupation", "occupancy"),
        ("k", "occupancy"),
        ("Etat trafic", "traffic_state"),
        ("État arc", "arc_state"),
        ("etat_barre", "arc_state"),
        ("geo_point_2d", "geo_point"),
        ("Unnamed: 14", "unnamed_14"),
    ],
)
def test_header_aliases(header: str, canonical: str) -> None:
    assert canonical_field(header) == canonical


def test_normalise_header_unifies_spaces_underscores_apostrophes() -> None:
    assert normalise_header("  Taux  d'Occupation ") == "taux_d_occupation"
    assert normalise_header("Date_debut dispo-data") == "date_debut_dispo_data"
