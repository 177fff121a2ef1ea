"""WebSocket /ws/forecasts: auth, snapshot, live push after PUBLISH, filters, bad messages."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from gateway_helpers import T0, make_forecast, make_reading
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from flowcast import redis_keys as keys
from models.core import ForecastCore
from stream.sensor_views import outlook_of, push_message


def wait_subscribed(redis_client: redis.Redis, deadline_s: float = 10.0) -> None:
    """Poll until the gateway's broadcaster listens on both channels."""
    deadline = time.monotonic() + deadline_s
    while True:
        counts = dict(redis_client.pubsub_numsub(keys.FORECASTS_CHANNEL, keys.ALERTS_CHANNEL))
        if all(v >= 1 for v in counts.values()):
            return
        assert time.monotonic() < deadline, f"broadcaster never subscribed: {counts}"
        time.sleep(0.02)


def test_ws_refuses_missing_and_bad_tokens(client: TestClient) -> None:
    for url in ("/ws/forecasts", "/ws/forecasts?token=garbage"):
        with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect(url):
            pass
        assert denied.value.status_code == 401
        assert "detail" in denied.value.json()


def test_ws_snapshot_then_live_forecast(client, operator_token, seed, redis_client) -> None:
    seed(forecasts=[make_forecast("4264", flow=1.0), make_forecast("5671", flow=2.0)])
    wait_subscribed(redis_client)
    with client.websocket_connect(f"/ws/forecasts?token={operator_token}") as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot"
        assert [f["sensor_id"] for f in snapshot["forecasts"]] == ["4264", "5671"]
        live = make_forecast("191", flow=42.0)
        assert redis_client.publish(keys.FORECASTS_CHANNEL, live.to_json()) == 1
        message = ws.receive_json()
        assert message == {"type": "forecast", "data": live.to_dict()}
        redis_client.publish(keys.ALERTS_CHANNEL, b'{"sensor_id": "191", "kind": "spike"}')
        assert ws.receive_json() == {"type": "alert", "data": {"sensor_id": "191", "kind": "spike"}}


def test_ws_bearer_header_and_sensor_filter(client, admin_token, seed, redis_client) -> None:
    seed(forecasts=[make_forecast("4264"), make_forecast("5671")])
    wait_subscribed(redis_client)
    headers = {"Authorization": f"Bearer {admin_token}"}
    with client.websocket_connect("/ws/forecasts?sensors=5671", headers=headers) as ws:
        assert [f["sensor_id"] for f in ws.receive_json()["forecasts"]] == ["5671"]
        redis_client.publish(keys.FORECASTS_CHANNEL, make_forecast("4264", flow=1.0).to_json())
        redis_client.publish(keys.FORECASTS_CHANNEL, make_forecast("5671", flow=2.0).to_json())
        assert ws.receive_json()["data"]["flow"] == 2.0  # the 4264 one was filtered out
        ws.send_json({"action": "subscribe", "sensors": ["4264"]})
        assert ws.receive_json() == {"type": "subscribed", "sensors": ["4264"]}
        assert [f["sensor_id"] for f in ws.receive_json()["forecasts"]] == ["4264"]
        redis_client.publish(keys.FORECASTS_CHANNEL, make_forecast("5671", flow=3.0).to_json())
        redis_client.publish(keys.FORECASTS_CHANNEL, make_forecast("4264", flow=4.0).to_json())
        assert ws.receive_json()["data"]["flow"] == 4.0
        ws.send_json({"action": "subscribe", "sensors": None})
        assert ws.receive_json() == {"type": "subscribed", "sensors": None}
        assert len(ws.receive_json()["forecasts"]) == 2


def test_ws_malformed_messages_get_json_errors(client, operator_token, redis_client) -> None:
    with client.websocket_connect(f"/ws/forecasts?token={operator_token}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        for bad in (
            "not json",
            "[1, 2]",
            '{"action": "dance"}',
            '{"action": "subscribe", "sensors": [1]}',
            "x" * 20_000,
        ):
            ws.send_text(bad)
            reply = ws.receive_json()
            assert reply["type"] == "error" and reply["detail"], bad
        ws.send_json({"action": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_ws_flood_is_bounded_then_closed(client, operator_token) -> None:
    with client.websocket_connect(f"/ws/forecasts?token={operator_token}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        for _ in range(200):
            ws.send_json({"action": "ping"})
        kinds = []
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                kinds.append(ws.receive_json()["type"])
        assert closed.value.code == 1008
        assert "pong" in kinds and kinds.count("error") == 1
        assert len(kinds) < 100


def test_ws_bad_sensor_filter_is_refused(client, operator_token) -> None:
    url = f"/ws/forecasts?token={operator_token}&sensors=a%20b"
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect(url):
        pass
    assert denied.value.status_code == 422


def test_ws_forecast_push_carries_the_24_hour_outlook(client, operator_token, redis_client) -> None:
    core = ForecastCore()
    for i in range(48):
        core.process(make_reading("4264", T0 + timedelta(hours=i), flow=300.0 + 10 * (i % 24)))
    outlook = outlook_of(core, "4264")
    assert outlook is not None
    forecast = outlook.hours[0].forecast
    wait_subscribed(redis_client)
    with client.websocket_connect(f"/ws/forecasts?token={operator_token}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        redis_client.publish(keys.FORECASTS_CHANNEL, push_message(forecast.to_json(), outlook))
        message = ws.receive_json()
    assert message["type"] == "forecast"
    data = message["data"]
    assert {k: v for k, v in data.items() if k != "outlook"} == forecast.to_dict()
    assert {k: len(v) for k, v in data["outlook"].items()} == {
        "flow": 24,
        "flow_low": 24,
        "flow_high": 24,
        "usual": 24,
    }
    assert data["outlook"]["flow"][23] == round(outlook.hours[23].forecast.flow, 1)
