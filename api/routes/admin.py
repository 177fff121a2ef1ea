"""Admin-only routes: replay control, sensor state reset, operator accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from api.deps import AdminUser, GatewayDep, SensorIdPath
from api.replay import ReplayError
from api.schemas import ErrorOut, ReplayIn, ReplayOut, ResetOut, UserIn, UserOut

router = APIRouter(prefix="/admin", tags=["admin"])
USER_PATH = r"^[A-Za-z0-9_.@-]{1,64}$"


def _child_env(gateway: GatewayDep) -> dict[str, str]:
    """Point the replay child at the same broker (with the same credentials) and Redis as
    this gateway."""
    settings = gateway.settings
    env: dict[str, str] = {"FLOWCAST_KAFKA_SECURITY_PROTOCOL": settings.kafka_security_protocol}
    optional = {
        "FLOWCAST_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "FLOWCAST_REDIS_URL": settings.redis_url,
        "FLOWCAST_KAFKA_SASL_MECHANISM": settings.kafka_sasl_mechanism,
        "FLOWCAST_KAFKA_USERNAME": settings.kafka_username,
        "FLOWCAST_KAFKA_PASSWORD": settings.kafka_password,
    }
    env |= {name: value for name, value in optional.items() if value}
    return env


@router.get("/replay", response_model=ReplayOut)
async def replay_status(gateway: GatewayDep, _: AdminUser) -> Any:
    """Whether a replay is running."""
    return gateway.replay.status()


@router.post(
    "/replay",
    response_model=ReplayOut,
    responses={409: {"model": ErrorOut, "description": "bad file or already running"}},
)
async def replay(body: ReplayIn, gateway: GatewayDep, _: AdminUser) -> Any:
    """Start a replay of bundled data files into Kafka, or stop the running one."""
    if body.action == "stop":
        return await gateway.replay.stop()
    try:
        return await gateway.replay.start(body.files, body.speed, _child_env(gateway))
    except ReplayError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.post("/sensors/{sensor_id}/reset", response_model=ResetOut)
async def reset_sensor(sensor_id: SensorIdPath, gateway: GatewayDep, _: AdminUser) -> Any:
    """Delete the sensor's state checkpoint and latest forecast from Redis."""
    deleted = await gateway.store.reset_sensor(sensor_id)
    return {"sensor_id": sensor_id, **deleted}


@router.get("/users", response_model=list[UserOut])
async def list_users(gateway: GatewayDep, _: AdminUser) -> Any:
    """Every account (without secrets)."""
    return await gateway.users.list()


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def put_user(body: UserIn, gateway: GatewayDep, _: AdminUser) -> Any:
    """Create an operator (or admin) account, or reset its password and role."""
    await gateway.users.put(body.username, body.password, body.role)
    return {"username": body.username, "role": body.role}


@router.delete(
    "/users/{username}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: {"model": ErrorOut, "description": "no such account"},
        409: {"model": ErrorOut, "description": "cannot delete your own account"},
    },
)
async def delete_user(username: str, gateway: GatewayDep, admin: AdminUser) -> Response:
    """Delete an account; its tokens stop working within seconds."""
    if username == admin.username:
        raise HTTPException(status.HTTP_409_CONFLICT, "cannot delete your own account")
    if not await gateway.users.delete(username):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no account {username!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
