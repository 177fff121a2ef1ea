"""Prometheus metrics of one gateway, in a registry of its own (one per app instance).

Requests are labelled by route *template* (``/forecasts/{sensor_id}``), never by raw path, so
the label set stays bounded whatever clients send.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowcast.records import parse_utc


class GatewayMetrics:
    """The gateway's instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "flowcast_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "flowcast_http_request_seconds",
            "HTTP request latency by route template",
            ["route", "method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.ws_clients = Gauge(
            "flowcast_ws_clients", "Connected WebSocket clients", registry=self.registry
        )
        self.ws_pushed = Counter(
            "flowcast_ws_messages_pushed",
            "Messages sent to WebSocket clients",
            registry=self.registry,
        )
        self.ws_dropped = Counter(
            "flowcast_ws_messages_dropped",
            "Messages dropped because a client's queue was full",
            registry=self.registry,
        )
        self.ws_kicked = Counter(
            "flowcast_ws_slow_disconnects",
            "WebSocket clients disconnected for being too slow",
            registry=self.registry,
        )
        self.logins = Counter(
            "flowcast_login_attempts",
            "Login attempts by outcome: ok, failed (hashed, wrong), limited (429 before "
            "hashing), busy (503, every hashing slot taken)",
            ["outcome"],
            registry=self.registry,
        )
        self.ws_revoked = Counter(
            "flowcast_ws_revoked",
            "WebSocket sessions closed with 4401 (token expired or revoked)",
            registry=self.registry,
        )
        self.forecast_age = Gauge(
            "flowcast_newest_forecast_age_seconds",
            "Seconds since the newest forecast seen by this gateway was produced",
            registry=self.registry,
        )
        self.newest_produced_at: datetime | None = None

    def saw_forecast(self, produced_at: str | None) -> None:
        """Remember the newest ``produced_at`` (wire form) among forecasts seen."""
        if not isinstance(produced_at, str):
            return
        try:
            value = parse_utc(produced_at)
        except ValueError:
            return
        if self.newest_produced_at is None or value > self.newest_produced_at:
            self.newest_produced_at = value

    def refresh(self) -> None:
        """Update the gauges computed at scrape time."""
        if self.newest_produced_at is not None:
            age = (datetime.now(UTC) - self.newest_produced_at).total_seconds()
            self.forecast_age.set(max(age, 0.0))


class MetricsMiddleware:
    """Pure ASGI middleware: count and time every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(time.perf_counter() - start)
