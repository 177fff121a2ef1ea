"""The Paris formats as built-in source definitions, detected from a file's content.

Each format is a `SourceDefinition` — the model a ``--source`` TOML file is checked against:
name, calendar, layout, the sensor id / timestamp / value columns, cadence — plus what that
contract has no field for, kept beside it in `BuiltinSource`:

- **header aliases**: a definition names exact columns; a built-in matches any published
  spelling of them (``Débit horaire``, ``Debit horaire``, ``q``…: the alias table of
  `producers.formats.headers`), so one built-in covers the portal export and its re-saves;
- **occupancy and state columns**: a reading of a defined source carries a flow only; a
  built-in also reads the occupancy (%), the traffic state and the arc state, through their
  code tables (`producers.values`);
- **bare numeric ids** (``4264``): a defined source's ids are ``{name}:{slug}``; Paris ids
  predate that namespace and stay digits (``4264.0`` read as ``4264``);
- **timestamps**: ISO 8601 with an offset (the export, the API), naive Paris time (the
  historical file), or ``dd/mm/yyyy HH:MM[:SS]`` after a spreadsheet re-save — one parser, where
  a definition has one format;
- **JSON** (the Explore API's records): a definition reads CSV.

`open_builtin` detects which built-in a file is in (content, never the name: compression,
encoding, separator, header) and streams its raw records; `producers.normalise` turns them
into readings with the built-in's zone and calendar. Detection is what it always was, so a
Paris file needs no ``--source``.

>>> [b.name for b in BUILTINS]
['paris-export', 'paris-historique', 'paris-api']
>>> PARIS_HISTORIQUE.definition.timestamp, PARIS_HISTORIQUE.definition.calendar_text
('t_1h', 'Europe/Paris|FR|')
>>> detect_builtin(["iu_ac", "libelle", "t_1h", "q", "k"]).name
'paris-historique'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from producers.formats.csv_source import iter_csv_rows, read_csv_header
from producers.formats.headers import (
    ARC_STATE,
    FLOW,
    OCCUPANCY,
    SENSOR_ID,
    TRAFFIC_STATE,
    TS,
    normalise_header,
)
from producers.formats.json_source import iter_json
from producers.formats.raw import RawRecord
from producers.formats.sniff import Layout, open_text
from producers.sources.definition import SourceDefinition

PARIS_ZONE = "Europe/Paris"
_HISTORIQUE_MARKERS = frozenset({"iu_ac", "t_1h"})


@dataclass(frozen=True, slots=True)
class BuiltinSource:
    """A built-in format: its `SourceDefinition` and what a definition cannot say."""

    definition: SourceDefinition
    media: Literal["csv", "json"]
    occupancy: str
    traffic_state: str
    arc_state: str
    described: str

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def zone(self) -> ZoneInfo:
        return self.definition.zone

    @property
    def columns(self) -> dict[str, str]:
        """Canonical field → the column (JSON key) of its portal spelling."""
        d = self.definition
        return {
            SENSOR_ID: (d.sensor or [""])[0],
            TS: d.timestamp,
            FLOW: d.value or "",
            OCCUPANCY: self.occupancy,
            TRAFFIC_STATE: self.traffic_state,
            ARC_STATE: self.arc_state,
        }


def _paris(name: str, sensor: str, timestamp: str, value: str) -> SourceDefinition:
    """A Paris definition. Built without validation (constants: no `holidays` import at the
    first Paris file); the tests check each one with `SourceDefinition.model_validate`."""
    fields: dict[str, Any] = {
        "name": name, "timezone": PARIS_ZONE, "holidays": "FR", "layout": "long",
        "sensor": [sensor], "timestamp": timestamp, "value": value, "interval_minutes": 60,
    }  # fmt: skip
    return SourceDefinition.model_construct(**fields)


PARIS_EXPORT = BuiltinSource(
    _paris("paris-export", "Identifiant arc", "Date et heure de comptage", "Débit horaire"),
    media="csv",
    occupancy="Taux d'occupation",
    traffic_state="Etat trafic",
    arc_state="Etat arc",
    described="the portal's CSV export or a re-save of it",
)
PARIS_HISTORIQUE = BuiltinSource(
    _paris("paris-historique", "iu_ac", "t_1h", "q"),
    media="csv",
    occupancy="k",
    traffic_state="etat_trafic",
    arc_state="etat_barre",
    described="the historical per-year CSV",
)
PARIS_API = BuiltinSource(
    _paris("paris-api", "iu_ac", "t_1h", "q"),
    media="json",
    occupancy="k",
    traffic_state="etat_trafic",
    arc_state="etat_barre",
    described="Explore API v2.1 JSON records",
)
BUILTINS = (PARIS_EXPORT, PARIS_HISTORIQUE, PARIS_API)


def detect_builtin(headers: Sequence[str] | None) -> BuiltinSource:
    """The built-in of a counts file (its header already checked by `read_csv_header`):
    ``None`` (JSON records) is the API, the historical names (``iu_ac``, ``t_1h``) the
    historical file, anything else the portal export in one of its spellings."""
    if headers is None:
        return PARIS_API
    if _HISTORIQUE_MARKERS & {normalise_header(h) for h in headers}:
        return PARIS_HISTORIQUE
    return PARIS_EXPORT


@contextmanager
def open_builtin(path: Path) -> Iterator[tuple[BuiltinSource, Iterator[RawRecord]]]:
    """Open ``path`` (plain or gzip, any encoding), detect its built-in format and yield it
    with the file's raw records; `UnknownFormatError` for a file in none of them."""
    source = path.name
    with open_text(path) as (text, layout):
        if layout is Layout.CSV:
            separator, headers = read_csv_header(text, str(path))
            yield detect_builtin(headers), iter_csv_rows(text, separator, headers, source)
        else:
            lines = layout is Layout.JSON_LINES
            yield PARIS_API, iter_json(text, str(path), source, lines=lines)
