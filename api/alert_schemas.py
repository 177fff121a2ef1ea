"""Bodies of the alerts, audit and model-lifecycle routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

ALERT_EXAMPLE: dict[str, Any] = {
    "id": "drift:4264:459471",
    "kind": "drift",
    "sensor_id": "4264",
    "ts": "2022-06-01T15:00:00Z",
    "phase": "switched",
    "severity": "warning",
    "message": "sensor 4264: drift (input), challenger switched",
    "details": {"champion_error": 0.31, "challenger_error": 0.12, "level_ratio": 0.52},
    "acknowledged": False,
    "acknowledged_by": None,
}


class AlertOut(BaseModel):
    """One operator alert (one per event: a later phase updates the same id)."""

    model_config = ConfigDict(json_schema_extra={"example": ALERT_EXAMPLE})
    id: str
    kind: str
    sensor_id: str
    ts: str
    phase: str
    severity: str
    message: str
    details: dict[str, Any]
    acknowledged: bool
    acknowledged_by: str | None


class AnomalyOut(BaseModel):
    """The latest anomalous reading of a sensor."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"sensor_id": "191", "ts": "2022-06-01T08:00:00Z", "kinds": ["stuck"]}
        }
    )
    sensor_id: str
    ts: str
    kinds: list[str]


class CommandOut(BaseModel):
    """An admin command queued for the worker that owns the sensor."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "sensor_id": "4264",
                "command": "promote",
                "status": "pending",
                "by": "admin",
            }
        }
    )
    sensor_id: str
    command: Literal["promote", "rollback"]
    status: Literal["pending"]
    by: str
