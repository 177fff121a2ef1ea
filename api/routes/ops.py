"""Operations: ``/health`` (liveness), ``/ready`` (Redis reachable), ``/metrics`` (Prometheus).

``/health`` and ``/ready`` answer without a token (orchestrators probe them). ``/metrics`` is
not public: it needs ``Authorization: Bearer`` with the scrape credential
``FLOWCAST_METRICS_TOKEN`` (what Prometheus sends, from a file) or an admin's token. A bearer
credential on the same port rather than a second listener: with ``api_workers`` > 1 every
process serves its own registry on the one shared socket, and a second port per process could
not be shared; the scrape credential is a static random secret that opens nothing else.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from api.deps import ADMIN_ONLY, GatewayDep, oauth2_scheme, require
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


async def scraper(
    gateway: GatewayDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> None:
    """The scrape credential (constant-time compare), else an admin token (401/403)."""
    expected = gateway.settings.metrics_token
    if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    await require(gateway, token, ADMIN_ONLY)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"example": "flowcast_ws_clients 3.0\n"}}},
        401: {"model": ErrorOut, "description": "no or bad credential"},
        403: {"model": ErrorOut, "description": "not an admin"},
    },
)
async def metrics(gateway: GatewayDep, _: Annotated[None, Depends(scraper)]) -> Response:
    """Prometheus text exposition of this gateway's metrics (scrape credential or admin)."""
    gateway.metrics.refresh()
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)
