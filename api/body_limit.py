"""Request bodies bounded as they arrive: a 413 before a large body is read, or spooled to disk.

Starlette's multipart parser writes an uploaded file to a temporary file while it arrives,
before the route can look at its size. So the bound is applied here, at the ASGI layer:

- a declared ``Content-Length`` over the limit is refused before one byte of body is read;
- a body sent without one (chunked) is cut off as soon as it passes the limit: reading past
  it raises a 413 ``HTTPException`` inside the application, which answers it as JSON.

The limit is per path prefix (`BodyLimits`): the CSV upload route gets room for its file, every
other route a small bound (their bodies are a login form or a few fields of JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
DEFAULT_LIMIT = 64 * KIB
MULTIPART_OVERHEAD = 16 * KIB  # boundaries and part headers around an uploaded file


@dataclass(frozen=True)
class BodyLimits:
    """The largest body accepted, by path prefix (longest prefix wins), else ``default``.

    >>> limits = BodyLimits({"/forecasts/batch": 2048})
    >>> limits.for_path("/forecasts/batch"), limits.for_path("/auth/token")
    (2048, 65536)
    """

    by_prefix: Mapping[str, int] = field(default_factory=dict)
    default: int = DEFAULT_LIMIT

    def for_path(self, path: str) -> int:
        matches = [prefix for prefix in self.by_prefix if path.startswith(prefix)]
        return self.by_prefix[max(matches, key=len)] if matches else self.default


def too_large(limit: int) -> str:
    return f"request body larger than {limit // KIB} KiB"


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` (None when absent or not a number)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimitMiddleware:
    """Pure ASGI: refuses or cuts off HTTP request bodies larger than their path's limit."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            response = JSONResponse(
                {"detail": too_large(limit)},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large(limit))
            return message

        await self.app(scope, bounded_receive, send)
