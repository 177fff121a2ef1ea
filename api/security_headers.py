"""Secure defaults for every HTTP response: security headers, and CORS closed unless configured.

`SecurityHeadersMiddleware` is pure ASGI (no per-request task or body buffering) and adds the
headers only when the application did not set them itself. Strict-Transport-Security is sent
only on HTTPS connections (browsers ignore it over plain HTTP, and sending it there could pin
a development host to HTTPS).

CORS: with no ``cors_origins`` configured no ``Access-Control-Allow-*`` header is ever sent,
so browsers keep the same-origin policy (the dashboard is served by the gateway itself).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def with_defaults(headers: list[tuple[bytes, bytes]], https: bool) -> list[tuple[bytes, bytes]]:
    """``headers`` plus every security header it does not already carry.

    >>> dict(with_defaults([(b"x-frame-options", b"SAMEORIGIN")], https=False))[b"x-frame-options"]
    b'SAMEORIGIN'
    >>> b"strict-transport-security" in dict(with_defaults([], https=True))
    True
    """
    present = {name.lower() for name, _ in headers}
    wanted = (*HEADERS, HSTS) if https else HEADERS
    return [*headers, *((n, v) for n, v in wanted if n not in present)]


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding `HEADERS` (and HSTS over HTTPS) to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_defaults(list(message.get("headers", [])), https)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, cors_origins: Sequence[str] = ()) -> None:
    """Add the security headers, and CORS for exactly ``cors_origins`` (none by default)."""
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
