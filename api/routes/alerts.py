"""Operator alerts (drift, sensor anomaly, congestion) and their acknowledgement."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from api.alert_schemas import AlertOut, AnomalyOut
from api.alerts_store import AlertsStore
from api.deps import AdminUser, CurrentUser, GatewayDep
from api.schemas import ErrorOut

router = APIRouter(prefix="/alerts", tags=["alerts"])
ALERT_ID = Annotated[str, Path(min_length=1, max_length=160, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.get("", response_model=list[AlertOut])
async def list_alerts(
    gateway: GatewayDep,
    _: CurrentUser,
    state: Annotated[Literal["open", "acknowledged", "all"], Query()] = "all",
    sensor: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=32, examples=["drift"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    """Alerts, newest first; filter by state, sensor and kind (drift, anomaly, congestion)."""
    alerts = await AlertsStore(gateway.redis).alerts()
    wanted = [
        a
        for a in alerts
        if (state == "all" or a["acknowledged"] == (state == "acknowledged"))
        and (sensor is None or a.get("sensor_id") == sensor)
        and (kind is None or a.get("kind") == kind)
    ]
    return wanted[:limit]


@router.get("/anomalies", response_model=list[AnomalyOut])
async def list_anomalies(gateway: GatewayDep, _: CurrentUser) -> Any:
    """The latest anomaly flags of every sensor that had one."""
    flags = await AlertsStore(gateway.redis).anomalies()
    return [{"sensor_id": sensor, **value} for sensor, value in sorted(flags.items())]


@router.post(
    "/{alert_id}/ack",
    response_model=AlertOut,
    responses={404: {"model": ErrorOut, "description": "no such alert"}},
)
async def acknowledge(alert_id: ALERT_ID, gateway: GatewayDep, admin: AdminUser) -> Any:
    """Acknowledge an alert (admins; idempotent, recorded in the audit log)."""
    store = AlertsStore(gateway.redis)
    if not await store.acknowledge(alert_id, admin.username):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id!r}")
    return next(a for a in await store.alerts() if a["id"] == alert_id)
