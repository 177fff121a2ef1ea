"""A client that stops reading must not delay the others, and is dropped (real Redis, real
uvicorn, real sockets)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time

import orjson
import pytest
import redis
from gateway_helpers import ADMIN_PASSWORD, make_forecast, serving
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from api.broadcaster import Broadcaster
from api.main import create_app
from api.metrics import GatewayMetrics
from flowcast import redis_keys as keys
from flowcast.settings import Settings


def test_full_queue_drops_oldest_and_flags_the_slow_subscriber(redis_url: str) -> None:
    async def scenario() -> None:
        client = Redis.from_url(redis_url)
        metrics = GatewayMetrics()
        hub = Broadcaster(client, metrics, queue_size=8)
        task = asyncio.create_task(hub.run())
        fast, slow = hub.add(None), hub.add(None)
        await asyncio.wait_for(hub.subscribed.wait(), 10)
        received: list[float] = []

        async def consume() -> None:
            while len(received) < 40:
                try:
                    [text] = await asyncio.wait_for(fast.take(1), 10)
                except TimeoutError:
                    raise AssertionError("fast subscriber starved") from None
                received.append(orjson.loads(text)["data"]["flow"])

        consumer = asyncio.create_task(consume())
        for i in range(40):
            await client.publish(keys.FORECASTS_CHANNEL, make_forecast("4264", flow=i).to_json())
            await asyncio.sleep(0)  # let the consumer keep pace, as a live client does
        await asyncio.wait_for(consumer, 10)
        assert received == [float(i) for i in range(40)]
        assert slow.too_slow.is_set() and slow.queue.qsize() == 8
        assert orjson.loads(slow.queue.get_nowait())["data"]["flow"] == 32.0  # oldest dropped
        assert metrics.ws_dropped._value.get() == 32
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()

    asyncio.run(scenario())


def _stalled_client(port: int, token: str) -> socket.socket:
    """A WebSocket handshake over a tiny receive buffer, then never read again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/forecasts?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


@pytest.mark.slow
@pytest.mark.integration
def test_stalled_socket_does_not_delay_a_live_client(redis_url, redis_client) -> None:
    settings = Settings(redis_url=redis_url, admin_password=ADMIN_PASSWORD, jwt_secret="s" * 40)
    app = create_app(settings)
    app.state.gateway.broadcaster.queue_size = 32  # fewer messages needed to overflow
    with serving(app, ws="websockets-sansio") as port:
        asyncio.run(_scenario(app, port, redis_client))


async def _scenario(app, port: int, redis_client: redis.Redis) -> None:
    import httpx

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    async with httpx.AsyncClient(base_url=base) as http:
        while True:
            try:
                if (await http.get("/ready")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gateway never became ready"
            await asyncio.sleep(0.05)
        form = {"username": "admin", "password": ADMIN_PASSWORD}
        token = (await http.post("/auth/token", data=form)).json()["access_token"]
    stalled = _stalled_client(port, token)
    gateway = app.state.gateway
    async with connect(f"ws://127.0.0.1:{port}/ws/forecasts?token={token}") as live:
        assert orjson.loads(await live.recv())["type"] == "snapshot"
        while len(gateway.broadcaster.subscribers) < 2:
            assert time.monotonic() < deadline, "stalled client never registered"
            await asyncio.sleep(0.02)
        big = make_forecast("4264").to_dict() | {"model": "m" * 20_000}
        count = 600  # ~12 MB: far more than the socket buffers plus the 32-message queue
        started = time.monotonic()
        for i in range(count):
            redis_client.publish(keys.FORECASTS_CHANNEL, orjson.dumps(big | {"flow": float(i)}))
            message = orjson.loads(await asyncio.wait_for(live.recv(), 5))
            assert message["data"]["flow"] == float(i)
        elapsed = time.monotonic() - started
    deadline = time.monotonic() + 15
    while gateway.metrics.ws_kicked._value.get() < 1:
        assert time.monotonic() < deadline, "the stalled client was never disconnected"
        await asyncio.sleep(0.05)
    assert gateway.metrics.ws_dropped._value.get() > 0
    while gateway.broadcaster.subscribers:  # the live client's own close is handled async
        assert time.monotonic() < deadline, "a closed client stayed subscribed"
        await asyncio.sleep(0.05)
    assert elapsed < 30, f"the live client was slowed down: {elapsed:.1f}s"
    stalled.close()
