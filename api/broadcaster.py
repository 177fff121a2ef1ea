"""One Redis subscription per gateway process, fanned out to every WebSocket client.

The broadcaster task (started in the app lifespan) reads ``FORECASTS_CHANNEL`` and
``ALERTS_CHANNEL`` and *offers* each message to the bounded queue of every interested
`Subscriber`. Offering never waits: when a queue is full its oldest message is dropped, so a
slow or dead client never delays the others. A client that loses a whole queue's worth of
messages in a row without taking any is flagged ``too_slow``; its connection handler then
closes it with code 1013.

Each message is serialised once (`encode`), and the same text is queued for every client.
When a client's queue holds several pushed messages by the time its sender gets to it, they go
out as one frame (`frames`): ``{"type": "batch", "messages": [...]}``, made by joining the
already-encoded texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_fixed

from api.metrics import GatewayMetrics
from flowcast import redis_keys as keys

log = logging.getLogger(__name__)
KINDS = {keys.FORECASTS_CHANNEL: "forecast", keys.ALERTS_CHANNEL: "alert"}
PUSH_PREFIXES = tuple(f'{{"type":"{kind}",' for kind in KINDS.values())  # as `encode` writes


class Subscriber:
    """A client's filter and bounded outgoing queue (JSON texts)."""

    def __init__(self, sensors: frozenset[str] | None, maxsize: int, metrics: GatewayMetrics):
        self.sensors = sensors
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize)
        self.metrics = metrics
        self.dropped_in_a_row = 0
        self.too_slow = asyncio.Event()

    def wants(self, sensor_id: str | None) -> bool:
        """Whether a message about ``sensor_id`` (None: not about one sensor) is for us."""
        return self.sensors is None or sensor_id is None or sensor_id in self.sensors

    def offer(self, text: str) -> None:
        """Queue ``text``; if full, drop the oldest message instead of waiting."""
        if self.queue.full():
            self.queue.get_nowait()
            self.metrics.ws_dropped.inc()
            self.dropped_in_a_row += 1
            if self.dropped_in_a_row >= self.queue.maxsize:
                self.too_slow.set()
        self.queue.put_nowait(text)

    async def take(self, limit: int) -> list[str]:
        """Wait for a message, then also take those already queued, up to ``limit`` in all."""
        items = [await self.queue.get()]
        while len(items) < limit and not self.queue.empty():
            items.append(self.queue.get_nowait())
        self.dropped_in_a_row = 0
        return items


def encode(kind: str, data: Any) -> str:
    """The JSON text pushed to clients: ``{"type": kind, "data": data}``."""
    return orjson.dumps({"type": kind, "data": data}).decode()


def is_push(text: str) -> bool:
    """Whether ``text`` is a pushed forecast/alert (`encode`), not a reply to the client."""
    return text.startswith(PUSH_PREFIXES)


def batch(texts: list[str]) -> str:
    """One frame for pushed messages: the message itself, or a ``batch`` envelope.

    >>> batch(['{"type":"alert","data":{}}', '{"type":"alert","data":{"a":1}}'])
    '{"type":"batch","messages":[{"type":"alert","data":{}},{"type":"alert","data":{"a":1}}]}'
    """
    if len(texts) == 1:
        return texts[0]
    return '{"type":"batch","messages":[' + ",".join(texts) + "]}"


def frames(items: list[str]) -> list[str]:
    """The frames to send for queued ``items``, in order: runs of pushes batched, replies alone.

    >>> frames(['{"type":"forecast",1}', '{"type":"forecast",2}', '{"type":"pong"}'])
    ['{"type":"batch","messages":[{"type":"forecast",1},{"type":"forecast",2}]}', '{"type":"pong"}']
    """
    out: list[str] = []
    run: list[str] = []
    for text in items:
        if is_push(text):
            run.append(text)
            continue
        if run:
            out.append(batch(run))
            run = []
        out.append(text)
    if run:
        out.append(batch(run))
    return out


class Broadcaster:
    """Owns the single pub/sub subscription and the set of subscribers."""

    def __init__(self, redis: Redis, metrics: GatewayMetrics, queue_size: int = 256) -> None:
        self.redis = redis
        self.metrics = metrics
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        self.subscribed = asyncio.Event()

    def add(self, sensors: frozenset[str] | None) -> Subscriber:
        """Register a new client."""
        sub = Subscriber(sensors, self.queue_size, self.metrics)
        self.subscribers.add(sub)
        self.metrics.ws_clients.set(len(self.subscribers))
        return sub

    def remove(self, sub: Subscriber) -> None:
        """Forget a client (idempotent)."""
        self.subscribers.discard(sub)
        self.metrics.ws_clients.set(len(self.subscribers))

    def dispatch(self, channel: str, payload: bytes) -> None:
        """Fan one pub/sub message out to the interested subscribers."""
        kind = KINDS.get(channel)
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("ignoring a non-JSON message on %s", channel)
            return
        if kind is None or not isinstance(data, dict):
            return
        sensor_id = data.get("sensor_id")
        sensor_id = str(sensor_id) if sensor_id is not None else None
        if kind == "forecast":
            self.metrics.saw_forecast(data.get("produced_at"))
        text = encode(kind, data)
        for sub in list(self.subscribers):
            if sub.wants(sensor_id):
                sub.offer(text)

    async def run(self, retry_s: float = 1.0) -> None:
        """Listen forever; on a Redis failure, resubscribe after ``retry_s`` seconds."""

        def lost(state: RetryCallState) -> None:
            self.subscribed.clear()
            error = state.outcome.exception() if state.outcome else None
            log.warning("broadcaster lost Redis (%s); retrying in %.1fs", error, retry_s)

        retrying = AsyncRetrying(
            retry=retry_if_exception_type((RedisError, OSError)),
            wait=wait_fixed(retry_s),
            before_sleep=lost,
        )
        await retrying(self._listen)

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*KINDS)
            self.subscribed.set()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    channel = message["channel"]
                    name = channel.decode() if isinstance(channel, bytes) else str(channel)
                    self.dispatch(name, message["data"])
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
