"""Pure parsers for field values: sensor ids, numbers, traffic and arc states.

Each parser returns the value or raises `InvalidValueError` carrying a stable dead-letter reason.

>>> parse_sensor_id("4264.0"), parse_number("12,5"), parse_number("")
('4264', 12.5, None)
>>> parse_traffic_state("Pré-saturé"), parse_arc_state("2")
(<TrafficState.PRE_SATURATED: 'pre_saturated'>, <ArcState.CLOSED: 'closed'>)
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, TypeVar

from flowcast.records import ArcState, TrafficState
from producers.formats.headers import normalise_header

_DIGITS = re.compile(r"\d+")
_LOST = "\ufffd"
_State = TypeVar("_State", TrafficState, ArcState)
_INTEGRAL_FLOAT = re.compile(r"(\d+)\.0*")


class InvalidValueError(ValueError):
    """A value that makes the record a dead letter; ``reason`` is a stable snake_case name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


TRAFFIC_STATES: dict[str, TrafficState] = {
    "0": TrafficState.UNKNOWN,
    "1": TrafficState.FLUID,
    "2": TrafficState.PRE_SATURATED,
    "3": TrafficState.SATURATED,
    "4": TrafficState.BLOCKED,
    "inconnu": TrafficState.UNKNOWN,
    "fluide": TrafficState.FLUID,
    "pre_sature": TrafficState.PRE_SATURATED,
    "presature": TrafficState.PRE_SATURATED,
    "sature": TrafficState.SATURATED,
    "bloque": TrafficState.BLOCKED,
    **{state.value: state for state in TrafficState},
}
"""Normalised text or numeric code → state (``etat_trafic``)."""

ARC_STATES: dict[str, ArcState] = {
    "0": ArcState.UNKNOWN,
    "1": ArcState.OPEN,
    "2": ArcState.CLOSED,
    "3": ArcState.INVALID,
    "inconnu": ArcState.UNKNOWN,
    "ouvert": ArcState.OPEN,
    "barre": ArcState.CLOSED,
    "ferme": ArcState.CLOSED,
    "invalide": ArcState.INVALID,
    **{state.value: state for state in ArcState},
}
"""Normalised text or code → arc state (``etat_barre``). Codes as we read the published
documentation; in the bundled historical file code 2 ("closed") comes with normal traffic all
year, so the arc state is kept as data and never used to drop a reading."""


def is_blank(value: Any) -> bool:
    """None or a string of only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_sensor_id(value: Any) -> str:
    """Digits only; ``4264``, ``"4264"`` and ``"4264.0"`` all give ``"4264"``."""
    if is_blank(value):
        raise InvalidValueError("missing_sensor_id", "no sensor id")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValueError("wrong_type", f"sensor id of type {type(value).__name__}")
    text = str(value).strip()
    if _DIGITS.fullmatch(text):
        return str(int(text))
    match = _INTEGRAL_FLOAT.fullmatch(text)
    if match:
        return str(int(match.group(1)))
    raise InvalidValueError("bad_sensor_id", f"sensor id {text!r} is not a number of digits")


def parse_number(value: Any) -> float | None:
    """A finite float, ``None`` for blank/null; a French decimal comma is accepted."""
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValueError("wrong_type", f"number of type {type(value).__name__}")
    text = str(value).strip().replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        raise InvalidValueError("bad_number", f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise InvalidValueError("bad_number", f"{value!r} is not finite")
    return number


def _repair_mojibake(text: str) -> str:
    """``"PrÃ©-saturÃ©"`` (UTF-8 bytes read as cp1252) → ``"Pré-saturé"``; else unchanged."""
    if "Ã" not in text:
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return text


def _state_key(value: Any) -> str | None:
    if isinstance(value, str):
        return _text_state_key(value)  # a file holds a handful of distinct state texts
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValueError("wrong_type", f"state of type {type(value).__name__}")
    return _normalised_state_key(str(value))


@lru_cache(maxsize=1024)
def _text_state_key(value: str) -> str | None:
    return None if is_blank(value) else _normalised_state_key(value)


def _normalised_state_key(value: str) -> str:
    text = normalise_header(_repair_mojibake(value))
    match = _INTEGRAL_FLOAT.fullmatch(text.replace("_", "."))
    return match.group(1) if match else text


@lru_cache(maxsize=256)
def _lost_letters_pattern(key: str) -> re.Pattern[str]:
    return re.compile(".".join(re.escape(part) for part in key.split(_LOST)))


def _lookup(key: str, table: dict[str, _State]) -> _State | None:
    """Exact key, or — for text whose accents a re-save replaced by U+FFFD (``"Barr�"``) —
    the one key that matches with each U+FFFD standing for one letter."""
    if key in table:
        return table[key]
    if _LOST not in key:
        return None
    pattern = _lost_letters_pattern(key)
    matches = {table[k] for k in table if pattern.fullmatch(k)}
    return matches.pop() if len(matches) == 1 else None


def parse_traffic_state(value: Any) -> TrafficState:
    """Text in any case/accents or code 0–4; blank or unrecognised → unknown."""
    key = _state_key(value)
    return (_lookup(key, TRAFFIC_STATES) if key else None) or TrafficState.UNKNOWN


def parse_arc_state(value: Any) -> ArcState:
    """Text in any case/accents or code 0–3; blank or unrecognised → unknown."""
    key = _state_key(value)
    return (_lookup(key, ARC_STATES) if key else None) or ArcState.UNKNOWN
