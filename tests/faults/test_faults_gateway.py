"""A gateway killed and restarted: WebSocket clients reconnect and get the snapshot again.

The clients behave as the dashboard does (``api/static/app.js``): on a closed socket they
retry with a growing delay, with the token they already hold (the JWT secret is configured,
as a deployment must for tokens to outlive a restart).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
import redis
from fault_harness import Gateway, record_figures, worker_checks
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from flowcast import redis_keys
from flowcast.records import Forecast
from models.core import ForecastCore

pytestmark = [pytest.mark.faults, pytest.mark.integration]
CLIENTS = 5


def seeded_forecasts(client: redis.Redis) -> set[str]:
    """Latest forecasts of a few real-looking sensors written to Redis; their ids."""
    readings = worker_checks.real_readings("export_2022_*.csv.gz", "historique_*.csv.gz")[:2000]
    core = ForecastCore()
    latest: dict[str, Forecast] = {}
    for reading in readings:
        step = core.process(reading)
        if step.forecast is not None:
            latest[reading.sensor_id] = step.forecast
    for sensor, forecast in latest.items():
        client.hset(redis_keys.LATEST, sensor, forecast.to_json())
    return set(latest)


def snapshot_ids(ws: ClientConnection) -> set[str]:
    message = orjson.loads(ws.recv(timeout=10))
    assert message["type"] == "snapshot", message
    return {f["sensor_id"] for f in message["forecasts"]}


def reconnect(url: str, deadline_s: float) -> tuple[ClientConnection, int]:
    """Connect, retrying with a growing delay like the dashboard; (socket, attempts)."""
    delay, attempts = 0.1, 0
    deadline = time.monotonic() + deadline_s
    while True:
        attempts += 1
        try:
            return connect(url, open_timeout=5), attempts
        except (OSError, ConnectionClosed):
            assert time.monotonic() < deadline, f"no reconnection after {attempts} attempts"
            time.sleep(delay)
            delay = min(2.0, delay * 1.5)


def test_ws_clients_reconnect_after_a_gateway_restart(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    sensors = seeded_forecasts(redis_client)
    gateway = Gateway(redis_url, tmp_path).start()
    url = f"ws://127.0.0.1:{gateway.port}/ws/forecasts?token={gateway.token()}"
    sockets = [connect(url) for _ in range(CLIENTS)]
    assert all(snapshot_ids(ws) == sensors for ws in sockets)

    gateway.kill()
    killed = time.monotonic()
    for ws in sockets:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    with ThreadPoolExecutor(CLIENTS) as pool:  # the clients retry while the gateway is down
        retrying = [pool.submit(reconnect, url, 60) for _ in range(CLIENTS)]
        gateway.start()
        again = [future.result() for future in retrying]
    recovery_s = time.monotonic() - killed
    assert all(snapshot_ids(ws) == sensors for ws, _ in again)
    for ws, _ in again:
        ws.close()
    gateway.stop()
    record_figures(
        "gateway_restart",
        faults_injected=1,
        ws_clients=CLIENTS,
        reconnected=len(again),
        attempts=[attempts for _, attempts in again],
        snapshot_sensors=len(sensors),
        recovery_s=round(recovery_s, 2),
    )
