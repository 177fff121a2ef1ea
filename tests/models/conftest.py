"""Real readings for the core's tests: the bundled Paris files, ordered and de-duplicated."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from flowcast.records import Reading
from producers.files import InputCounts, ordered_readings

DATA = Path(__file__).resolve().parents[2] / "data" / "paris"


@cache
def _load(pattern: str) -> tuple[Reading, ...]:
    return tuple(ordered_readings(sorted(DATA.glob(pattern)), InputCounts()))


@pytest.fixture(scope="session")
def st_antoine() -> tuple[Reading, ...]:
    """A year of one arc (historical format), in event-time order."""
    return _load("historique_2022_st-antoine_376.csv.gz")


@pytest.fixture(scope="session")
def two_exports() -> tuple[Reading, ...]:
    """Two arcs of the portal export, interleaved in event-time order."""
    return _load("export_2022_[cs][ot]*.csv.gz")
