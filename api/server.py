"""Serve the gateway with uvicorn: uvloop and httptools when installed, optional TLS, N workers.

- TLS: ``tls_certfile`` + ``tls_keyfile`` (PEM) make uvicorn serve HTTPS/WSS. In production
  the gateway refuses to start without them unless ``tls_offloaded`` says a reverse proxy
  terminates TLS in front of it.
- ``api_access_log`` (off by default): one log line per request costs ~30 % of the throughput
  of a small endpoint; Prometheus ``/metrics`` already counts requests by route and status.
- ``api_workers`` > 1 runs that many processes on one socket. Each builds its app from the
  same environment (`app_from_env`) and has its own Redis pub/sub subscription, WebSocket
  clients and login rate limiter (so the login limit is per process: N workers allow up to N
  times the attempts). Accounts live in Redis and are shared; the JWT secret must then be set
  (``FLOWCAST_JWT_SECRET``) so every process accepts the others' tokens.
- After the app is built its objects (and every imported module's) are moved out of the
  garbage collector's reach (``gc.freeze``): a full collection otherwise walks ~80k long-lived
  objects, a ~40–100 ms pause of every request in flight, several times a second under load.
  Collections are also made rarer (`GC_THRESHOLDS`): a thousand WebSocket sessions are many
  long-lived objects too, and each full collection paused a fan-out for 25–180 ms.
- Logging: uvicorn's own configuration, with a `flowcast.redaction.RedactingFilter` on every
  handler and a root handler for the gateway's own loggers (`log_config`): no line shows a
  token or a secret, even uvicorn's ``WebSocket /ws/forecasts?token=…`` line.
- WebSocket permessage-deflate is off: each pushed message would otherwise be compressed once
  per client, the largest per-client cost of the fan-out, for ~300-byte messages.
"""

from __future__ import annotations

import copy
import gc
import importlib.util
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from api.main import create_app
from flowcast.settings import Settings, get_settings

GC_THRESHOLDS = (10_000, 10, 100)  # CPython's defaults: (700, 10, 10)


def tls_options(settings: Settings) -> dict[str, str]:
    """uvicorn's ``ssl_certfile`` / ``ssl_keyfile``, or none; ``ValueError`` if unsafe or wrong.

    >>> tls_options(Settings(environment="dev"))
    {}
    """
    cert, key = settings.tls_certfile, settings.tls_keyfile
    if (cert is None) != (key is None):
        raise ValueError("set both FLOWCAST_TLS_CERTFILE and FLOWCAST_TLS_KEYFILE, or neither")
    if cert is None or key is None:
        if settings.environment == "production" and not settings.tls_offloaded:
            raise ValueError(
                "refusing to serve plain HTTP in production: set FLOWCAST_TLS_CERTFILE and "
                "FLOWCAST_TLS_KEYFILE, or FLOWCAST_TLS_OFFLOADED=true if a reverse proxy "
                "terminates TLS in front of the gateway"
            )
        return {}
    for name, path in (("FLOWCAST_TLS_CERTFILE", cert), ("FLOWCAST_TLS_KEYFILE", key)):
        if not path.is_file():
            raise ValueError(f"{name}={path} is not a file")
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with the redacting filter on every handler, and the
    root logger (the gateway's own loggers) on uvicorn's ``default`` handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "flowcast.redaction.RedactingFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["root"] = {"handlers": ["default"], "level": "INFO"}
    return config


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Everything `run_api` passes to ``uvicorn.run`` but the app (checks TLS first)."""
    tls = tls_options(settings)
    if settings.api_workers > 1 and not (settings.jwt_secret or "").strip():
        raise ValueError(
            "FLOWCAST_API_WORKERS > 1 needs FLOWCAST_JWT_SECRET: each worker process would "
            "otherwise sign and check tokens with its own random secret"
        )
    has = {name: importlib.util.find_spec(name) is not None for name in ("uvloop", "httptools")}
    return {
        "host": settings.api_host,
        "port": settings.api_port,
        "workers": settings.api_workers,
        "loop": "uvloop" if has["uvloop"] else "asyncio",
        "http": "httptools" if has["httptools"] else "h11",
        "ws": "websockets-sansio",
        "ws_max_size": 64 * 1024,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "ws_per_message_deflate": False,
        # behind the TLS-terminating proxy, the client's address and scheme come from its
        # X-Forwarded-* headers (login limits per real client, HSTS on HTTPS), trusted only
        # from ``forwarded_allow_ips``; without a proxy, no header is trusted
        "proxy_headers": settings.tls_offloaded,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "access_log": settings.api_access_log,
        "log_config": log_config(),
        "log_level": "info",
        **tls,
    }


def frozen_app(settings: Settings) -> FastAPI:
    """`create_app`; then full collections skip the startup heap, and happen less often."""
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app


def app_from_env() -> FastAPI:
    """The app of one worker process when ``api_workers`` > 1 (settings from the env)."""
    return frozen_app(get_settings())


def run_api(settings: Settings) -> None:
    """Run the gateway on ``settings.api_host:api_port`` until interrupted."""
    options = uvicorn_options(settings)
    if settings.api_workers > 1:  # uvicorn spawns the workers: it needs an import string
        uvicorn.run("api.server:app_from_env", factory=True, **options)
    else:
        uvicorn.run(frozen_app(settings), **options)
