"""Model lifecycle by hand: promote a sensor's challenger, roll back a switch, read the audit.

The gateway never edits nor opens a live state: it checks the challenger phase in the sensor's
status (``redis_keys.SENSOR_STATUS``, JSON its worker writes), then queues the command in
``redis_keys.COMMANDS``; the worker owning the sensor applies it before that sensor's next
batch and records the outcome in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status

from api.alert_schemas import CommandOut
from api.alerts_store import AlertsStore
from api.deps import AdminUser, GatewayDep, SensorIdPath
from api.schemas import ErrorOut

router = APIRouter(tags=["lifecycle"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no status for this sensor"},
    409: {"model": ErrorOut, "description": "nothing to promote / roll back"},
    503: {"model": ErrorOut, "description": "Redis unavailable or the status unreadable"},
}


async def _queue(
    gateway: GatewayDep, sensor_id: str, command: Literal["promote", "rollback"], by: str
) -> dict[str, Any]:
    found = await gateway.store.status(sensor_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no status for sensor {sensor_id!r}: no worker ran it yet"
        )
    phase = found.challenger.phase
    serving = phase == "serving"
    if command == "promote" and phase != "on_trial":
        raise HTTPException(status.HTTP_409_CONFLICT, "no challenger on trial to promote")
    if command == "rollback" and not serving:
        raise HTTPException(status.HTTP_409_CONFLICT, "no challenger serving to roll back")
    await AlertsStore(gateway.redis).command(sensor_id, command, by)
    return {"sensor_id": sensor_id, "command": command, "status": "pending", "by": by}


@router.post(
    "/admin/sensors/{sensor_id}/promote",
    response_model=CommandOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=RESPONSES,
)
async def promote(sensor_id: SensorIdPath, gateway: GatewayDep, admin: AdminUser) -> Any:
    """Make the sensor's challenger the champion now (applied by its worker)."""
    return await _queue(gateway, sensor_id, "promote", admin.username)


@router.post(
    "/admin/sensors/{sensor_id}/rollback",
    response_model=CommandOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=RESPONSES,
)
async def rollback(sensor_id: SensorIdPath, gateway: GatewayDep, admin: AdminUser) -> Any:
    """Undo the sensor's last champion switch (applied by its worker)."""
    return await _queue(gateway, sensor_id, "rollback", admin.username)


@router.get("/audit", response_model=list[dict[str, Any]])
async def audit(
    gateway: GatewayDep, _: AdminUser, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Any:
    """The audit log, newest first: switches, promotions, rollbacks, acknowledgements."""
    return await AlertsStore(gateway.redis).audit(limit)
