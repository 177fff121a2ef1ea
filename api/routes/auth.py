"""``POST /auth/token``: OAuth2 password flow → signed JWT.

Limits are checked before any hashing (`api.ratelimit.LoginGuard`: failed attempts per
address and per (address, username), attempts in flight per address) and hashing runs on its
own bounded pool (`api.hashing.Hasher`: 503 when full). The answer is never cached.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import BEARER, GatewayDep
from api.hashing import HasherBusyError
from api.ratelimit import TooManyInFlightError
from api.schemas import ErrorOut, TokenOut
from api.security import issue_token

router = APIRouter(prefix="/auth", tags=["auth"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _refused(code: int, detail: str, retry_after: float) -> HTTPException:
    headers = {"Retry-After": str(max(1, math.ceil(retry_after))), **NO_STORE}
    return HTTPException(code, detail, headers=headers)


@router.post(
    "/token",
    responses={
        401: {"model": ErrorOut, "description": "wrong username or password"},
        429: {"model": ErrorOut, "description": "too many failed attempts; see Retry-After"},
        503: {"model": ErrorOut, "description": "too many logins in progress; see Retry-After"},
    },
)
async def login(
    request: Request,
    response: Response,
    gateway: GatewayDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    """Exchange username and password (form fields) for a bearer token."""
    response.headers.update(NO_STORE)
    client = request.client.host if request.client else "unknown"
    guard, username, outcomes = gateway.login_guard, form.username, gateway.metrics.logins
    wait = guard.retry_after(client, username)
    if wait > 0:
        outcomes.labels("limited").inc()
        raise _refused(429, "too many failed login attempts; try again later", wait)
    try:
        async with guard.attempt(client):
            if guard.retry_after(client, username) > 0:  # failures counted while it waited
                outcomes.labels("limited").inc()
                raise _refused(429, "too many failed login attempts; try again later", 1)
            found = await gateway.users.authenticate(username, form.password)
    except TooManyInFlightError as exc:
        outcomes.labels("limited").inc()
        raise _refused(429, str(exc), 1) from exc
    except HasherBusyError as exc:
        outcomes.labels("busy").inc()
        raise _refused(503, str(exc), 1) from exc
    if found is None:
        outcomes.labels("failed").inc()
        guard.failed(client, username)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong username or password", {**BEARER, **NO_STORE}
        )
    outcomes.labels("ok").inc()
    guard.succeeded(client, username)
    user, version = found
    minutes = gateway.settings.jwt_expiry_minutes
    token = issue_token(
        gateway.jwt_secret, user.username, user.role, expiry_minutes=minutes, version=version
    )
    return TokenOut(access_token=token, expires_in=minutes * 60, role=user.role)
