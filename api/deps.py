"""Dependencies of the routes, as ``Annotated`` aliases (full-stack-fastapi-template style).

``CurrentUser`` accepts any valid token of an existing account; ``AdminUser`` also requires the
admin role. The token's role must still be the account's role (a demoted or deleted account's
tokens stop working within a few seconds).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from api.context import Gateway
from api.security import Claims, Role, TokenError, decode_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
BEARER = {"WWW-Authenticate": "Bearer"}
SENSOR_PATTERN = r"^[A-Za-z0-9_.:-]+$"
SensorIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=SENSOR_PATTERN, examples=["4264"])
]


def get_gateway(conn: HTTPConnection) -> Gateway:
    """The app's `Gateway`."""
    gateway: Gateway = conn.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


class AuthError(Exception):
    """Authentication (401) or authorisation (403) failure, with the reason."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


async def authorise(gateway: Gateway, token: str | None, roles: frozenset[Role]) -> Claims:
    """Check ``token`` and that its account still exists with a role in ``roles``."""
    if not token:
        raise AuthError(status.HTTP_401_UNAUTHORIZED, "not authenticated")
    try:
        claims = decode_token(gateway.jwt_secret, token)
    except TokenError as exc:
        raise AuthError(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
    if await gateway.users.role_of(claims.username) != claims.role:
        raise AuthError(status.HTTP_401_UNAUTHORIZED, "token no longer valid for this account")
    if claims.role not in roles:
        raise AuthError(status.HTTP_403_FORBIDDEN, f"role {claims.role.value!r} not allowed")
    return claims


async def _require(gateway: Gateway, token: str | None, roles: frozenset[Role]) -> Claims:
    try:
        return await authorise(gateway, token, roles)
    except AuthError as exc:
        headers = BEARER if exc.status_code == status.HTTP_401_UNAUTHORIZED else None
        raise HTTPException(exc.status_code, exc.detail, headers=headers) from exc


async def current_user(
    gateway: GatewayDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Claims:
    """Any signed-in operator or admin."""
    return await _require(gateway, token, frozenset(Role))


async def admin_user(
    gateway: GatewayDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Claims:
    """An admin."""
    return await _require(gateway, token, frozenset({Role.ADMIN}))


CurrentUser = Annotated[Claims, Depends(current_user)]
AdminUser = Annotated[Claims, Depends(admin_user)]
