"""Real API pages for the live-feed tests: recorded records, and real counts reshaped as records.

- `api_sample`: the bundled Explore API v2.1 answer (``api_v2.1_records_2026-06-21.json.gz``),
  one real hour (2026-06-21 00:00 Paris) of 100 arcs, served exactly as recorded.
- `reshaped_hours`: real values in a reshaped format. The bundled 69-arc extract
  (``extract_2023_69arcs.csv.gz``, a re-saved portal export) has no API answer, so each of its
  rows from 2023-10-03 01:00 to 2023-10-04 08:00 Paris time (32 consecutive hours, 2 to 56
  arcs an hour, 1,260 rows) becomes the record the API gives for it: the same field values
  (``Identifiant arc`` → ``iu_ac``, ``Date et heure de comptage`` → ``t_1h``, ``Debit horaire``
  → ``q``… as numbers or text as the API types them, the re-save's lost accents included), only
  the layout changes. The spreadsheet serials of ``Date debut/fin dispo data`` are left out.

Nothing is invented: every value served comes from a bundled file.
"""

from __future__ import annotations

import csv
import gzip
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from bundled_files import DATA
from live_api import Served, served

API_SAMPLE = DATA / "api_v2.1_records_2026-06-21.json.gz"
EXTRACT = DATA / "extract_2023_69arcs.csv.gz"
FIRST_HOUR = datetime.fromisoformat("2023-10-03T01:00:00+02:00")
LAST_HOUR = datetime.fromisoformat("2023-10-04T08:00:00+02:00")
RESHAPED_HOURS = 32
RESHAPED_RECORDS = 1260


@cache
def api_sample() -> tuple[dict[str, Any], ...]:
    """The 100 records of the recorded API answer, as served by the portal."""
    records = orjson.loads(gzip.decompress(API_SAMPLE.read_bytes()))
    assert len(records) == 100
    return tuple(records)


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def _as_api_record(row: dict[str, str]) -> dict[str, Any]:
    return {
        "iu_ac": row["Identifiant arc"],
        "libelle": row["Libelle"],
        "t_1h": row["Date et heure de comptage"],
        "q": _number(row["Debit horaire"]),
        "k": _number(row["Taux d'occupation"]),
        "etat_trafic": row["Etat trafic"],
        "iu_nd_amont": row["Identifiant noeud amont"],
        "libelle_nd_amont": row["Libelle noeud amont"],
        "iu_nd_aval": row["Identifiant noeud aval"],
        "libelle_nd_aval": row["Libelle noeud aval"],
        "etat_barre": row["Etat arc"],
        "geo_point_2d": _point(row),
    }


def _point(row: dict[str, str]) -> dict[str, float] | None:
    """The re-save split ``"lat,lon"`` over two columns; some rows have no position."""
    lat, lon = _number(row["geo_point_2d"]), _number(row["Unnamed: 14"])
    return {"lon": lon, "lat": lat} if lat is not None and lon is not None else None


@cache
def reshaped_hours() -> tuple[dict[str, Any], ...]:
    """The extract's rows of the 32 hours, as API records, in file order."""
    with gzip.open(EXTRACT, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [
        _as_api_record(row)
        for row in rows
        if FIRST_HOUR <= datetime.fromisoformat(row["Date et heure de comptage"]) <= LAST_HOUR
    ]
    hours = {record["t_1h"] for record in chosen}
    assert (len(hours), len(chosen)) == (RESHAPED_HOURS, RESHAPED_RECORDS)
    return tuple(chosen)


def as_served(records: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> list[Served]:
    return [served(record) for record in records]


def by_hour(records: tuple[dict[str, Any], ...]) -> dict[datetime, list[dict[str, Any]]]:
    """Records grouped by their hour, oldest first."""
    groups: dict[datetime, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(datetime.fromisoformat(record["t_1h"]), []).append(record)
    return dict(sorted(groups.items()))
