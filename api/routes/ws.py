"""``WS /ws/forecasts``: live forecasts and alerts.

The token comes as ``?token=…`` or an ``Authorization: Bearer`` header (checked before the
handshake: 401/403/429 answers), or, with ``?auth=message`` (what the dashboard does, so the
token is in no URL), as the first message ``{"type": "auth", "token": "…"}`` within
``ws_auth_timeout_s`` of the handshake (failures close the socket with 4401; 4429 over a
cap). Connections are capped per client address and per user (`api.sessions`); open
sessions are re-checked every ``ws_auth_recheck_s`` and closed with 4401 once their token
expires or is revoked.
"""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from api.context import Gateway
from api.deps import AuthError, authorise, get_gateway
from api.errors import REDIS_DOWN
from api.security import Claims, Role
from api.sessions import UNAUTHORISED, Ticket, TooManySessionsError
from api.ws_session import GONE, Session, parse_sensors

router = APIRouter(tags=["websocket"])
ROLES = frozenset(Role)
TOO_MANY = 4429
MAX_AUTH_MESSAGE = 8 * 1024


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


async def close(ws: WebSocket, code: int, reason: str) -> None:
    """Close an accepted socket, whatever state the client left it in."""
    with contextlib.suppress(*GONE):
        await ws.close(code, reason)


def _auth_token(received: Any) -> str | None:
    """The token of a first message ``{"type": "auth", "token": "…"}``, else None."""
    text = received.get("text")
    if received.get("type") != "websocket.receive" or not isinstance(text, str):
        return None
    if len(text) > MAX_AUTH_MESSAGE:
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("type") != "auth":
        return None
    token = data.get("token")
    return token if isinstance(token, str) and token else None


async def first_message_claims(ws: WebSocket, gateway: Gateway) -> Claims | None:
    """Authenticate an accepted socket by its first message; None after closing it."""
    with anyio.move_on_after(gateway.settings.ws_auth_timeout_s):
        try:
            received = await ws.receive()
        except GONE:
            return None
        token = _auth_token(received)
        if token is None:
            await close(ws, UNAUTHORISED, 'expected {"type": "auth", "token": "…"} first')
            return None
        try:
            return await authorise(gateway, token, ROLES)
        except AuthError as exc:
            await close(ws, UNAUTHORISED, exc.detail)
        except RedisError:
            await close(ws, 1011, REDIS_DOWN)
        return None
    await close(ws, UNAUTHORISED, "authentication timed out")
    return None


@router.websocket("/ws/forecasts")
async def forecasts_ws(ws: WebSocket) -> None:
    """Snapshot of the latest forecasts, then every new forecast and alert as it happens."""
    gateway = get_gateway(ws)
    token = bearer_token(ws)
    by_message = token is None and ws.query_params.get("auth") == "message"
    address = ws.client.host if ws.client else "unknown"
    try:
        sensors = parse_sensors(ws.query_params.get("sensors"))
        claims = None if by_message else await authorise(gateway, token, ROLES)
        ticket = gateway.sessions.admit(address)
    except AuthError as exc:
        await deny(ws, exc.status_code, exc.detail)
        return
    except ValueError as exc:
        await deny(ws, 422, str(exc))
        return
    except RedisError:
        await deny(ws, 503, REDIS_DOWN)
        return
    except TooManySessionsError as exc:
        await deny(ws, 429, str(exc))
        return
    try:
        await _serve(ws, gateway, ticket, claims, sensors)
    finally:
        gateway.sessions.release(ticket)


async def _serve(
    ws: WebSocket,
    gateway: Gateway,
    ticket: Ticket,
    claims: Claims | None,
    sensors: frozenset[str] | None,
) -> None:
    if claims is not None:
        try:
            gateway.sessions.bind(ticket, claims)
        except TooManySessionsError as exc:
            await deny(ws, 429, str(exc))
            return
    await ws.accept()
    if claims is None:
        claims = await first_message_claims(ws, gateway)
        if claims is None:
            return
        try:
            gateway.sessions.bind(ticket, claims)
        except TooManySessionsError as exc:
            await close(ws, TOO_MANY, str(exc))
            return
    await Session(ws, gateway, gateway.ws_ping_interval, ticket).run(sensors)
