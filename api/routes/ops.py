"""Operations: ``/health`` (liveness), ``/ready`` (Redis reachable), ``/metrics`` (Prometheus).

These answer without a token so that orchestrators and Prometheus can call them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from api.deps import GatewayDep
from api.schemas import ErrorOut, StatusOut

router = APIRouter(tags=["ops"])


@router.get("/health")
async def health() -> StatusOut:
    """The process is alive."""
    return StatusOut(status="ok")


@router.get(
    "/ready",
    response_model=StatusOut,
    responses={503: {"model": ErrorOut, "description": "Redis unreachable"}},
)
async def ready(gateway: GatewayDep) -> Any:
    """Redis answers a PING."""
    try:
        await gateway.redis.ping()
    except (RedisError, OSError):
        return JSONResponse(
            {"detail": "Redis unreachable"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
        )
    return StatusOut(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"example": "flowcast_ws_clients 3.0\n"}}}},
)
async def metrics(gateway: GatewayDep) -> Response:
    """Prometheus text exposition of this gateway's metrics."""
    gateway.metrics.refresh()
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)
