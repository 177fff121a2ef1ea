"""Fixtures of the gateway tests: an app on the session's real Redis, tokens for each role.

``redis_url`` and ``redis_client`` (flushed before each test) come from ``tests/conftest.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import pytest
import redis
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; httpx still works (see report).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from gateway_helpers import ADMIN_PASSWORD, OPERATOR_PASSWORD, PLACES, auth, login

from api.main import create_app
from flowcast import redis_keys as keys
from flowcast.records import Forecast, Reading
from flowcast.settings import Settings


@pytest.fixture
def settings(redis_url: str) -> Settings:
    """Gateway settings on the session Redis, with a known admin and secret."""
    return Settings(
        redis_url=redis_url,
        admin_user="admin",
        admin_password=ADMIN_PASSWORD,
        jwt_secret="a-test-secret-that-is-long-enough-0123456789",
        history_hours=24 * 14,
    )


@pytest.fixture
def app(settings: Settings, redis_client: redis.Redis) -> FastAPI:
    """A gateway app on a flushed Redis, with a small preset sensor catalog."""
    application = create_app(settings)
    application.state.gateway.catalog.preset(PLACES)
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A TestClient with the lifespan running (admin bootstrapped, broadcaster started)."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def admin_token(client: TestClient) -> str:
    return login(client, "admin", ADMIN_PASSWORD)


@pytest.fixture
def operator_token(client: TestClient, admin_token: str) -> str:
    response = client.post(
        "/admin/users",
        json={"username": "ops", "password": OPERATOR_PASSWORD, "role": "operator"},
        headers=auth(admin_token),
    )
    assert response.status_code == 201, response.text
    return login(client, "ops", OPERATOR_PASSWORD)


@pytest.fixture
def seed(redis_client: redis.Redis) -> Callable[..., None]:
    """Write forecasts / readings / history into Redis per the contract in redis_keys."""

    def _seed(
        forecasts: list[Forecast] = (),  # type: ignore[assignment]
        readings: list[Reading] = (),  # type: ignore[assignment]
    ) -> None:
        for forecast in forecasts:
            redis_client.hset(keys.LATEST, forecast.sensor_id, forecast.to_json())
        for reading in readings:
            redis_client.hset(keys.LAST_READING, reading.sensor_id, reading.to_json())

    return _seed
