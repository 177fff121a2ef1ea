"""The sensor catalog from the referential and from readings files."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundled_files import API, DATA, EXPORTS, EXTRACT, REFERENTIAL, raw_api_records, raw_csv_rows

from producers.formats import UnknownFormatError
from producers.sensors import SensorInfo, load_sensor_catalog, parse_geo_point


def test_catalog_from_the_referential() -> None:
    header, rows = raw_csv_rows(REFERENTIAL)
    ids = {row[header.index("id_arc_tra")] for row in rows} - {""}  # some arcs have no id
    catalog = load_sensor_catalog([DATA / REFERENTIAL])
    assert set(catalog) == ids
    row = rows[0]  # 1009;1106.0;4301;…;48.8804688997, 2.28668204502
    lat, lon = (float(part) for part in row[header.index("geo_point_2d")].split(","))
    assert catalog[row[header.index("id_arc_tra")]] == SensorInfo(
        row[header.index("id_arc_tra")], None, lat, lon
    )


def test_names_and_points_from_readings_files() -> None:
    catalog = load_sensor_catalog([DATA / name for name in (*EXPORTS, EXTRACT, API)])
    assert catalog["4264"] == SensorInfo(
        "4264", "AV_Champs_Elysees", 48.871535879911605, 2.301722792456062
    )
    api = raw_api_records()[0]
    assert catalog[api["iu_ac"]] == SensorInfo(
        api["iu_ac"], api["libelle"], api["geo_point_2d"]["lat"], api["geo_point_2d"]["lon"]
    )
    _header, rows = raw_csv_rows(EXTRACT)
    assert {row[0] for row in rows} <= set(catalog)
    # the re-save split "lat,lon" across geo_point_2d and "Unnamed: 14"
    row = rows[0]
    assert catalog[row[0]] == SensorInfo(row[0], row[1], float(row[13]), float(row[14]))


def test_referential_fills_points_and_readings_fill_names() -> None:
    catalog = load_sensor_catalog([DATA / REFERENTIAL, DATA / EXPORTS[0]])
    assert catalog["4264"].name == "AV_Champs_Elysees"
    assert catalog["4264"].lat is not None


def test_unknown_files_are_skipped_unless_strict(tmp_path: Path) -> None:
    junk = tmp_path / "README.txt"  # synthetic: a file that is not data
    junk.write_text("just some notes\n")
    catalog = load_sensor_catalog([junk, DATA / EXPORTS[2]])
    assert set(catalog) == {"191"}
    with pytest.raises(UnknownFormatError, match=r"README\.txt"):
        load_sensor_catalog([junk], strict=True)


@pytest.mark.parametrize(
    ("value", "spill", "expected"),
    [
        ("48.8, 2.3", None, (48.8, 2.3)),
        ("48.8,2.3", None, (48.8, 2.3)),
        ({"lat": 48.8, "lon": 2.3}, None, (48.8, 2.3)),
        ("48.8", "2.3", (48.8, 2.3)),
        ("48.8", None, None),
        ("", None, None),
        ("200, 2.3", None, None),
    ],
)
def test_parse_geo_point(value: object, spill: object, expected: object) -> None:
    assert parse_geo_point(value, spill) == expected
