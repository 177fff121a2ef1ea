"""The real bundled files and independent ways to read them, shared by the producer tests.

The expected values in these tests come from the raw files read with the csv/json modules
directly (a method independent of the code under test), or are reasoned out by hand.
"""

from __future__ import annotations

import csv
import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "paris"

EXPORTS = (
    "export_2022_champs-elysees_4264.csv.gz",
    "export_2022_convention_5671.csv.gz",
    "export_2022_sts-peres_191.csv.gz",
)
HISTORICAL = "historique_2022_st-antoine_376.csv.gz"
EXTRACT = "extract_2023_69arcs.csv.gz"
API = "api_v2.1_records_2026-06-21.json.gz"
REFERENTIAL = "referentiel-comptages-routiers.csv.gz"
SEPARATORS = {EXTRACT: ",", HISTORICAL: ","} | dict.fromkeys((*EXPORTS, REFERENTIAL), ";")


@cache
def raw_csv_rows(name: str) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of a bundled CSV, read with the csv module (known separator).

    Cached: callers must not modify the lists."""
    with gzip.open(DATA / name, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=SEPARATORS[name]))
    return rows[0], rows[1:]


@cache
def raw_api_records() -> list[dict[str, Any]]:
    """The bundled API records, read with json.load."""
    with gzip.open(DATA / API, "rt", encoding="utf-8") as handle:
        records: list[dict[str, Any]] = json.load(handle)
    return records
