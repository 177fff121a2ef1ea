"""The two records every part of Flowcast exchanges: `Reading` in, `Forecast` out.

Both are plain frozen dataclasses with a JSON form (``to_json`` / ``from_json``) used on
Kafka topics and in Redis. Timestamps are timezone-aware UTC datetimes on the hour.

>>> r = Reading("4264", datetime(2022, 6, 17, 14, tzinfo=UTC), 1120.0, 49.9,
...             TrafficState.SATURATED, ArcState.OPEN, "example")
>>> Reading.from_json(r.to_json()) == r
True
"""

from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

HOUR_SECONDS = 3600


class TrafficState(enum.StrEnum):
    """Traffic state as published (`etat_trafic`), derived by the city from occupancy."""

    UNKNOWN = "unknown"
    FLUID = "fluid"
    PRE_SATURATED = "pre_saturated"
    SATURATED = "saturated"
    BLOCKED = "blocked"


class ArcState(enum.StrEnum):
    """State of the road arc (`etat_barre` / "Etat arc")."""

    OPEN = "open"
    CLOSED = "closed"
    INVALID = "invalid"
    UNKNOWN = "unknown"


SENSOR_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
"""The one definition of a well-formed sensor id (the gateway's OpenAPI shows it too)."""
_SENSOR_ID = re.compile(SENSOR_ID_PATTERN)


def is_sensor_id(text: str) -> bool:
    """Whether ``text`` is a well-formed sensor id: 1-64 letters, digits or ``_.:-``.

    >>> is_sensor_id("4264"), is_sensor_id("4264\\n"), is_sensor_id("x" * 65)
    (True, False, False)
    """
    return _SENSOR_ID.fullmatch(text) is not None


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def in_service_range(ts: datetime) -> bool:
    """Whether ``ts`` is an instant Flowcast handles: [1970, 2200) UTC (hours can be added
    to it and it has an epoch hour index).

    >>> in_service_range(datetime(2022, 6, 17, tzinfo=UTC)), in_service_range(LATEST)
    (True, False)
    """
    return EARLIEST <= ts < LATEST


def to_utc(value: datetime) -> datetime:
    """An aware ``value`` in UTC; ``ValueError`` if its offset pushes it off the calendar
    (e.g. ``9999-12-31T23:00:00-05:00``), where ``astimezone`` raises ``OverflowError``."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp {value.isoformat()} is outside the calendar in UTC") from None


def parse_utc(text: str) -> datetime:
    """Parse an ISO-8601 timestamp with offset (or ``Z``) into an aware UTC datetime."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text!r}")
    return to_utc(value)


def format_utc(value: datetime) -> str:
    """``2022-06-17T14:00:00Z``: the wire form of every timestamp (to the second)."""
    if value.microsecond == 0:
        return _format_whole_second(value)  # event hours repeat across sensors: cached
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=65_536)
def _format_whole_second(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_index(value: datetime) -> int:
    """Hours since the Unix epoch: the integer clock the online core runs on."""
    return int(value.timestamp()) // HOUR_SECONDS


def hour_start(index: int) -> datetime:
    """Inverse of :func:`hour_index`."""
    return datetime.fromtimestamp(index * HOUR_SECONDS, tz=UTC)


@dataclass(frozen=True, slots=True)
class Reading:
    """One normalised hourly count of one sensor (arc ``iu_ac``)."""

    sensor_id: str
    ts: datetime
    flow: float | None
    occupancy: float | None
    traffic_state: TrafficState
    arc_state: ArcState
    source: str
    calendar: str | None = None  # `CALENDAR_FORMAT`; None = the Paris calendar

    def to_dict(self) -> dict[str, Any]:
        out = {
            "sensor_id": self.sensor_id,
            "ts": format_utc(self.ts),
            "flow": self.flow,
            "occupancy": self.occupancy,
            "traffic_state": self.traffic_state.value,
            "arc_state": self.arc_state.value,
            "source": self.source,
        }
        if self.calendar is not None:
            out["calendar"] = self.calendar
        return out

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reading:
        """Build from the wire form; ``KeyError``, ``ValueError`` or ``TypeError`` if malformed."""
        return cls(
            sensor_id=str(data["sensor_id"]),
            ts=parse_utc(data["ts"]),
            flow=_optional_float(data.get("flow")),
            occupancy=_optional_float(data.get("occupancy")),
            traffic_state=TrafficState(data.get("traffic_state", "unknown")),
            arc_state=ArcState(data.get("arc_state", "unknown")),
            source=str(data.get("source", "")),
            calendar=_optional_calendar(data.get("calendar")),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Reading:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise TypeError("a reading must be a JSON object")
        return cls.from_dict(data)


@dataclass(frozen=True, slots=True)
class Forecast:
    """The forecast flow of one sensor for hour ``ts`` made from data up to ``observed_ts``."""

    sensor_id: str
    ts: datetime
    observed_ts: datetime
    flow: float
    flow_low: float
    flow_high: float
    model: str
    model_version: str
    produced_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "sensor_id": self.sensor_id,
            "ts": format_utc(self.ts),
            "observed_ts": format_utc(self.observed_ts),
            "flow": self.flow,
            "flow_low": self.flow_low,
            "flow_high": self.flow_high,
            "model": self.model,
            "model_version": self.model_version,
            "produced_at": format_utc(self.produced_at),
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Forecast:
        return cls(
            sensor_id=str(data["sensor_id"]),
            ts=parse_utc(data["ts"]),
            observed_ts=parse_utc(data["observed_ts"]),
            flow=float(data["flow"]),
            flow_low=float(data["flow_low"]),
            flow_high=float(data["flow_high"]),
            model=str(data["model"]),
            model_version=str(data["model_version"]),
            produced_at=parse_utc(data["produced_at"]),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Forecast:
        return cls.from_dict(orjson.loads(raw))


PARIS_CALENDAR = "Europe/Paris|FR|"
CALENDAR_FORMAT = "<IANA timezone>|<holiday country code or empty>|<subdivision or empty>"
_CALENDAR = re.compile(r"[A-Za-z0-9_+/-]{1,64}\|[A-Z]{0,3}\|[A-Za-z0-9-]{0,10}")


def is_calendar(text: str) -> bool:
    """Whether ``text`` has the shape of a reading's calendar (`CALENDAR_FORMAT`).

    Each reading carries its own local calendar so that a worker that never saw the source
    definition still knows the local hour, day type and holidays of every reading.

    >>> is_calendar(PARIS_CALENDAR), is_calendar("Australia/Melbourne|AU|VIC")
    (True, True)
    >>> is_calendar("Europe/Paris"), is_calendar("UTC||")
    (False, True)
    """
    return _CALENDAR.fullmatch(text) is not None


def _optional_calendar(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_calendar(value):
        raise ValueError(f"calendar must look like {CALENDAR_FORMAT!r}, got {value!r:.80}")
    return None if value == PARIS_CALENDAR else value


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number or null, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that could not become a `Reading`, with why and where it came from."""

    reason: str
    source: str
    position: str
    raw: str
    detail: str = ""

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))
