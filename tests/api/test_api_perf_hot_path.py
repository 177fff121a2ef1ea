"""The fast forecast lookup keeps its guarantees: cached tokens still expire and still follow
the account, raw Redis bytes are served as stored, concurrent reads share one HMGET."""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import orjson
import pytest
import redis
from fastapi.testclient import TestClient
from gateway_helpers import OPERATOR_PASSWORD, auth, login, make_forecast
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api import security
from api.coalesce import HashReader
from api.security import Role, TokenCache, TokenError, issue_token
from flowcast import redis_keys as keys

SECRET = "a-test-secret-that-is-long-enough-0123456789"


def test_token_cache_verifies_once(monkeypatch: pytest.MonkeyPatch) -> None:
    cache, token = TokenCache(SECRET), issue_token(SECRET, "ops", Role.OPERATOR, expiry_minutes=5)
    calls: list[str] = []
    real = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("decode")
        return real(*args, **kwargs)

    monkeypatch.setattr(security.jwt, "decode", counting)
    first, second = cache.decode(token), cache.decode(token)
    assert first == second and (first.username, first.role) == ("ops", Role.OPERATOR)
    assert calls == ["decode"]


def test_cached_token_is_refused_once_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    cache, token = TokenCache(SECRET), issue_token(SECRET, "ops", Role.OPERATOR, expiry_minutes=1)
    exp = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="flowcast")["exp"]
    cache.decode(token)
    monkeypatch.setattr(security.time, "time", lambda: exp - 0.5)
    assert cache.decode(token).username == "ops"
    monkeypatch.setattr(security.time, "time", lambda: float(exp))
    with pytest.raises(TokenError, match="expired"):
        cache.decode(token)
    assert len(cache) == 0


def test_token_cache_is_a_bounded_lru_of_good_tokens_only() -> None:
    cache = TokenCache(SECRET, maxsize=2)
    a, b, c = (issue_token(SECRET, n, Role.OPERATOR, expiry_minutes=5) for n in "abc")
    cache.decode(a)
    cache.decode(b)
    cache.decode(a)  # a is now the most recent
    cache.decode(c)  # evicts b
    assert len(cache) == 2 and set(cache._entries) == {a, c}
    for bad in ("garbage", issue_token("another-secret-" * 3, "x", Role.ADMIN, expiry_minutes=5)):
        with pytest.raises(TokenError):
            cache.decode(bad)
    tampered = a[:-2] + ("AA" if not a.endswith("AA") else "BB")
    with pytest.raises(TokenError):
        cache.decode(tampered)
    assert set(cache._entries) == {a, c}


def test_cached_token_follows_role_changes_and_deletion(
    client: TestClient, admin_token: str
) -> None:
    body = {"username": "temp", "password": OPERATOR_PASSWORD, "role": "admin"}
    assert client.post("/admin/users", json=body, headers=auth(admin_token)).status_code == 201
    token = login(client, "temp", OPERATOR_PASSWORD)
    assert client.get("/admin/users", headers=auth(token)).status_code == 200  # now cached
    body["role"] = "operator"  # demoted: the admin token must stop working
    assert client.post("/admin/users", json=body, headers=auth(admin_token)).status_code == 201
    # the gateway that made the change forgets its cached account at once (other replicas
    # within `api.users.CACHE_SECONDS`)
    assert client.get("/admin/users", headers=auth(token)).status_code == 401
    assert client.delete("/admin/users/temp", headers=auth(admin_token)).status_code == 204
    assert client.get("/sensors", headers=auth(token)).status_code == 401


def test_latest_forecast_is_served_as_stored(
    client: TestClient, operator_token: str, redis_client: redis.Redis
) -> None:
    stored = make_forecast("4264", flow=123.5).to_json()
    redis_client.hset(keys.LATEST, "4264", stored)
    response = client.get("/forecasts/4264", headers=auth(operator_token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == (stored if isinstance(stored, bytes) else stored.encode())
    assert orjson.loads(response.content)["flow"] == 123.5


def test_malformed_stored_forecast_is_a_404_not_a_500(
    client: TestClient, operator_token: str, redis_client: redis.Redis
) -> None:
    for value in (b"not json", b"[1, 2]", b""):
        redis_client.hset(keys.LATEST, "4264", value)
        response = client.get("/forecasts/4264", headers=auth(operator_token))
        assert response.status_code == 404, value


def test_openapi_still_documents_the_forecast_and_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/forecasts/{sensor_id}"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ForecastOut"}
    assert "404" in operation["responses"]
    assert operation["security"] == [{"OAuth2PasswordBearer": []}]
    scheme = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/token"


def test_concurrent_reads_share_one_hmget(redis_url: str, redis_client: redis.Redis) -> None:
    redis_client.hset(keys.LATEST, mapping={"a": b'{"a":1}', "b": b'{"b":2}'})

    async def scenario() -> None:
        client = Redis.from_url(redis_url)
        calls: list[list[str]] = []
        real = client.hmget

        async def counting(key: str, fields: list[str]) -> Any:
            calls.append(list(fields))
            return await real(key, fields)

        client.hmget = counting  # type: ignore[method-assign]
        reader = HashReader(client, keys.LATEST)
        got = await asyncio.gather(*(reader.get(f) for f in ["a", "b", "a", "zz"]))
        assert got == [b'{"a":1}', b'{"b":2}', b'{"a":1}', None]
        assert calls == [["a", "b", "zz"]]
        assert await reader.get("b") == b'{"b":2}' and len(calls) == 2
        await client.aclose()

    asyncio.run(scenario())


def test_a_redis_error_reaches_every_waiting_reader() -> None:
    class Broken:
        async def hmget(self, key: str, fields: list[str]) -> Any:
            raise RedisError("down")

    async def scenario() -> None:
        reader = HashReader(Broken(), keys.LATEST)  # type: ignore[arg-type]
        results = await asyncio.gather(reader.get("a"), reader.get("b"), return_exceptions=True)
        assert all(isinstance(r, RedisError) for r in results)

    asyncio.run(scenario())
