"""Serve the gateway with uvicorn (uvloop and httptools when installed)."""

from __future__ import annotations

import importlib.util

import uvicorn

from api.main import create_app
from flowcast.settings import Settings


def run_api(settings: Settings) -> None:
    """Run one gateway on ``settings.api_host:api_port`` until interrupted."""
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        loop="uvloop" if has_uvloop else "asyncio",
        ws="websockets-sansio",
        ws_max_size=64 * 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        proxy_headers=False,
        log_level="info",
    )
