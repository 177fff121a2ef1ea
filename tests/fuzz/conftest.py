"""The gateway the fuzz tests hit: the real app on the session Redis, tokens of every kind."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import jwt
import pytest
import redis
from fuzz_gateway import ADMIN_PASSWORD, SECRET, Gateway
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from api.main import create_app
from flowcast.settings import Settings


@pytest.fixture(scope="module")
def gateway(redis_url: str) -> Iterator[Gateway]:
    """The app, a client with its lifespan running, and the tokens to try on every call."""
    redis.Redis.from_url(redis_url).flushall()
    app = create_app(
        Settings(redis_url=redis_url, admin_password=ADMIN_PASSWORD, jwt_secret=SECRET)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        client = TestClient(app)
    with client:
        form = {"username": "admin", "password": ADMIN_PASSWORD}
        admin = client.post("/auth/token", data=form).json()["access_token"]
        user = {"username": "fuzz-operator", "password": "operator-pass-123", "role": "operator"}
        client.post("/admin/users", json=user, headers={"Authorization": f"Bearer {admin}"})
        form = {"username": user["username"], "password": user["password"]}
        operator = client.post("/auth/token", data=form).json()["access_token"]
        forged = jwt.encode({"sub": "admin", "role": "admin"}, "not-the-secret-" * 4, "HS256")
        tokens = {"admin": admin, "operator": operator, "forged": forged, "none": None}
        yield app, client, tokens
