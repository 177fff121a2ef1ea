"""The gateway never deserialises model state: a crafted pickle in Redis runs nothing, and
garbage where workers write outlooks and statuses is a clear JSON error, never a 500."""

from __future__ import annotations

import pickle
import subprocess
import sys
import zlib
from datetime import timedelta
from pathlib import Path

import orjson
import redis
from fastapi.testclient import TestClient
from gateway_helpers import T0, auth, make_forecast, make_reading

from flowcast import redis_keys as keys
from flowcast.records import format_utc

REPO = Path(__file__).resolve().parents[2]
GOOD_HOUR = {**make_forecast("x").to_dict(), "horizon": 1, "usual": 1.0}
GARBAGE = [
    b"\x80\x05not json",
    b"[1, 2, 3]",
    b'{"sensor_id": "S2"}',
    orjson.dumps({"sensor_id": "S3", "observed_ts": "9999-12-31T23:00:00Z", "forecasts": []}),
    orjson.dumps({"sensor_id": "S4", "observed_ts": 12, "forecasts": [GOOD_HOUR]}),
    orjson.dumps({"sensor_id": "S5", "observed_ts": "2022-06-17T13:00:00Z", "forecasts": [{}]}),
    b'{"sensor_id": "S6", "observed_ts": "2022-06-17T13:00:00Z", "forecasts": [1e999]}',
    orjson.dumps({"sensor_id": "other", "hours_seen": -1, "challenger": {"phase": "boom"}}),
]
SENSORS = [f"S{i}" for i in range(len(GARBAGE))]


class Exploit:
    """Unpickling this creates ``path`` (a stand-in for running any command)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.path), "w"))


def plant(client: redis.Redis, marker: Path) -> None:
    """A crafted checkpoint for every sensor (raw and in the old zlib form), garbage outlooks
    and statuses, and a forecast and reading so that each sensor is known."""
    blob = pickle.dumps(Exploit(marker))
    probe = marker.parent / "probe"  # the same blob is live: unpickling it creates the file
    pickle.loads(pickle.dumps(Exploit(probe))).close()
    assert probe.exists()
    for i, sensor in enumerate(SENSORS):
        client.hset(keys.STATE, sensor, zlib.compress(blob) if i % 2 else blob)
        client.hset(keys.OUTLOOK, sensor, GARBAGE[i])
        client.hset(keys.SENSOR_STATUS, sensor, GARBAGE[-1 - i])
        client.hset(keys.LATEST, sensor, make_forecast(sensor).to_json())
        client.hset(keys.LAST_READING, sensor, make_reading(sensor).to_json())
    client.hset(keys.STATE, "only-state", blob)


def calls(sensor: str) -> list[tuple[str, str, dict]]:
    hour = format_utc(T0 + timedelta(hours=1))
    csv = f"sensor_id,ts\n{sensor},{format_utc(T0)}\nonly-state,{format_utc(T0)}\n"
    return [
        ("POST", "/predict", {"json": {"sensor_id": sensor, "ts": hour}}),
        ("POST", "/forecasts/batch", {"files": {"file": ("r.csv", csv, "text/csv")}}),
        ("GET", f"/forecasts/{sensor}/outlook", {}),
        ("GET", f"/forecasts/{sensor}", {}),
        ("GET", f"/forecasts/{sensor}/history", {}),
        ("GET", "/forecasts/latest", {}),
        ("GET", "/sensors", {}),
        ("GET", f"/sensors/{sensor}", {}),
        ("POST", f"/admin/sensors/{sensor}/promote", {}),
        ("POST", f"/admin/sensors/{sensor}/rollback", {}),
        ("GET", "/evaluation", {}),
    ]


def test_crafted_state_runs_nothing_and_every_route_answers_clearly(
    client: TestClient, admin_token: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    plant(redis_client, marker)
    statuses: dict[str, set[int]] = {}
    for sensor in [*SENSORS, "only-state"]:
        for method, path, extra in calls(sensor):
            response = client.request(method, path, headers=auth(admin_token), **extra)
            where = f"{method} {path}"
            assert response.status_code < 500 or response.status_code == 503, where
            assert response.headers["content-type"].startswith("application/json"), where
            if response.status_code >= 400:
                assert response.json()["detail"], where
            statuses.setdefault(where.replace(sensor, "{id}"), set()).add(response.status_code)
    assert not marker.exists()
    # the routes that need an outlook or a status said why they could not serve one
    assert statuses["POST /predict"] <= {404, 503} and 503 in statuses["POST /predict"]
    assert statuses["GET /forecasts/{id}/outlook"] <= {404, 503}
    assert statuses["POST /admin/sensors/{id}/promote"] <= {404, 503}
    batch = client.post(
        "/forecasts/batch",
        files={"file": ("r.csv", f"sensor_id,ts\nS1,{format_utc(T0)}\n", "text/csv")},
        headers=auth(admin_token),
    ).json()
    assert batch["forecasts"] == [] and "unreadable" in batch["errors"][0]["detail"]
    assert client.post("/admin/sensors/S1/reset", headers=auth(admin_token)).status_code == 200
    assert not marker.exists()


def test_the_gateway_does_not_import_the_model_state_or_core() -> None:
    code = (
        "import sys, api.main, api.server\n"
        "bad = sorted(m for m in sys.modules if m in {'models.core', 'models.state'}"
        " or m.startswith(('models.candidates', 'river')))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == ""
