"""``POST /auth/token``: OAuth2 password flow → signed JWT, rate-limited per user and client."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import BEARER, GatewayDep
from api.schemas import ErrorOut, TokenOut
from api.security import issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    responses={
        401: {"model": ErrorOut, "description": "wrong username or password"},
        429: {"model": ErrorOut, "description": "too many attempts; see Retry-After"},
    },
)
async def login(
    request: Request,
    gateway: GatewayDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    """Exchange username and password (form fields) for a bearer token."""
    client = request.client.host if request.client else "unknown"
    wait = gateway.login_limiter.hit(f"{form.username}|{client}")
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many login attempts; try again later",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    user = await gateway.users.authenticate(form.username, form.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password", BEARER)
    minutes = gateway.settings.jwt_expiry_minutes
    token = issue_token(gateway.jwt_secret, user.username, user.role, expiry_minutes=minutes)
    return TokenOut(access_token=token, expires_in=minutes * 60, role=user.role)
