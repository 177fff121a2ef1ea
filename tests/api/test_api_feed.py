"""``GET /feed``: the live feed's freshness as ``flowcast live`` wrote it, behind a token."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import redis
from fastapi.testclient import TestClient
from gateway_helpers import auth

from flowcast import redis_keys as keys
from producers.live.status import FeedStatus

SOURCE = "https://opendata.paris.fr/api/explore/v2.1/catalog/datasets/x/records"


def test_feed_status_is_served_as_the_poller_wrote_it(
    client: TestClient, redis_client: redis.Redis, operator_token: str
) -> None:
    assert client.get("/feed").status_code == 401
    missing = client.get("/feed", headers=auth(operator_token))
    assert missing.status_code == 404 and "no live feed" in missing.json()["detail"]

    status = FeedStatus(SOURCE, every_s=600.0)
    status.succeeded(
        datetime(2026, 6, 21, 10, 32, tzinfo=UTC), datetime(2026, 6, 21, 9, tzinfo=UTC)
    )
    status.failed(
        datetime(2026, 6, 21, 10, 42, tzinfo=UTC),
        datetime(2026, 6, 21, 9, tzinfo=UTC),
        "http_5xx",
        "503 '<html>'; gave up after 9 attempts",
    )
    redis_client.set(keys.FEED_STATUS, status.to_json())
    served = client.get("/feed", headers=auth(operator_token))
    assert served.status_code == 200
    assert served.json() == orjson.loads(status.to_json())
    assert served.json()["newest_data_hour"] == "2026-06-21T09:00:00Z"
    assert served.json()["last_error"]["reason"] == "http_5xx"


def test_a_malformed_feed_status_is_a_503_not_a_500(
    client: TestClient, redis_client: redis.Redis, operator_token: str
) -> None:
    redis_client.set(keys.FEED_STATUS, orjson.dumps({"source": 3, "every_s": "often"}))
    assert client.get("/feed", headers=auth(operator_token)).status_code == 503
    redis_client.set(keys.FEED_STATUS, b"\x80not json")
    assert client.get("/feed", headers=auth(operator_token)).status_code == 404
