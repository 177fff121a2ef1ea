"""Every error is JSON with a ``detail``; Redis trouble is a 503, never a hang or a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from api.store import StoredValueError

log = logging.getLogger(__name__)
REDIS_DOWN = "Redis is unavailable; try again shortly"


async def redis_error(_: Request, exc: Exception) -> JSONResponse:
    """Redis unreachable, timed out or failing: 503 with a retry hint."""
    log.warning("Redis error: %s", exc)
    return JSONResponse({"detail": REDIS_DOWN}, status_code=503, headers={"Retry-After": "5"})


async def stored_value_error(_: Request, exc: Exception) -> JSONResponse:
    """A worker-written value (outlook, status) is not valid: 503 naming it, no internals
    (logged where it was read, `api.store`)."""
    return JSONResponse({"detail": str(exc)}, status_code=503)


async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    """A bug: log it, answer JSON without internals."""
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RedisError, redis_error)
    app.add_exception_handler(StoredValueError, stored_value_error)
    app.add_exception_handler(Exception, unexpected_error)
