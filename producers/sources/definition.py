"""Source definitions: how to read a city's counts file, declared in TOML (DESIGN.md contract).

A definition names the columns that hold the sensor id, the timestamp and the value, the
layout (one row per reading, or one row per sensor and day with one column per interval), the
cadence and how intervals make an hourly flow, and the local calendar (timezone, holidays).
`load_definition` reads and validates a file; every mistake is reported with the field it is in.

>>> d = SourceDefinition.model_validate({"name": "i94", "timezone": "America/Chicago",
...     "holidays": "US", "subdivision": "MN", "layout": "long", "sensor_id": "westbound",
...     "timestamp": "date_time", "value": "traffic_volume", "interval_minutes": 60})
>>> d.calendar, d.intervals_per_hour
('America/Chicago|US|MN', 1)
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flowcast.records import PARIS_CALENDAR, is_calendar
from producers.sources.sensor_ids import slugify

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_RANGE = re.compile(r"\s*(\D*?)(\d+)\s*\.\.\s*(\D*?)(\d+)\s*")
MINUTES_PER_DAY = 1440


class DefinitionError(ValueError):
    """A source definition that cannot be used; the message names the file and the field."""


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {value!r} (e.g. 'Australia/Melbourne')") from None
    return value


def _supported_countries() -> dict[str, list[str]]:
    import holidays

    return holidays.list_supported_countries()


def expand_range(spec: str) -> list[str]:
    """``"V00..V95"`` → ``["V00", …, "V95"]`` (same prefix, same zero padding).

    >>> expand_range("V00..V03"), expand_range("h1..h3")
    (['V00', 'V01', 'V02', 'V03'], ['h1', 'h2', 'h3'])
    """
    match = _RANGE.fullmatch(spec)
    if not match:
        raise ValueError(f"{spec!r} is not a range like 'V00..V95' (first..last column)")
    prefix, first, other_prefix, last = match.groups()
    if prefix != other_prefix:
        raise ValueError(
            f"{spec!r}: both ends need the same prefix ({prefix!r} ≠ {other_prefix!r})"
        )
    start, end = int(first), int(last)
    if end < start:
        raise ValueError(f"{spec!r}: the last column comes before the first")
    width = len(first) if first.startswith("0") else 0
    return [f"{prefix}{n:0{width}d}" for n in range(start, end + 1)]


class SourceDefinition(BaseModel):
    """One source definition (see DESIGN.md, ``--source FILE.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str
    timezone: str
    holidays: str | None = None
    subdivision: str | None = None
    layout: Literal["long", "wide"]
    sensor: list[str] | None = None
    sensor_id: str | None = None
    timestamp: str = Field(min_length=1)
    timestamp_format: str | None = None
    value: str | None = None
    values: str | None = None
    interval_minutes: int
    aggregate: Literal["sum", "mean"] = "sum"
    min_complete: float = Field(default=1.0, gt=0.0, le=1.0)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                "1-32 letters, digits or '_.-', starting with a letter or digit "
                f"(it prefixes every sensor id), got {value!r}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if code not in _supported_countries():
            raise ValueError(f"{value!r} is not a country the holidays package knows (ISO code)")
        return code

    @field_validator("sensor", mode="before")
    @classmethod
    def _sensor_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("sensor")
    @classmethod
    def _sensor(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value or any(not column.strip() for column in value):
            raise ValueError("name at least one non-empty column")
        if len(set(value)) != len(value):
            raise ValueError(f"a column is named twice in {value!r}")
        return value

    @field_validator("sensor_id")
    @classmethod
    def _sensor_id(cls, value: str | None) -> str | None:
        if value is not None and not slugify(value):
            raise ValueError(f"{value!r} has no letter or digit to make an id of")
        return value

    @field_validator("timestamp_format")
    @classmethod
    def _timestamp_format(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(f"{value!r} has no strptime directive (e.g. '%d/%m/%Y %H:%M')")
        return value

    @field_validator("values")
    @classmethod
    def _values(cls, value: str | None) -> str | None:
        if value is not None:
            expand_range(value)
        return value

    @field_validator("interval_minutes")
    @classmethod
    def _interval(cls, value: int) -> int:
        if value < 1 or 60 % value:
            raise ValueError(f"must divide an hour (1, 5, 10, 15, 20, 30 or 60), got {value}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> SourceDefinition:
        if (self.sensor is None) == (self.sensor_id is None):
            raise ValueError(
                "sensor / sensor_id: give exactly one — `sensor` (the id column(s)) or "
                "`sensor_id` (one constant id for a single-series file)"
            )
        self._check_layout()
        if self.subdivision is not None:
            self._check_subdivision()
        if not is_calendar(self.calendar_text):
            raise ValueError(
                f"timezone / holidays / subdivision: {self.calendar_text!r} cannot be carried "
                "by a reading (timezone ≤ 64 characters, subdivision ≤ 10)"
            )
        return self

    def _check_layout(self) -> None:
        if self.layout == "long":
            if self.value is None or self.values is not None:
                raise ValueError(
                    "value / values: a long layout names its value column with `value` "
                    "(and no `values`)"
                )
            return
        if self.values is None or self.value is not None:
            raise ValueError(
                "value / values: a wide layout names its interval columns with "
                '`values = "V00..V95"` (and no `value`)'
            )
        span = len(expand_range(self.values)) * self.interval_minutes
        if span > MINUTES_PER_DAY:
            raise ValueError(
                f"values: {len(expand_range(self.values))} columns of {self.interval_minutes} "
                "minutes span more than a day"
            )

    def _check_subdivision(self) -> None:
        if self.holidays is None:
            raise ValueError("subdivision: needs `holidays` (the country it belongs to)")
        known = _supported_countries()[self.holidays]
        if known and self.subdivision not in known:
            raise ValueError(
                f"subdivision: {self.subdivision!r} is not a subdivision of {self.holidays} "
                f"(known: {', '.join(known[:12])}{'…' if len(known) > 12 else ''})"
            )

    @property
    def calendar_text(self) -> str:
        """``"<timezone>|<holidays>|<subdivision>"`` (see `flowcast.records.is_calendar`)."""
        return f"{self.timezone}|{self.holidays or ''}|{self.subdivision or ''}"

    @property
    def calendar(self) -> str | None:
        """What readings carry: the calendar text, or None for the Paris calendar."""
        text = self.calendar_text
        return None if text == PARIS_CALENDAR else text

    @property
    def intervals_per_hour(self) -> int:
        return 60 // self.interval_minutes

    @cached_property
    def value_columns(self) -> list[str]:
        """The columns holding values: ``[value]`` (long) or the expanded ``values`` (wide)."""
        if self.values is not None:
            return expand_range(self.values)
        return [self.value] if self.value is not None else []

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _field_of(error: Any) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()))
    return location or "definition"


def describe_errors(error: ValidationError) -> str:
    """One line per problem, each starting with the field it is about."""
    lines = []
    for item in error.errors():
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "unknown field (a typo? see DESIGN.md for the fields)"
        elif item.get("type") == "missing":
            message = "missing (required)"
        field = _field_of(item)
        lines.append(message if field == "definition" else f"{field}: {message}")
    return "; ".join(lines)


def parse_definition(data: dict[str, Any], origin: str) -> SourceDefinition:
    """Validate ``data`` (the parsed TOML); `DefinitionError` naming ``origin`` and the field."""
    try:
        return SourceDefinition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(f"{origin}: bad source definition: {describe_errors(exc)}") from None


def load_definition(path: Path) -> SourceDefinition:
    """Read and validate the TOML source definition at ``path``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DefinitionError(f"{path}: no such source definition file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{path}: cannot read the source definition ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{path}: not valid TOML ({exc})") from None
    return parse_definition(data, str(path))
