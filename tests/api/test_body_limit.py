"""Request bodies are bounded before they are read: an oversized upload never reaches the disk.

The unit tests drive the pure ASGI middleware with a recording application; the integration
test talks HTTP to a real uvicorn server on loopback, which before this middleware waited
for the whole declared body (or spooled it to a temporary file) before answering 413.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from gateway_helpers import serving
from starlette.types import Message, Receive, Scope, Send

from api.body_limit import BodyLimits, BodySizeLimitMiddleware
from api.routes.batch import MAX_BYTES
from flowcast.settings import Settings


class RecordingApp:
    """An ASGI app that reads the whole body, then answers 200 with its size."""

    def __init__(self) -> None:
        self.calls = 0
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        more = True
        while more:
            message = await receive()
            self.read += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(self.read).encode()})


def run(
    app: Any, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[list[Message], BaseException | None]:
    """Call ``app`` with a request made of ``chunks``; (messages sent, exception raised)."""
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    queue = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return queue.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        asyncio.run(app(scope, receive, send))
    except Exception as exc:
        return sent, exc
    return sent, None


def test_a_declared_oversized_body_is_refused_before_the_app_runs() -> None:
    inner = RecordingApp()
    app = BodySizeLimitMiddleware(inner, BodyLimits({"/upload": 1000}, default=10))
    sent, error = run(app, "/upload", [b"x" * 10], [(b"content-length", b"1001")])
    assert error is None
    assert sent[0]["status"] == 413
    assert b"larger than" in sent[1]["body"]
    assert inner.calls == 0


def test_an_undeclared_body_is_cut_off_once_it_passes_the_limit() -> None:
    inner = RecordingApp()
    app = BodySizeLimitMiddleware(inner, BodyLimits({"/upload": 1000}))
    _, error = run(app, "/upload", [b"x" * 600] * 5, [])
    assert getattr(error, "status_code", None) == 413
    assert inner.read == 600  # the second chunk, which passed the limit, was never handed over


def test_bodies_within_the_limit_pass_unchanged_and_limits_follow_the_path() -> None:
    inner = RecordingApp()
    app = BodySizeLimitMiddleware(inner, BodyLimits({"/upload": 1000}, default=100))
    sent, error = run(app, "/upload", [b"x" * 500, b"y" * 500], [(b"content-length", b"1000")])
    assert (error, sent[0]["status"], sent[1]["body"]) == (None, 200, b"1000")
    sent, _ = run(app, "/auth/token", [b"x" * 101], [(b"content-length", b"101")])
    assert sent[0]["status"] == 413


@pytest.fixture
def live_gateway(settings: Settings, app: FastAPI) -> Iterator[int]:
    """The gateway app served by a real uvicorn server on a free loopback port."""
    with serving(app, lifespan="on") as port:
        yield port


@pytest.mark.integration
def test_the_gateway_answers_413_without_waiting_for_a_huge_declared_upload(
    live_gateway: int,
) -> None:
    declared = 64 * MAX_BYTES  # 128 MiB announced, none of it sent
    request = (
        "POST /forecasts/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live_gateway), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)  # a server waiting for the body times out here
            if not chunk:
                break
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"detail":"request body larger than' in rest
    assert b"x-content-type-options: nosniff" in rest.lower()
