"""Dependencies of the routes, as ``Annotated`` aliases (full-stack-fastapi-template style).

``CurrentUser`` accepts any valid token of an existing account; ``AdminUser`` also requires the
admin role. The token's role and token version must still be the account's (a deleted
account's tokens, and those issued before a password or role change, stop working within a
few seconds on every replica: `api.users.CACHE_SECONDS`; at once on the replica that made the
change).

Every dependency here is ``async def``: FastAPI runs a sync dependency in a worker thread,
a needless hop per request on the hot path. A token's signature is verified once, then its
claims are served from the gateway's `api.security.TokenCache` until it expires.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection, Request

from api.context import Gateway
from api.security import Claims, Role, TokenError
from flowcast.records import SENSOR_ID_PATTERN

TOKEN_URL = "/auth/token"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
BEARER = {"WWW-Authenticate": "Bearer"}
SensorIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=SENSOR_ID_PATTERN, examples=["4264"])
]


def get_gateway(conn: HTTPConnection) -> Gateway:
    """The app's `Gateway` (a plain function, for handlers that have the connection)."""
    gateway: Gateway = conn.app.state.gateway
    return gateway


async def gateway_dependency(conn: HTTPConnection) -> Gateway:
    """`get_gateway` as an async dependency (no threadpool hop)."""
    return get_gateway(conn)


GatewayDep = Annotated[Gateway, Depends(gateway_dependency)]


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
        claims = gateway.tokens.decode(token)
    except TokenError as exc:
        raise AuthError(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
    account = await gateway.users.account(claims.username)
    if account is None or (account.role, account.version) != (claims.role, claims.version):
        raise AuthError(status.HTTP_401_UNAUTHORIZED, "token no longer valid for this account")
    if claims.role not in roles:
        raise AuthError(status.HTTP_403_FORBIDDEN, f"role {claims.role.value!r} not allowed")
    return claims


async def require(gateway: Gateway, token: str | None, roles: frozenset[Role]) -> Claims:
    """`authorise`, its failures as HTTP 401 (with ``WWW-Authenticate``) / 403."""
    try:
        return await authorise(gateway, token, roles)
    except AuthError as exc:
        headers = BEARER if exc.status_code == status.HTTP_401_UNAUTHORIZED else None
        raise HTTPException(exc.status_code, exc.detail, headers=headers) from exc


class BearerUser(OAuth2PasswordBearer):
    """The OAuth2 bearer scheme that also checks the token: one dependency, not three.

    It is the ``OAuth2PasswordBearer`` security scheme of the OpenAPI document, as before; its
    call reads the ``Authorization: Bearer`` header and returns the `Claims` of an existing
    account whose role is in ``roles`` (401/403 otherwise). One dependency instead of a chain
    (gateway → scheme → check) saves FastAPI's per-request solving of each link.
    """

    def __init__(self, roles: frozenset[Role]) -> None:
        super().__init__(
            tokenUrl=TOKEN_URL,
            scheme_name=oauth2_scheme.scheme_name,  # the same scheme in the OpenAPI document
            auto_error=False,
        )
        self.roles = roles

    async def __call__(self, request: Request) -> Claims:  # type: ignore[override]
        """The verified claims of the request's bearer token."""
        token = await super().__call__(request)
        return await require(get_gateway(request), token, self.roles)


ADMIN_ONLY = frozenset({Role.ADMIN})
current_user = BearerUser(frozenset(Role))  # any signed-in operator or admin
admin_user = BearerUser(ADMIN_ONLY)  # an admin
CurrentUser = Annotated[Claims, Depends(current_user)]
AdminUser = Annotated[Claims, Depends(admin_user)]
