"""What a worker tells screens and admin checks about one sensor (``redis_keys.SENSOR_STATUS``).

Small, pure data, written by the worker in each batch's transaction for the sensors the batch
touched; the gateway validates it (`SensorStatus.from_json`) and never needs the model state.

>>> from datetime import UTC, datetime
>>> t = datetime(2022, 6, 17, 14, tzinfo=UTC)
>>> status = SensorStatus("4264", 72, 71, t, t, "linear", "1.0.0", ChallengerStatus("on_trial",
...                       started=t, reason="error"))
>>> SensorStatus.from_json(status.to_json()) == status
True
>>> orjson.loads(status.to_json())["challenger"]["phase"]
'on_trial'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import orjson

from flowcast.records import format_utc, is_sensor_id, parse_utc

Phase = Literal["none", "on_trial", "serving"]
PHASES: tuple[Phase, ...] = ("none", "on_trial", "serving")


def _ts(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


def _parse_ts(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a timestamp or null")
    return parse_utc(value)


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer")
    return value


def _text(value: Any, what: str) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 200):
        raise ValueError(f"{what} must be a short string or null")
    return value


@dataclass(frozen=True, slots=True)
class ChallengerStatus:
    """The sensor's drift challenger: none, on trial beside the champion, or serving."""

    phase: Phase = "none"
    started: datetime | None = None  # the drift hour it started from
    serving_since: datetime | None = None
    reason: str | None = None  # the detector that confirmed the drift

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "started": _ts(self.started),
            "serving_since": _ts(self.serving_since),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ChallengerStatus:
        if not isinstance(data, dict) or data.get("phase") not in PHASES:
            raise ValueError(f"challenger phase must be one of {', '.join(PHASES)}")
        return cls(
            cast(Phase, data["phase"]),
            _parse_ts(data.get("started"), "challenger started"),
            _parse_ts(data.get("serving_since"), "challenger serving_since"),
            _text(data.get("reason"), "challenger reason"),
        )


@dataclass(frozen=True, slots=True)
class SensorStatus:
    """Hours seen and learnt, first and last reading hour, served model, challenger phase."""

    sensor_id: str
    hours_seen: int
    hours_learned: int
    first_ts: datetime | None  # None: the sensor's checkpoint predates statuses
    last_ts: datetime | None
    model: str | None  # the served model of the latest forecast (None: no forecast yet)
    model_version: str | None
    challenger: ChallengerStatus = field(default_factory=ChallengerStatus)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sensor_id": self.sensor_id,
            "hours_seen": self.hours_seen,
            "hours_learned": self.hours_learned,
            "first_ts": _ts(self.first_ts),
            "last_ts": _ts(self.last_ts),
            "model": self.model,
            "model_version": self.model_version,
            "challenger": self.challenger.to_dict(),
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> SensorStatus:
        """Validate a wire dict; ``ValueError`` saying what is wrong (extra keys ignored)."""
        if not isinstance(data, dict):
            raise ValueError("a sensor status must be a JSON object")
        sensor_id = data.get("sensor_id")
        if not isinstance(sensor_id, str) or not is_sensor_id(sensor_id):
            raise ValueError("sensor status sensor_id malformed")
        return cls(
            sensor_id,
            _count(data.get("hours_seen"), "hours_seen"),
            _count(data.get("hours_learned"), "hours_learned"),
            _parse_ts(data.get("first_ts"), "first_ts"),
            _parse_ts(data.get("last_ts"), "last_ts"),
            _text(data.get("model"), "model"),
            _text(data.get("model_version"), "model_version"),
            ChallengerStatus.from_dict(data.get("challenger")),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> SensorStatus:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError("sensor status is not valid JSON") from exc
        return cls.from_dict(data)
