"""The 24-hour outlook of one sensor and its wire form (``flowcast.redis_keys.OUTLOOK``).

An `Outlook` holds, for the hour of a sensor's last observation ``observed_ts``, one
`OutlookHour` per horizon h = 1 … `HORIZONS`: the `Forecast` of hour ``observed_ts + h`` plus
``usual``, the sensor's profile flow for that hour (what a normal day would bring). Pure data:
the workers build and write it, the gateway only validates and serves it (`Outlook.from_json`
never runs model code; a malformed value is a `ValueError`).

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2022, 6, 17, 14, tzinfo=UTC)
>>> hour = lambda h: Forecast("4264", t + timedelta(hours=h), t, 500.0 + h, 450.0, 560.0,
...                           "linear", "1", t)
>>> outlook = Outlook("4264", t, tuple(OutlookHour(hour(h), h, 480.0) for h in (1, 2)))
>>> Outlook.from_json(outlook.to_json()) == outlook
True
>>> first = orjson.loads(outlook.to_json())["forecasts"][0]
>>> first["ts"], first["horizon"], first["usual"]
('2022-06-17T15:00:00Z', 1, 480.0)
>>> outlook.at(t + timedelta(hours=2)).forecast.flow
502.0
>>> outlook.compact()["flow"], outlook.compact()["usual"]
([501.0, 502.0], [480.0, 480.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from flowcast.records import Forecast, format_utc, in_service_range, is_sensor_id, parse_utc

HORIZONS = 24
HOUR = timedelta(hours=1)


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number")
    return float(value)


@dataclass(frozen=True, slots=True)
class OutlookHour:
    """The forecast of one hour of the outlook, ``horizon`` hours after the observation."""

    forecast: Forecast
    horizon: int
    usual: float | None  # the profile's flow for that hour; None before any observation

    def to_dict(self) -> dict[str, Any]:
        """The Forecast wire dict with ``horizon`` and ``usual`` added."""
        return {**self.forecast.to_dict(), "horizon": self.horizon, "usual": self.usual}


@dataclass(frozen=True, slots=True)
class Outlook:
    """The latest outlook of one sensor: hours ``observed_ts + 1 h`` … in order."""

    sensor_id: str
    observed_ts: datetime
    hours: tuple[OutlookHour, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{"sensor_id", "observed_ts", "forecasts": [...]}`` (the REST contract)."""
        return {
            "sensor_id": self.sensor_id,
            "observed_ts": format_utc(self.observed_ts),
            "forecasts": [hour.to_dict() for hour in self.hours],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @property
    def first_ts(self) -> datetime:
        """The first hour forecast (``observed_ts + 1 h``)."""
        return self.observed_ts + HOUR

    @property
    def last_ts(self) -> datetime:
        """The last hour forecast."""
        return self.observed_ts + HOUR * len(self.hours)

    def at(self, ts: datetime) -> OutlookHour | None:
        """The hour of the outlook starting at ``ts`` (UTC, on the hour), if it holds it."""
        horizon = (ts - self.observed_ts) // HOUR
        if ts != self.observed_ts + HOUR * horizon or not 1 <= horizon <= len(self.hours):
            return None
        return self.hours[horizon - 1]

    def compact(self) -> dict[str, list[float | None]]:
        """Columns of the hours (index i is horizon i + 1), rounded to 0.1 veh/h: the shape
        pushed over the WebSocket (~0.7 kB instead of ~7 kB for 24 full forecasts)."""
        rows = [hour.forecast for hour in self.hours]
        return {
            "flow": [round(f.flow, 1) for f in rows],
            "flow_low": [round(f.flow_low, 1) for f in rows],
            "flow_high": [round(f.flow_high, 1) for f in rows],
            "usual": [None if h.usual is None else round(h.usual, 1) for h in self.hours],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Outlook:
        """Validate a wire dict (``ValueError`` saying what is wrong); extra keys are ignored."""
        if not isinstance(data, dict):
            raise ValueError("an outlook must be a JSON object")
        try:
            sensor_id, observed = data["sensor_id"], parse_utc(data["observed_ts"])
            rows = data["forecasts"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"outlook field missing or malformed: {exc}") from exc
        if not isinstance(sensor_id, str) or not is_sensor_id(sensor_id):
            raise ValueError("outlook sensor_id malformed")
        if not in_service_range(observed):
            raise ValueError("outlook observed_ts out of range")
        if not isinstance(rows, list) or not 1 <= len(rows) <= HORIZONS:
            raise ValueError(f"outlook forecasts must be a list of 1 to {HORIZONS} hours")
        hours = tuple(_hour(row, i + 1, sensor_id, observed) for i, row in enumerate(rows))
        return cls(sensor_id, observed, hours)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Outlook:
        """`from_dict` of a JSON text; ``ValueError`` if it is not valid JSON either."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError("outlook is not valid JSON") from exc
        return cls.from_dict(data)


def _hour(row: Any, horizon: int, sensor_id: str, observed: datetime) -> OutlookHour:
    if not isinstance(row, dict):
        raise ValueError(f"outlook hour {horizon} must be an object")
    try:
        forecast = Forecast.from_dict(row)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"outlook hour {horizon} malformed: {exc}") from exc
    for name in ("flow", "flow_low", "flow_high"):
        _finite(row[name], f"outlook hour {horizon} {name}")
    if row.get("horizon") != horizon or isinstance(row.get("horizon"), bool):
        raise ValueError(f"outlook hour {horizon} has horizon {row.get('horizon')!r}")
    if forecast.sensor_id != sensor_id or forecast.ts != observed + HOUR * horizon:
        raise ValueError(f"outlook hour {horizon} is not {sensor_id}'s hour observed + {horizon}")
    usual = row.get("usual")
    return OutlookHour(
        forecast, horizon, None if usual is None else _finite(usual, f"outlook hour {horizon}")
    )
