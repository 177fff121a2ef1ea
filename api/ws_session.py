"""One WebSocket client: snapshot, then live pushes from its `Subscriber` queue.

Only the sender task writes to the socket; replies to the client's own messages go through the
same bounded queue, so a flood of client messages cannot grow memory.

Protocol, server → client (JSON text frames):

- ``{"type": "snapshot", "forecasts": [...]}`` on connect and after each subscribe;
- ``{"type": "forecast" | "alert", "data": {...}}``, a pushed forecast or alert; a forecast's
  ``data`` is the Forecast object plus, when its sensor has an outlook, ``"outlook"``: the
  outlook's columns ``{"flow": [...], "flow_low": [...], "flow_high": [...], "usual": [...]}``
  (24 values each, index i is hour ``ts + i h``, rounded to 0.1 veh/h; the full outlook is
  ``GET /forecasts/{sensor_id}/outlook``);
- ``{"type": "batch", "messages": [<forecast | alert message>, ...]}``: several pushes in one
  frame, in order, sent when the client's queue held more than one at once (a client handles
  each element as if it had come alone);
- ``{"type": "subscribed", "sensors": [...] | null}``, ``{"type": "ping"}`` (after a quiet
  ``ping_interval``), ``{"type": "pong"}``, ``{"type": "error", "detail": "..."}``, never batched.

Client → server: ``{"action": "subscribe", "sensors": [...] | null}`` and ``{"action": "ping"}``.

Close codes: 4401 when the session's token expires or is revoked (re-checked every
``ws_auth_recheck_s``, `api.sessions`), 1013 for a client too slow, 1008 for a flood, 1011
when Redis cannot give the first snapshot (a later Redis failure on a subscribe is answered
with an ``error`` message; the session stays open).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.broadcaster import Subscriber, frames
from api.context import Gateway
from api.errors import REDIS_DOWN
from api.sessions import UNAUTHORISED, Ticket
from flowcast.records import is_sensor_id

MAX_MESSAGE = 16 * 1024
MAX_SENSORS = 5000
FLOOD_STRIKES = 50
MAX_BATCH = 64  # pushed messages per frame at most
GONE = (WebSocketDisconnect, RuntimeError, OSError)


def parse_sensors(value: Any) -> frozenset[str] | None:
    """``None`` (all), a list of ids, or a comma-separated string → filter; ValueError if bad."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or len(value) > MAX_SENSORS:
        raise ValueError(f"sensors must be null or a list of at most {MAX_SENSORS} ids")
    if not all(isinstance(v, str) and is_sensor_id(v) for v in value):
        raise ValueError("sensors must be sensor id strings")
    return frozenset(value)


def _text(received: Any) -> str:
    """The text of a received frame (binary frames decoded as UTF-8)."""
    if received.get("text") is not None:
        return str(received["text"])
    return bytes(received.get("bytes") or b"").decode("utf-8", "replace")


def message(kind: str, **fields: Any) -> str:
    """A server → client JSON text."""
    return orjson.dumps({"type": kind, **fields}).decode()


PING = message("ping")


class TokenBucket:
    """``rate`` messages per second on average, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        """Spend a token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def _then_cancel(job: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
    """Run ``job``, then cancel its siblings."""
    await job()
    scope.cancel()


class Session:
    """Runs one accepted connection until the client leaves, floods or falls behind."""

    def __init__(
        self,
        ws: WebSocket,
        gateway: Gateway,
        ping_interval: float = 20.0,
        ticket: Ticket | None = None,
    ) -> None:
        self.ws = ws
        self.gateway = gateway
        self.ping_interval = ping_interval
        self.ticket = ticket or Ticket("unknown")
        self.bucket = TokenBucket(rate=5.0, burst=20)
        self.sent = 0  # sends so far (the keepalive's clock)

    async def snapshot(self, sensors: frozenset[str] | None) -> str:
        """The latest forecasts the filter selects."""
        store = self.gateway.store
        found = await (
            store.latest_all() if sensors is None else store.latest_many(sorted(sensors))
        )
        return message("snapshot", forecasts=[found[s] for s in sorted(found)])

    async def run(self, sensors: frozenset[str] | None) -> None:
        """Register, send the snapshot, then push and listen until one side stops."""
        broadcaster = self.gateway.broadcaster
        sub = broadcaster.add(sensors)
        try:
            try:
                first = await self.snapshot(sensors)
            except RedisError:
                reason: tuple[int, str] | None = (1011, REDIS_DOWN)
            else:
                await self.ws.send_text(first)
                reason = await self._serve(sub)
        except GONE:
            return
        finally:
            broadcaster.remove(sub)
        if reason is not None:
            await self._close(*reason)

    async def _serve(self, sub: Subscriber) -> tuple[int, str] | None:
        """Run sender, receiver and slowness watch until the first one ends; why to close."""
        reason: tuple[int, str] | None = None

        async def until_slow() -> None:
            nonlocal reason
            await sub.too_slow.wait()
            self.gateway.metrics.ws_kicked.inc()
            reason = (1013, "client too slow; messages were dropped")

        async def until_revoked() -> None:
            nonlocal reason
            await self.ticket.revoked.wait()
            self.gateway.metrics.ws_revoked.inc()
            reason = (UNAUTHORISED, self.ticket.reason)

        async def receive() -> None:
            nonlocal reason
            reason = await self._receive_loop(sub)

        async with anyio.create_task_group() as group:
            for job in (until_slow, until_revoked, receive, lambda: self._send_loop(sub)):
                group.start_soon(_then_cancel, job, group.cancel_scope)
            group.start_soon(self._keepalive, sub)
        return reason

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(*GONE, TimeoutError):
            await asyncio.wait_for(self.ws.close(code, reason), 2.0)

    async def _send_loop(self, sub: Subscriber) -> None:
        """Send what is queued; several queued pushes go out as one ``batch`` frame.

        No timeout per message (a cancel scope costs more than the send): `_keepalive` queues
        the pings.
        """
        pushed = self.gateway.metrics.ws_pushed
        with contextlib.suppress(*GONE):
            while True:
                items = await sub.take(MAX_BATCH)
                for frame in frames(items):
                    await self.ws.send_text(frame)
                self.sent += 1
                pushed.inc(len(items))

    async def _keepalive(self, sub: Subscriber) -> None:
        """Queue a ping whenever nothing was sent for a whole ``ping_interval``."""
        while True:
            before = self.sent
            await anyio.sleep(self.ping_interval)
            if self.sent == before and sub.queue.empty():
                sub.offer(PING)

    async def _receive_loop(self, sub: Subscriber) -> tuple[int, str] | None:
        strikes = 0
        with contextlib.suppress(*GONE):
            while True:
                received = await self.ws.receive()
                if received["type"] == "websocket.disconnect":
                    return None
                if not self.bucket.take():
                    strikes += 1
                    if strikes >= FLOOD_STRIKES:
                        return 1008, "too many messages"
                    if strikes == 1:
                        sub.offer(message("error", detail="too many messages; slow down"))
                    continue
                strikes = 0
                raw = _text(received)
                for reply in await self.handle(raw, sub):
                    sub.offer(reply)
        return None

    async def handle(self, raw: str, sub: Subscriber) -> list[str]:
        """Replies to one client message."""
        if len(raw) > MAX_MESSAGE:
            return [message("error", detail=f"message longer than {MAX_MESSAGE} characters")]
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return [message("error", detail="malformed JSON")]
        action = data.get("action") if isinstance(data, dict) else None
        if action == "ping":
            return [message("pong")]
        if action != "subscribe":
            return [message("error", detail="expected {'action': 'subscribe' | 'ping', ...}")]
        try:
            sensors = parse_sensors(data.get("sensors"))
        except ValueError as exc:
            return [message("error", detail=str(exc))]
        try:
            snapshot = await self.snapshot(sensors)
        except RedisError:
            return [message("error", detail=REDIS_DOWN)]
        sub.sensors = sensors
        listed = sorted(sensors) if sensors is not None else None
        return [message("subscribed", sensors=listed), snapshot]
