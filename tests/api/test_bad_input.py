"""Bad input is a 4xx with a JSON ``detail``, never a 5xx; Redis down is a quick 503."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from gateway_helpers import auth

from api.main import create_app
from flowcast.settings import Settings

BAD_REQUESTS = [
    ("GET", "/forecasts/latest?bbox=1,2,3", None),
    ("GET", "/forecasts/latest?bbox=a,b,c,d", None),
    ("GET", "/forecasts/latest?bbox=3,2,1,0", None),
    ("GET", "/forecasts/latest?state=jammed", None),
    ("GET", "/forecasts/latest?ids=a%20b", None),
    ("GET", "/forecasts/4264/history?hours=0", None),
    ("GET", "/forecasts/4264/history?hours=abc", None),
    ("GET", "/forecasts/" + "9" * 100, None),
    ("GET", "/sensors/bad%20id", None),
    ("POST", "/predict", {"sensor_id": "4264"}),
    ("POST", "/predict", {"sensor_id": "4264", "ts": "2022-06-17T14:00:00"}),
    ("POST", "/predict", {"sensor_id": "4264", "ts": "2022-06-17T14:00:00Z", "x": 1}),
    ("POST", "/predict", [1, 2]),
    ("POST", "/predict", {"sensor_id": "4264", "ts": "9999-12-31T23:00:00-05:00"}),
    ("POST", "/predict", {"sensor_id": "4264", "ts": "0001-01-01T00:00:00+05:00"}),
    ("POST", "/predict", {"sensor_id": "4264", "ts": "2300-01-01T00:00:00Z"}),
    ("POST", "/admin/users", {"username": "a b", "password": "long-enough"}),
    ("POST", "/admin/users", {"username": "ab", "password": "short"}),
    ("POST", "/admin/users", {"username": "ab", "password": "long-enough", "role": "root"}),
    ("POST", "/admin/replay", {"action": "rewind"}),
    ("POST", "/admin/replay", {"action": "start", "speed": "fast"}),
    ("POST", "/admin/replay", {"action": "start", "files": ["export\x00.csv.gz"]}),
    ("POST", "/admin/replay", {"action": "start", "files": ["a/../\n/etc"]}),
    ("POST", "/forecasts/batch", None),
    ("GET", "/no/such/route", None),
    ("DELETE", "/sensors", None),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_REQUESTS)
def test_bad_input_is_a_json_4xx(client, admin_token, method, path, body) -> None:
    response = client.request(method, path, json=body, headers=auth(admin_token))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": "hunter2"},
        {"username": "a b", "password": "hunter2-but-long"},
        {"username": "ab", "password": "hunter2-but-long", "extra": 1},
        {"password": "hunter2-but-long"},
    ],
)
def test_a_422_never_echoes_the_password(client, admin_token, body) -> None:
    response = client.post("/admin/users", json=body, headers=auth(admin_token))
    assert response.status_code == 422
    assert "hunter2" not in response.text
    assert response.json()["detail"][0]["msg"]


def test_malformed_json_body_is_422(client, admin_token) -> None:
    response = client.post(
        "/predict",
        content=b"{not json",
        headers=auth(admin_token) | {"content-type": "application/json"},
    )
    assert response.status_code == 422 and response.json()["detail"]


def test_corrupt_redis_values_are_skipped(client, admin_token, redis_client) -> None:
    redis_client.hset("flowcast:forecast:latest", "4264", b"{broken")
    response = client.get("/forecasts/latest", headers=auth(admin_token))
    assert response.status_code == 200 and response.json() == []


def _dead_redis_app() -> TestClient:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", jwt_secret="d" * 40)
    return TestClient(create_app(settings))


def test_redis_down_is_a_fast_503() -> None:
    with _dead_redis_app() as client:
        started = time.monotonic()
        ready = client.get("/ready")
        login = client.post("/auth/token", data={"username": "admin", "password": "whatever-1"})
        assert time.monotonic() - started < 10
        assert ready.status_code == 503 and ready.json()["detail"] == "Redis unreachable"
        assert login.status_code == 503 and "Redis" in login.json()["detail"]
        assert client.get("/health").status_code == 200


def test_metrics_label_requests_by_route_template(client, admin_token) -> None:
    client.get("/forecasts/4264", headers=auth(admin_token))
    client.get("/forecasts/5671", headers=auth(admin_token))
    text = client.get("/metrics", headers=auth(admin_token)).text
    assert (
        'flowcast_http_requests_total{method="GET",route="/forecasts/{sensor_id}",status="404"} 2.0'
        in text
    )
    assert "flowcast_ws_clients 0.0" in text
    assert "flowcast_http_request_seconds_bucket" in text


def test_dashboard_is_served_without_external_assets(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<form id="login">' in page.text
    for asset in ("/app.js", "/style.css"):
        response = client.get(asset)
        assert response.status_code == 200
        assert "http://" not in response.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in response.text


def test_a_batch_row_at_the_calendar_edge_is_reported_not_a_500(client, admin_token) -> None:
    csv = b"sensor_id,ts\n4264,9999-12-31T23:30:00Z\n4264,0001-01-01T00:00:00+05:00\n"
    response = client.post(
        "/forecasts/batch",
        files={"file": ("edge.csv", csv, "text/csv")},
        headers=auth(admin_token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["forecasts"]) == (2, [])
    assert [e["line"] for e in body["errors"]] == [2, 3]
    assert all("outside" in e["detail"] or "bad ts" in e["detail"] for e in body["errors"])
