"""The FastAPI app factory: routes, dashboard, metrics, error handlers and the lifespan.

The lifespan connects Redis (socket timeouts: a dead Redis is a quick 503, never a hang),
bootstraps the admin account, and runs the single pub/sub `Broadcaster` task and the task that
re-checks open WebSocket sessions (`api.sessions`). In production it refuses weak or missing
secrets (`flowcast.secret_strength`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api import body_limit, errors, security_headers
from api.catalog import Catalog
from api.context import Gateway
from api.metrics import GatewayMetrics, MetricsMiddleware
from api.routes import (
    admin,
    alerts,
    auth,
    batch,
    evaluation,
    feed,
    forecasts,
    lifecycle,
    ops,
    predict,
    sensors,
    ws,
)
from api.security import resolve_jwt_secret
from api.users import bootstrap_admin
from flowcast import redaction
from flowcast.secret_strength import require_production_secrets
from flowcast.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SOCKET_TIMEOUT_S = 2.0
log = logging.getLogger(__name__)


def connect_redis(settings: Settings) -> Redis:
    """An async client with short socket timeouts (``redis_url`` or a local default)."""
    return Redis.from_url(
        settings.redis_url or DEFAULT_REDIS_URL,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )


def _lifespan(gateway: Gateway, owns_redis: bool):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        redaction.install()  # whatever configured logging, its handlers redact secrets
        try:
            await bootstrap_admin(gateway.users, gateway.settings)
        except RedisError as exc:
            log.error("could not bootstrap the admin account (Redis: %s)", exc)
        tasks = [
            asyncio.create_task(gateway.broadcaster.run(), name="flowcast-broadcaster"),
            asyncio.create_task(
                gateway.sessions.watch(gateway.users, gateway.settings.ws_auth_recheck_s),
                name="flowcast-session-recheck",
            ),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            gateway.users.hasher.close()
            await gateway.replay.stop()
            if owns_redis:
                await gateway.redis.aclose()

    return lifespan


def create_app(settings: Settings, redis: Redis | None = None) -> FastAPI:
    """Build a gateway app; ``redis`` (async client) defaults to one built from settings."""
    for secret in settings.secrets():
        redaction.register_secret(secret)
    require_production_secrets(settings, gateway=True)
    gateway = Gateway(
        settings=settings,
        redis=redis if redis is not None else connect_redis(settings),
        jwt_secret=resolve_jwt_secret(settings),
        metrics=GatewayMetrics(),
        catalog=Catalog(),
    )
    app = FastAPI(
        title="Flowcast gateway",
        version="0.1.0",
        description="Next-hour traffic forecasts for the Paris road counters, live.",
        lifespan=_lifespan(gateway, owns_redis=redis is None),
    )
    app.state.gateway = gateway
    for module in (
        auth,
        sensors,
        forecasts,
        batch,
        predict,
        evaluation,
        admin,
        ops,
        ws,
        alerts,
        lifecycle,
        feed,
    ):
        app.include_router(module.router)
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    errors.install(app)
    upload_limit = batch.MAX_BYTES + body_limit.MULTIPART_OVERHEAD
    limits = body_limit.BodyLimits({"/forecasts/batch": upload_limit})
    app.add_middleware(body_limit.BodySizeLimitMiddleware, limits=limits)
    app.add_middleware(MetricsMiddleware, metrics=gateway.metrics)
    security_headers.install(app, settings.cors_origins)  # CORS closed unless configured
    return app
