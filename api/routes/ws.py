"""``WS /ws/forecasts``: live forecasts and alerts (token via ``?token=`` or Bearer header)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from api.deps import AuthError, authorise, get_gateway
from api.errors import REDIS_DOWN
from api.security import Role
from api.ws_session import Session, parse_sensors

router = APIRouter(tags=["websocket"])


def bearer_token(ws: WebSocket) -> str | None:
    """The token from ``?token=`` or ``Authorization: Bearer …``."""
    token = ws.query_params.get("token")
    if token:
        return token
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


async def deny(ws: WebSocket, status_code: int, detail: str) -> None:
    """Refuse the handshake with an HTTP JSON error (or a policy close if unsupported)."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(JSONResponse({"detail": detail}, status_code=status_code))
    else:
        await ws.close(1008 if status_code < 500 else 1011, detail)


@router.websocket("/ws/forecasts")
async def forecasts_ws(ws: WebSocket) -> None:
    """Snapshot of the latest forecasts, then every new forecast and alert as it happens."""
    gateway = get_gateway(ws)
    try:
        await authorise(gateway, bearer_token(ws), frozenset(Role))
        sensors = parse_sensors(ws.query_params.get("sensors"))
    except AuthError as exc:
        await deny(ws, exc.status_code, exc.detail)
        return
    except ValueError as exc:
        await deny(ws, 422, str(exc))
        return
    except RedisError:
        await deny(ws, 503, REDIS_DOWN)
        return
    await ws.accept()
    await Session(ws, gateway, gateway.ws_ping_interval).run(sensors)
