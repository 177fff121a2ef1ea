"""Secure defaults of the gateway: security headers on every response, CORS closed by default."""

from __future__ import annotations

import warnings

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from gateway_helpers import auth

from api import security_headers

pytestmark = pytest.mark.integration
EVIL = "https://evil.example"


@pytest.mark.parametrize("path", ["/health", "/", "/app.js", "/sensors", "/no-such-page"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    for name, value in security_headers.HEADERS:
        assert response.headers[name.decode()] == value.decode(), (path, name)
    assert "strict-transport-security" not in response.headers  # plain HTTP


def test_hsts_only_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as https_client:
        response = https_client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_cors_is_closed_by_default(client: TestClient, admin_token: str) -> None:
    preflight = client.options(
        "/sensors",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"},
    )
    simple = client.get("/sensors", headers={"Origin": EVIL, **auth(admin_token)})
    for response in (preflight, simple):
        assert not [h for h in response.headers if h.startswith("access-control-")]


def test_cors_allows_exactly_the_configured_origins() -> None:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    security_headers.install(app, ["https://ops.example"])
    with TestClient(app) as client:
        allowed = client.options(
            "/ping",
            headers={"Origin": "https://ops.example", "Access-Control-Request-Method": "GET"},
        )
        refused = client.get("/ping", headers={"Origin": EVIL})
    assert allowed.headers["access-control-allow-origin"] == "https://ops.example"
    assert allowed.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in refused.headers
