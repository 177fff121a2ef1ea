"""REST routes through TestClient against the real Redis, seeded per the Redis contract."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
import redis
from gateway_helpers import T0, auth, make_forecast, make_reading

from flowcast import redis_keys as keys
from flowcast.records import format_utc, hour_index
from models.core import ForecastCore
from models.outlook import Outlook
from stream.sensor_views import outlook_of


def test_latest_lists_every_sensor_as_forecast_objects(client, admin_token, seed) -> None:
    seed(forecasts=[make_forecast("4264", flow=900.0), make_forecast("5671", flow=300.0)])
    body = client.get("/forecasts/latest", headers=auth(admin_token)).json()
    assert [f["sensor_id"] for f in body] == ["4264", "5671"]
    assert body[0] == make_forecast("4264", flow=900.0).to_dict() | {
        "produced_at": body[0]["produced_at"]
    }
    assert set(body[0]) == {
        "sensor_id",
        "ts",
        "observed_ts",
        "flow",
        "flow_low",
        "flow_high",
        "model",
        "model_version",
        "produced_at",
    }


def test_latest_filters_by_ids_bbox_and_state(client, admin_token, seed) -> None:
    seed(
        forecasts=[make_forecast(s) for s in ("4264", "5671", "191", "9999")],
        readings=[make_reading("4264", state="saturated"), make_reading("5671", state="fluid")],
    )
    get = lambda q: [  # noqa: E731
        f["sensor_id"]
        for f in client.get(f"/forecasts/latest?{q}", headers=auth(admin_token)).json()
    ]
    assert get("ids=191,4264,nope") == ["191", "4264"]
    assert get("bbox=2.25,48.81,2.42,48.90") == ["191", "4264", "5671"]
    assert get("bbox=2.30,48.86,2.32,48.88") == ["4264"]
    assert get("state=saturated") == ["4264"]
    assert get("state=fluid&ids=4264") == []


def test_one_sensor_forecast_and_404(client, admin_token, seed) -> None:
    seed(forecasts=[make_forecast("4264", flow=777.0)])
    assert client.get("/forecasts/4264", headers=auth(admin_token)).json()["flow"] == 777.0
    missing = client.get("/forecasts/5671", headers=auth(admin_token))
    assert missing.status_code == 404 and "5671" in missing.json()["detail"]


def test_sensors_merge_catalog_and_redis(client, admin_token, seed) -> None:
    seed(forecasts=[make_forecast("4264")], readings=[make_reading("12345", state="blocked")])
    body = {s["sensor_id"]: s for s in client.get("/sensors", headers=auth(admin_token)).json()}
    assert set(body) == {"4264", "5671", "191", "9999", "12345"}
    assert body["4264"]["lat"] == pytest.approx(48.8705) and body["4264"]["has_forecast"]
    assert body["12345"] == {
        "sensor_id": "12345",
        "name": None,
        "lat": None,
        "lon": None,
        "traffic_state": "blocked",
        "has_forecast": False,
    }


def test_sensor_detail_has_last_reading(client, admin_token, seed) -> None:
    seed(forecasts=[make_forecast("4264")], readings=[make_reading("4264", flow=1234.0)])
    body = client.get("/sensors/4264", headers=auth(admin_token)).json()
    assert body["name"] == "AV_Champs_Elysees"
    assert body["last_reading"]["flow"] == 1234.0
    assert body["forecast"]["sensor_id"] == "4264"
    assert client.get("/sensors/77", headers=auth(admin_token)).status_code == 404


def seed_history(redis_client: redis.Redis, sensor_id: str, hours: int) -> None:
    for i in range(hours):
        ts = T0 + timedelta(hours=i)
        entry = {
            "ts": format_utc(ts),
            "forecast": make_forecast(sensor_id, ts, flow=100.0 + i).to_dict(),
            "observed": 110.0 + i if i % 5 else None,
        }
        redis_client.zadd(keys.history(sensor_id), {orjson.dumps(entry): hour_index(ts)})


def test_history_window_and_live_error(client, admin_token, redis_client) -> None:
    seed_history(redis_client, "4264", 48)
    body = client.get("/forecasts/4264/history?hours=10", headers=auth(admin_token)).json()
    assert [p["ts"] for p in body["points"]] == [
        format_utc(T0 + timedelta(hours=i)) for i in range(38, 48)
    ]
    assert body["n"] == 8 and body["mae"] == pytest.approx(10.0)
    assert client.get("/forecasts/4264/history", headers=auth(admin_token)).json()["n"] == 38
    empty = client.get("/forecasts/5671/history", headers=auth(admin_token))
    assert empty.status_code == 200 and empty.json()["points"] == []
    assert client.get("/forecasts/8/history", headers=auth(admin_token)).status_code == 404


def test_evaluation_merges_the_accumulators_the_workers_wrote(client, admin_token, redis_client):
    core = ForecastCore()
    for sensor_id in ("4264", "5671"):
        for i in range(72):
            flow = 400.0 + 300.0 * ((i % 24) / 24) + (50.0 if sensor_id == "5671" else 0.0)
            core.process(make_reading(sensor_id, T0 + timedelta(hours=i), flow=flow))
        accumulators = core.sensor_evaluation(sensor_id)
        redis_client.hset(keys.EVALUATION, sensor_id, orjson.dumps(accumulators))
    body = client.get("/evaluation", headers=auth(admin_token)).json()
    assert body == orjson.loads(orjson.dumps(core.evaluation_report()))
    assert body["sensors"] == 2 and body["scored"] > 0


def trained_outlook(sensor_id: str, hours: int = 72) -> Outlook:
    """A real outlook, as a worker writes it, after ``hours`` synthetic hourly readings."""
    core = ForecastCore()
    for i in range(hours):
        flow = 400.0 + 300.0 * ((i % 24) / 24)
        core.process(make_reading(sensor_id, T0 + timedelta(hours=i), flow=flow))
    outlook = outlook_of(core, sensor_id)
    assert outlook is not None
    return outlook


def test_outlook_serves_24_hours_and_tells_unknown_from_not_yet(
    client, admin_token, redis_client, seed
) -> None:
    outlook = trained_outlook("4264")
    redis_client.hset(keys.OUTLOOK, "4264", outlook.to_json())
    response = client.get("/forecasts/4264/outlook", headers=auth(admin_token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sensor_id"] == "4264" and body["observed_ts"] == format_utc(outlook.observed_ts)
    assert [f["horizon"] for f in body["forecasts"]] == list(range(1, 25))
    assert body["forecasts"][23]["ts"] == format_utc(outlook.observed_ts + timedelta(hours=24))
    assert body["forecasts"][5]["usual"] == pytest.approx(outlook.hours[5].usual)
    assert client.get("/forecasts/4264/outlook").status_code == 401
    unknown = client.get("/forecasts/nope/outlook", headers=auth(admin_token))
    assert unknown.status_code == 404 and "unknown sensor" in unknown.json()["detail"]
    seed(readings=[make_reading("777")])
    not_yet = client.get("/forecasts/777/outlook", headers=auth(admin_token))
    assert not_yet.status_code == 404 and "no outlook" in not_yet.json()["detail"]


def test_predict_answers_from_the_stored_outlook(client, admin_token, redis_client) -> None:
    outlook = trained_outlook("4264")
    redis_client.hset(keys.OUTLOOK, "4264", outlook.to_json())
    post = lambda sensor, ts: client.post(  # noqa: E731
        "/predict", json={"sensor_id": sensor, "ts": format_utc(ts)}, headers=auth(admin_token)
    )
    next_hour = T0 + timedelta(hours=72)
    response = post("4264", next_hour + timedelta(minutes=30))
    assert response.status_code == 200, response.text
    assert response.json()["flow"] == pytest.approx(outlook.hours[0].forecast.flow)
    assert response.json()["ts"] == format_utc(next_hour)
    assert response.json()["horizon"] == 1
    later = post("4264", next_hour + timedelta(hours=23))
    assert later.json()["horizon"] == 24
    assert later.json()["flow"] == pytest.approx(outlook.hours[23].forecast.flow)
    too_far = post("4264", next_hour + timedelta(hours=24))
    assert too_far.status_code == 422
    detail = too_far.json()["detail"]
    assert f"{format_utc(next_hour)} to {format_utc(next_hour + timedelta(hours=23))}" in detail
    assert post("4264", next_hour - timedelta(hours=1)).status_code == 422
    assert post("5671", next_hour).status_code == 404


def test_batch_reports_bad_rows(client, admin_token, redis_client) -> None:
    redis_client.hset(keys.OUTLOOK, "4264", trained_outlook("4264").to_json())
    last = T0 + timedelta(hours=71)
    csv = (
        "sensor_id;ts;flow\n"
        f"4264;{format_utc(last)};500\n"
        "4264;yesterday;1\n"
        f"5671;{format_utc(last)};3\n"
        f";{format_utc(last)};3\n"
        f"4264;{format_utc(last + timedelta(hours=5))};500\n"
        f"4264;{format_utc(last + timedelta(hours=30))};500\n"
    )
    response = client.post(
        "/forecasts/batch", files={"file": ("r.csv", csv, "text/csv")}, headers=auth(admin_token)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == 6
    assert [f["ts"] for f in body["forecasts"]] == [
        format_utc(last + timedelta(hours=1)),
        format_utc(last + timedelta(hours=6)),
    ]
    assert [e["line"] for e in body["errors"]] == [3, 4, 5, 7]
    assert "no outlook for sensor '5671'" in body["errors"][1]["detail"]
    assert "outside sensor 4264's outlook" in body["errors"][3]["detail"]


def test_batch_rejects_unusable_files(client, admin_token) -> None:
    post = lambda data: client.post(  # noqa: E731
        "/forecasts/batch", files={"file": ("r.csv", data, "text/csv")}, headers=auth(admin_token)
    )
    assert post(b"a,b\n1,2\n").status_code == 400
    assert post(b"\xff\xfe\x00garbage").status_code == 400
    assert post(b"sensor_id,ts\n" + b"4264,x\n" * 300_000).status_code == 413


def test_admin_reset_deletes_what_workers_wrote(client, admin_token, redis_client, seed) -> None:
    seed(forecasts=[make_forecast("4264")])
    redis_client.hset(keys.STATE, "4264", b"blob")
    redis_client.hset(keys.OUTLOOK, "4264", b"{}")
    response = client.post("/admin/sensors/4264/reset", headers=auth(admin_token))
    assert response.json() == {
        "sensor_id": "4264",
        "state": True,
        "latest": True,
        "outlook": True,
        "status": False,
    }
    for key in (keys.STATE, keys.LATEST, keys.OUTLOOK):
        assert not redis_client.hexists(key, "4264")


def test_admin_users_are_shared_in_redis(client, admin_token, redis_client) -> None:
    created = client.post(
        "/admin/users",
        json={"username": "ops2", "password": "long-enough-pw", "role": "operator"},
        headers=auth(admin_token),
    )
    assert created.status_code == 201
    assert redis_client.hexists("flowcast:users", "ops2")
    names = [u["username"] for u in client.get("/admin/users", headers=auth(admin_token)).json()]
    assert names == ["admin", "ops2"]
    assert client.delete("/admin/users/ops2", headers=auth(admin_token)).status_code == 204
    assert client.delete("/admin/users/ops2", headers=auth(admin_token)).status_code == 404


def test_admin_replay_refuses_files_outside_the_data_dir(client, admin_token) -> None:
    for name in ("../../pyproject.toml", "/etc/passwd", "missing.csv"):
        response = client.post(
            "/admin/replay", json={"action": "start", "files": [name]}, headers=auth(admin_token)
        )
        assert response.status_code == 409, name
    stopped = client.post("/admin/replay", json={"action": "stop"}, headers=auth(admin_token))
    assert stopped.json() == {"running": False, "pid": None, "returncode": None}
