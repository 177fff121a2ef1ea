"""WebSocket fan-out: one encoding per message, queued pushes batched into one frame, pings
from the keepalive (the sender waits with no per-message timeout)."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import orjson
from gateway_helpers import make_forecast

from api.broadcaster import Broadcaster, Subscriber, batch, encode, frames, is_push
from api.metrics import GatewayMetrics
from api.ws_session import MAX_BATCH, Session, message
from flowcast import redis_keys as keys


class FakeSocket:
    """Records what the session sends."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)


def session(ping_interval: float = 20.0) -> tuple[Session, FakeSocket, GatewayMetrics]:
    ws, metrics = FakeSocket(), GatewayMetrics()
    gateway = SimpleNamespace(metrics=metrics)
    return Session(ws, gateway, ping_interval), ws, metrics  # type: ignore[arg-type]


def test_pushes_are_recognised_and_replies_are_not() -> None:
    assert is_push(encode("forecast", {"sensor_id": "1"}))
    assert is_push(encode("alert", {"sensor_id": "1"}))
    for reply in ("pong", "ping", "error", "subscribed", "snapshot"):
        assert not is_push(message(reply))


def test_frames_batch_runs_of_pushes_and_keep_order() -> None:
    f1, f2, a3 = encode("forecast", {"n": 1}), encode("forecast", {"n": 2}), encode("alert", {})
    pong = message("pong")
    out = [orjson.loads(f) for f in frames([f1, f2, pong, a3])]
    assert out == [
        {"type": "batch", "messages": [orjson.loads(f1), orjson.loads(f2)]},
        {"type": "pong"},
        orjson.loads(a3),  # a single push goes alone, unchanged
    ]
    assert batch([f1]) is f1


def test_dispatch_encodes_each_message_once_for_every_client() -> None:
    hub = Broadcaster(None, GatewayMetrics())  # type: ignore[arg-type]
    subs = [hub.add(None) for _ in range(3)]
    hub.dispatch(keys.FORECASTS_CHANNEL, make_forecast("4264").to_json())
    texts = [s.queue.get_nowait() for s in subs]
    assert texts[0] is texts[1] is texts[2]


def test_sender_sends_queued_pushes_as_one_batch() -> None:
    async def scenario() -> None:
        sess, ws, metrics = session()
        sub = Subscriber(None, 256, metrics)
        pushes = [encode("forecast", make_forecast("4264", flow=i).to_dict()) for i in range(5)]
        for text in pushes:
            sub.offer(text)
        sub.offer(message("pong"))
        sender = asyncio.create_task(sess._send_loop(sub))
        await asyncio.sleep(0.01)
        assert [orjson.loads(t)["type"] for t in ws.sent] == ["batch", "pong"]
        batched = orjson.loads(ws.sent[0])["messages"]
        assert [m["data"]["flow"] for m in batched] == [0.0, 1.0, 2.0, 3.0, 4.0]
        sub.offer(pushes[0])  # alone in the queue: sent alone, as before
        await asyncio.sleep(0.01)
        assert ws.sent[-1] == pushes[0]
        assert metrics.ws_pushed._value.get() == 7
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender

    asyncio.run(scenario())


def test_batches_are_capped() -> None:
    async def scenario() -> None:
        sub = Subscriber(None, 1024, GatewayMetrics())
        for i in range(MAX_BATCH + 10):
            sub.offer(encode("forecast", {"n": i}))
        first, second = await sub.take(MAX_BATCH), await sub.take(MAX_BATCH)
        assert (len(first), len(second)) == (MAX_BATCH, 10)

    asyncio.run(scenario())


def test_keepalive_pings_a_quiet_client_only() -> None:
    async def scenario() -> None:
        sess, ws, metrics = session(ping_interval=0.1)
        sub = Subscriber(None, 256, metrics)
        tasks = [
            asyncio.create_task(sess._send_loop(sub)),
            asyncio.create_task(sess._keepalive(sub)),
        ]
        await asyncio.sleep(0.25)
        assert ws.sent and {orjson.loads(t)["type"] for t in ws.sent} == {"ping"}
        pings = len(ws.sent)
        for _ in range(10):  # busy: a push every 20 ms, no ping needed
            sub.offer(encode("alert", {}))
            await asyncio.sleep(0.02)
        assert all(is_push(t) for t in ws.sent[pings + 1 :])  # (one ping may be in flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())


def test_slow_subscriber_is_still_flagged_with_take() -> None:
    async def scenario() -> None:
        sub = Subscriber(None, 8, GatewayMetrics())
        for i in range(8 * 2):
            sub.offer(encode("forecast", {"n": i}))
        assert sub.too_slow.is_set()
        taken: list[Any] = await sub.take(MAX_BATCH)
        assert [orjson.loads(t)["data"]["n"] for t in taken] == list(range(8, 16))
        assert sub.dropped_in_a_row == 0

    asyncio.run(scenario())
