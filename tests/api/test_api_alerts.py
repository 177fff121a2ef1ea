"""Alerts, acknowledgement, promote/rollback commands and the audit log, through the gateway."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import redis
from fastapi.testclient import TestClient
from gateway_helpers import auth

from flowcast import redis_keys as keys
from flowcast.records import hour_start
from models.alerts import make_alert
from models.status import ChallengerStatus, SensorStatus

ALERT = make_alert("drift", "4264", 459471, "detected", "sensor 4264: drift", reason="error")
ANOMALY = make_alert("anomaly.stuck", "191", 459480, "detected", "sensor 191: stuck")


def _seed_alerts(client: redis.Redis) -> None:
    client.hset(keys.ALERTS, mapping={a.id: a.to_json() for a in (ALERT, ANOMALY)})
    client.hset(
        keys.ANOMALIES, "191", orjson.dumps({"ts": "2022-06-01T00:00:00Z", "kinds": ["stuck"]})
    )


def _seed_status(client: redis.Redis, serving: bool | None) -> None:
    """A sensor status: no challenger (None), on trial (False) or serving (True)."""
    challenger = ChallengerStatus()
    if serving is not None:
        challenger = ChallengerStatus(
            "serving" if serving else "on_trial",
            started=hour_start(459471),
            serving_since=hour_start(459490) if serving else None,
            reason="error",
        )
    last = hour_start(459500)
    status = SensorStatus("4264", 30, 29, None, last, "linear", "1.0.0", challenger)
    client.hset(keys.SENSOR_STATUS, "4264", status.to_json())


def test_alerts_are_listed_filtered_and_acknowledged(
    client: TestClient, redis_client: redis.Redis, admin_token: str, operator_token: str
) -> None:
    _seed_alerts(redis_client)
    listed = client.get("/alerts", headers=auth(operator_token)).json()
    assert {a["id"] for a in listed} == {ALERT.id, ANOMALY.id}
    only = client.get("/alerts", params={"kind": "anomaly"}, headers=auth(operator_token)).json()
    assert [a["id"] for a in only] == [ANOMALY.id]
    assert client.post(f"/alerts/{ALERT.id}/ack", headers=auth(operator_token)).status_code == 403
    acked = client.post(f"/alerts/{ALERT.id}/ack", headers=auth(admin_token))
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "admin"
    assert client.post("/alerts/nope:1:2/ack", headers=auth(admin_token)).status_code == 404
    still_open = client.get("/alerts", params={"state": "open"}, headers=auth(operator_token))
    assert [a["id"] for a in still_open.json()] == [ANOMALY.id]
    flags = client.get("/alerts/anomalies", headers=auth(operator_token)).json()
    assert flags == [{"sensor_id": "191", "ts": "2022-06-01T00:00:00Z", "kinds": ["stuck"]}]
    audit = client.get("/audit", headers=auth(admin_token)).json()
    assert audit[0]["action"] == "ack" and audit[0]["alert_id"] == ALERT.id


def test_promote_and_rollback_queue_a_command_when_there_is_something_to_do(
    client: TestClient, redis_client: redis.Redis, admin_token: str
) -> None:
    headers = auth(admin_token)
    assert client.post("/admin/sensors/4264/promote", headers=headers).status_code == 404
    _seed_status(redis_client, serving=None)
    assert client.post("/admin/sensors/4264/promote", headers=headers).status_code == 409
    _seed_status(redis_client, serving=False)
    assert client.post("/admin/sensors/4264/rollback", headers=headers).status_code == 409
    promoted = client.post("/admin/sensors/4264/promote", headers=headers)
    assert promoted.status_code == 202 and promoted.json()["status"] == "pending"
    command = orjson.loads(redis_client.hget(keys.COMMANDS, "4264"))
    assert command["command"] == "promote" and command["by"] == "admin"
    _seed_status(redis_client, serving=True)
    assert client.post("/admin/sensors/4264/rollback", headers=headers).status_code == 202
    actions = [e["action"] for e in client.get("/audit", headers=headers).json()]
    assert actions == ["rollback_requested", "promote_requested"]


def test_lifecycle_routes_need_a_token_and_the_admin_role(
    client: TestClient, operator_token: str
) -> None:
    for method, path in (
        ("GET", "/alerts"),
        ("GET", "/alerts/anomalies"),
        ("POST", "/alerts/x/ack"),
        ("POST", "/admin/sensors/4264/promote"),
        ("POST", "/admin/sensors/4264/rollback"),
        ("GET", "/audit"),
    ):
        assert client.request(method, path).status_code == 401, path
        expected = 200 if path.startswith("/alerts") and method == "GET" else 403
        assert client.request(method, path, headers=auth(operator_token)).status_code == expected


def test_alert_json_round_trips() -> None:
    data = orjson.loads(ALERT.to_json())
    assert data["id"] == "drift:4264:459471" and data["ts"] == "2022-06-01T15:00:00Z"
    assert datetime.fromisoformat(data["ts"]).tzinfo == UTC
