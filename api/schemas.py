"""Request and response bodies. Requests forbid unknown fields; every model shows an example."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from api.security import Role
from flowcast.records import SENSOR_ID_PATTERN, ArcState, TrafficState, in_service_range, to_utc

SENSOR_ID = Field(min_length=1, max_length=64, pattern=SENSOR_ID_PATTERN)
FORECAST_EXAMPLE: dict[str, Any] = {
    "sensor_id": "4264",
    "ts": "2022-06-17T15:00:00Z",
    "observed_ts": "2022-06-17T14:00:00Z",
    "flow": 1093.5,
    "flow_low": 902.0,
    "flow_high": 1285.0,
    "model": "snarimax",
    "model_version": "3",
    "produced_at": "2022-06-17T14:00:02Z",
}
READING_EXAMPLE: dict[str, Any] = {
    "sensor_id": "4264",
    "ts": "2022-06-17T14:00:00Z",
    "flow": 1120.0,
    "occupancy": 49.9,
    "traffic_state": "saturated",
    "arc_state": "open",
    "source": "export_2022_champs-elysees_4264.csv.gz",
}


class Strict(BaseModel):
    """Base of request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    """Every error body."""

    model_config = ConfigDict(json_schema_extra={"example": {"detail": "unknown sensor '42'"}})
    detail: str


class ForecastOut(BaseModel):
    """The next-hour forecast of one sensor (the `Forecast` record)."""

    model_config = ConfigDict(json_schema_extra={"example": FORECAST_EXAMPLE})
    sensor_id: str
    ts: datetime = Field(description="hour forecast (UTC), observed_ts + 1 h")
    observed_ts: datetime = Field(description="hour of the last observation used")
    flow: float = Field(description="forecast flow, vehicles per hour")
    flow_low: float
    flow_high: float
    model: str
    model_version: str
    produced_at: datetime


OUTLOOK_HOUR_EXAMPLE: dict[str, Any] = {**FORECAST_EXAMPLE, "horizon": 1, "usual": 1010.0}


class OutlookHourOut(ForecastOut):
    """One hour of a sensor's outlook: a forecast, how many hours ahead, the usual flow."""

    model_config = ConfigDict(json_schema_extra={"example": OUTLOOK_HOUR_EXAMPLE})
    horizon: int = Field(ge=1, le=24, description="hours after observed_ts")
    usual: float | None = Field(description="the sensor's profile flow for that hour")


class OutlookOut(BaseModel):
    """The latest 24-hour outlook of one sensor: hours observed_ts + 1 h … + 24 h, in order."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "sensor_id": "4264",
                "observed_ts": "2022-06-17T14:00:00Z",
                "forecasts": [OUTLOOK_HOUR_EXAMPLE],
            }
        }
    )
    sensor_id: str
    observed_ts: datetime
    forecasts: list[OutlookHourOut]


class ChallengerOut(BaseModel):
    """The sensor's drift challenger: none, on trial beside the champion, or serving."""

    phase: Literal["none", "on_trial", "serving"]
    started: datetime | None = None
    serving_since: datetime | None = None
    reason: str | None = None


class SensorStatusOut(BaseModel):
    """What the sensor's worker reports: hours seen and learnt, served model, challenger."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "sensor_id": "4264",
                "hours_seen": 720,
                "hours_learned": 719,
                "first_ts": "2022-05-18T14:00:00Z",
                "last_ts": "2022-06-17T14:00:00Z",
                "model": "linear",
                "model_version": "1.0.0",
                "challenger": {"phase": "none"},
            }
        }
    )
    sensor_id: str
    hours_seen: int
    hours_learned: int
    first_ts: datetime | None
    last_ts: datetime | None
    model: str | None
    model_version: str | None
    challenger: ChallengerOut


class ReadingOut(BaseModel):
    """One normalised hourly count (the `Reading` record)."""

    model_config = ConfigDict(json_schema_extra={"example": READING_EXAMPLE})
    sensor_id: str
    ts: datetime
    flow: float | None
    occupancy: float | None
    traffic_state: TrafficState
    arc_state: ArcState
    source: str


class SensorOut(BaseModel):
    """A sensor, its position (WGS84) and the traffic state of its last reading."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "sensor_id": "4264",
                "name": "AV_Champs_Elysees",
                "lat": 48.8705,
                "lon": 2.3064,
                "traffic_state": "fluid",
                "has_forecast": True,
            }
        }
    )
    sensor_id: str
    name: str | None
    lat: float | None
    lon: float | None
    traffic_state: TrafficState | None = None
    has_forecast: bool = False


class SensorDetail(SensorOut):
    """A sensor with its last reading and latest forecast."""

    last_reading: ReadingOut | None = None
    forecast: ForecastOut | None = None
    status: SensorStatusOut | None = None


class HistoryPoint(BaseModel):
    """One hour: the forecast made for it and the flow then observed."""

    ts: datetime
    forecast: ForecastOut | None
    observed: float | None


class HistoryOut(BaseModel):
    """Recent hours of one sensor and the live error over them."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "sensor_id": "4264",
                "hours": 2,
                "points": [
                    {"ts": "2022-06-17T14:00:00Z", "forecast": FORECAST_EXAMPLE, "observed": 1120.0}
                ],
                "mae": 26.5,
                "n": 1,
            }
        }
    )
    sensor_id: str
    hours: int
    points: list[HistoryPoint]
    mae: float | None = Field(description="mean absolute error over the scored hours shown")
    n: int = Field(description="hours with both a forecast and an observation")


class PredictIn(Strict):
    """An ad-hoc forecast request: this sensor, this hour (timezone required)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"sensor_id": "4264", "ts": "2022-06-17T15:00:00Z"}},
    )
    sensor_id: str = SENSOR_ID
    ts: AwareDatetime

    @field_validator("ts")
    @classmethod
    def _in_service_range(cls, ts: datetime) -> datetime:
        utc = to_utc(ts)
        if not in_service_range(utc):
            raise ValueError("ts must be between 1970 and 2200")
        return utc


class PredictOut(OutlookHourOut):
    """The forecast of the requested hour, taken from the sensor's latest outlook."""


class RowError(BaseModel):
    """A CSV row that could not be used, and why."""

    line: int
    detail: str


class BatchOut(BaseModel):
    """Forecasts for the usable rows of an uploaded CSV, and the rows rejected."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "rows": 2,
                "forecasts": [FORECAST_EXAMPLE],
                "errors": [{"line": 3, "detail": "bad ts 'yesterday'"}],
            }
        }
    )
    rows: int
    forecasts: list[ForecastOut]
    errors: list[RowError]


class TokenOut(BaseModel):
    """An OAuth2 bearer token."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "access_token": "eyJhbGciOiJIUzI1NiJ9...",
                "token_type": "bearer",
                "expires_in": 3600,
                "role": "operator",
            }
        }
    )
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: Role


class UserIn(Strict):
    """A new (or reset) account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"username": "ops1", "password": "a long passphrase", "role": "operator"}
        },
    )
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.OPERATOR


class UserOut(BaseModel):
    """An account, without its secret."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"username": "ops1", "role": "operator"}}
    )
    username: str
    role: Role


class ReplayIn(Strict):
    """Start (files relative to the data directory; none = all) or stop the replay."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"action": "start", "files": ["export_2022_convention_5671.csv.gz"]}
        },
    )
    action: Literal["start", "stop"]
    files: list[str] = Field(default_factory=list, max_length=100)
    speed: str = Field(default="max", pattern=r"^(max|[0-9]+(\.[0-9]+)?)$")

    @field_validator("files")
    @classmethod
    def _plain_names(cls, files: list[str]) -> list[str]:
        """A file name is 1-255 printable characters (a NUL byte is no path: 422, not 500)."""
        for name in files:
            if not 1 <= len(name) <= 255 or not name.isprintable():
                raise ValueError("file names must be 1-255 printable characters")
        return files


class ReplayOut(BaseModel):
    """State of the replay subprocess."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"running": True, "pid": 4242, "returncode": None}}
    )
    running: bool
    pid: int | None
    returncode: int | None


class ResetOut(BaseModel):
    """What a sensor reset deleted."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "sensor_id": "4264",
                "state": True,
                "latest": True,
                "outlook": True,
                "status": True,
            }
        }
    )
    sensor_id: str
    state: bool
    latest: bool
    outlook: bool
    status: bool


class StatusOut(BaseModel):
    """Liveness / readiness."""

    model_config = ConfigDict(json_schema_extra={"example": {"status": "ok"}})
    status: str
