"""Header normalisation and the alias table from every published spelling to canonical fields.

>>> normalise_header("Taux d'occupation")
'taux_d_occupation'
>>> canonical_field("Débit horaire"), canonical_field("Debit horaire"), canonical_field("q")
('flow', 'flow', 'flow')
>>> canonical_field("Unnamed: 14")
'unnamed_14'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

SENSOR_ID = "sensor_id"
NAME = "name"
TS = "ts"
FLOW = "flow"
OCCUPANCY = "occupancy"
TRAFFIC_STATE = "traffic_state"
ARC_STATE = "arc_state"
GEO_POINT = "geo_point"

ALIASES: dict[str, str] = {
    "iu_ac": SENSOR_ID,
    "identifiant_arc": SENSOR_ID,
    "libelle": NAME,
    "t_1h": TS,
    "date_et_heure_de_comptage": TS,
    "q": FLOW,
    "debit_horaire": FLOW,
    "k": OCCUPANCY,
    "taux_d_occupation": OCCUPANCY,
    "taux_occupation": OCCUPANCY,
    "etat_trafic": TRAFFIC_STATE,
    "etat_barre": ARC_STATE,
    "etat_arc": ARC_STATE,
    "geo_point_2d": GEO_POINT,
}
"""Normalised header → canonical field. Unlisted headers keep their normalised name."""

REFERENTIAL_MARKERS = frozenset({"id_arc_tra", "objectid", "shape_len"})
"""Headers of the sensor referential (geometry of the arcs), which holds no counts."""

_SEPARATORS = re.compile(r"[\s_'’`\-.:]+")


def strip_accents(text: str) -> str:
    """``"Pré-saturé"`` → ``"Pre-sature"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_header(header: str) -> str:
    """Lowercase, no accents, runs of spaces/underscores/apostrophes/dashes → one ``_``."""
    plain = strip_accents(header.strip().lstrip("\ufeff")).lower()
    return _SEPARATORS.sub("_", plain).strip("_")


@lru_cache(maxsize=4096)
def canonical_field(header: str) -> str:
    """The canonical field name of a header in any published spelling."""
    key = normalise_header(header)
    return ALIASES.get(key, key)


def canonical_fields(headers: Iterable[str]) -> list[str]:
    """`canonical_field` of each header; a later duplicate keeps its normalised name."""
    seen: set[str] = set()
    result: list[str] = []
    for header in headers:
        name = canonical_field(header)
        if name in seen:
            name = normalise_header(header)
        seen.add(name)
        result.append(name)
    return result


def is_referential(headers: Iterable[str]) -> bool:
    """True for the sensor referential (``OBJECTID;id_arc;id_arc_tra;…``)."""
    keys = {normalise_header(h) for h in headers}
    has_ts = any(ALIASES.get(key) == TS for key in keys)
    return not has_ts and ("id_arc_tra" in keys or len(keys & REFERENTIAL_MARKERS) >= 2)
