"""Every error is JSON with a ``detail``; Redis trouble is a 503, never a hang or a 500.

A 422 never echoes a secret: the ``input`` of a validation error is dropped when its field
looks sensitive (password, token, secret…) and scrubbed of such keys otherwise
(`scrub_errors`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from api.hashing import HasherBusyError
from api.store import StoredValueError
from flowcast import redaction

log = logging.getLogger(__name__)
REDIS_DOWN = "Redis is unavailable; try again shortly"
SENSITIVE = re.compile(r"(?i)pass|secret|token|credential|authorization")
MASK = "[REDACTED]"


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if SENSITIVE.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return redaction.redact(value)
    return value


def scrub_errors(errors: Sequence[Any]) -> list[Any]:
    """Validation errors without a sensitive ``input`` (nor ``ctx`` echoing it).

    >>> scrub_errors([{"loc": ["body", "password"], "msg": "too short", "input": "hunter2"}])
    [{'loc': ['body', 'password'], 'msg': 'too short'}]
    >>> scrub_errors([{"loc": ["body"], "input": {"username": "a", "password": "hunter2"}}])
    [{'loc': ['body'], 'input': {'username': 'a', 'password': '[REDACTED]'}}]
    """
    out = []
    for error in errors:
        if not isinstance(error, dict):
            out.append(error)
            continue
        clean = dict(error)
        if any(SENSITIVE.search(str(part)) for part in clean.get("loc", ())):
            clean.pop("input", None)
            clean.pop("ctx", None)
        elif "input" in clean:
            clean["input"] = _scrub(clean["input"])
        out.append(clean)
    return out


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    """422 with FastAPI's error list, minus anything secret."""
    assert isinstance(exc, RequestValidationError)
    detail = jsonable_encoder(scrub_errors(exc.errors()))
    return JSONResponse({"detail": detail}, status_code=422)


async def hasher_busy(_: Request, exc: Exception) -> JSONResponse:
    """Every password-hashing slot is taken: 503, retry in a second."""
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "1"})


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
    app.add_exception_handler(HasherBusyError, hasher_busy)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
