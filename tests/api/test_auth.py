"""Authentication and authorisation: login, tokens, roles, on every route of the schema."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from gateway_helpers import ADMIN_PASSWORD, OPERATOR_PASSWORD, auth, login

from api.main import create_app
from api.security import Role, issue_token, resolve_jwt_secret
from flowcast.settings import Settings

PUBLIC = {("/auth/token", "post"), ("/health", "get"), ("/ready", "get")}
SECRET = "a-test-secret-that-is-long-enough-0123456789"


def schema_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (path, method) the OpenAPI schema lists."""
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return [(path, method) for path, ops in paths.items() for method in ops]


def concrete(path: str) -> str:
    """Fill path parameters with a plausible value."""
    return re.sub(r"\{[^}]+\}", "4264", path)


def call(client: TestClient, path: str, method: str, headers: dict[str, str] | None = None):
    return client.request(method.upper(), concrete(path), headers=headers or {})


def test_schema_lists_the_expected_routes(client: TestClient) -> None:
    routes = set(schema_routes(client))
    assert ("/forecasts/latest", "get") in routes
    assert ("/admin/users/{username}", "delete") in routes
    assert len(routes) >= 18


def test_every_non_public_route_needs_a_token(client: TestClient) -> None:
    checked = 0
    for path, method in schema_routes(client):
        if (path, method) in PUBLIC:
            continue
        response = call(client, path, method)
        assert response.status_code == 401, (path, method, response.text)
        assert response.json()["detail"] == "not authenticated"
        assert response.headers["www-authenticate"] == "Bearer"
        checked += 1
    assert checked >= 14


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(
            lambda: issue_token(
                "another-secret-of-enough-length-000000", "admin", Role.ADMIN, expiry_minutes=5
            ),
            id="wrong-signature",
        ),
        pytest.param(
            lambda: jwt.encode(
                {
                    "sub": "admin",
                    "role": "admin",
                    "iss": "flowcast",
                    "exp": datetime.now(UTC) - timedelta(minutes=1),
                },
                SECRET,
                algorithm="HS256",
            ),
            id="expired",
        ),
        pytest.param(
            lambda: jwt.encode(
                {
                    "sub": "admin",
                    "role": "admin",
                    "iss": "flowcast",
                    "exp": datetime.now(UTC) + timedelta(minutes=5),
                },
                "",
                algorithm="none",
            ),
            id="alg-none",
        ),
        pytest.param(
            lambda: jwt.encode({"sub": "admin", "role": "admin", "iss": "flowcast"}, SECRET),
            id="no-expiry",
        ),
    ],
)
def test_bad_tokens_are_401_everywhere(client: TestClient, make_token) -> None:
    headers = auth(make_token())
    for path, method in schema_routes(client):
        if (path, method) in PUBLIC:
            continue
        response = call(client, path, method, headers)
        assert response.status_code == 401, (path, method, response.text)


def test_tampered_token_is_401(client: TestClient, operator_token: str) -> None:
    header, _payload, signature = operator_token.split(".")
    claims = jwt.decode(operator_token, options={"verify_signature": False})
    claims["role"] = "admin"
    forged_payload = jwt.encode(claims, "x" * 40).split(".")[1]
    forged = f"{header}.{forged_payload}.{signature}"
    assert client.get("/admin/users", headers=auth(forged)).status_code == 401
    assert client.get("/admin/users", headers=auth(operator_token)).status_code == 403


def test_operator_is_403_on_every_admin_route(client: TestClient, operator_token: str) -> None:
    admin_routes = [(p, m) for p, m in schema_routes(client) if p.startswith("/admin")]
    assert len(admin_routes) >= 5
    for path, method in admin_routes:
        response = call(client, path, method, auth(operator_token))
        assert response.status_code == 403, (path, method, response.text)
        assert "not allowed" in response.json()["detail"]


def test_operator_reaches_operator_routes(client: TestClient, operator_token: str) -> None:
    for path in ("/sensors", "/forecasts/latest"):
        assert client.get(path, headers=auth(operator_token)).status_code == 200


def test_public_routes_answer_without_token(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200


def test_metrics_need_the_scrape_token_or_an_admin(
    settings: Settings, redis_client, operator_token: str, admin_token: str
) -> None:
    scrape = "a-scrape-token-that-is-long-and-random-5a1f"
    with TestClient(create_app(settings.model_copy(update={"metrics_token": scrape}))) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers=auth(scrape[:-1] + "x")).status_code == 401
        assert c.get("/metrics", headers=auth(operator_token)).status_code == 403
        assert c.get("/metrics", headers=auth(admin_token)).status_code == 200
        scraped = c.get("/metrics", headers=auth(scrape))
        assert scraped.status_code == 200 and "flowcast_ws_clients" in scraped.text


def test_login_returns_a_verifiable_token(client: TestClient) -> None:
    response = client.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer" and body["role"] == "admin"
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"], issuer="flowcast")
    assert claims["sub"] == "admin" and claims["role"] == "admin"
    assert claims["exp"] > datetime.now(UTC).timestamp()


def test_wrong_password_and_unknown_user_are_401(client: TestClient) -> None:
    for username, password in (("admin", "wrong-password"), ("nobody", ADMIN_PASSWORD)):
        response = client.post("/auth/token", data={"username": username, "password": password})
        assert response.status_code == 401
        assert response.json()["detail"] == "wrong username or password"


def test_login_is_rate_limited_per_user_and_client(client: TestClient) -> None:
    codes = [
        client.post("/auth/token", data={"username": "admin", "password": "bad"}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    blocked = client.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 60
    other = client.post("/auth/token", data={"username": "ops", "password": "whatever"})
    assert other.status_code == 401


def test_deleted_account_token_stops_working(client: TestClient, admin_token: str) -> None:
    client.post(
        "/admin/users",
        json={"username": "temp", "password": OPERATOR_PASSWORD, "role": "operator"},
        headers=auth(admin_token),
    )
    token = login(client, "temp", OPERATOR_PASSWORD)
    assert client.get("/sensors", headers=auth(token)).status_code == 200
    assert client.delete("/admin/users/temp", headers=auth(admin_token)).status_code == 204
    # deleted through this gateway: refused at once, no cache to wait for
    assert client.get("/sensors", headers=auth(token)).status_code == 401


def test_admin_cannot_delete_itself(client: TestClient, admin_token: str) -> None:
    response = client.delete("/admin/users/admin", headers=auth(admin_token))
    assert response.status_code == 409


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short", "password", "a" * 32])
def test_production_refuses_missing_or_weak_secret(secret: str | None, redis_url: str) -> None:
    settings = Settings(environment="production", jwt_secret=secret, redis_url=redis_url)
    with pytest.raises(ValueError, match="FLOWCAST_JWT_SECRET"):
        create_app(settings)


def test_dev_generates_a_random_secret_per_process() -> None:
    first, second = (resolve_jwt_secret(Settings(jwt_secret=None)) for _ in range(2))
    assert first != second and len(first) >= 32
