"""Redis killed and restarted under a running worker and gateway.

While Redis is down: ``/ready`` says so, every data route answers a JSON 503 quickly (never a
hang or a stack trace), ``/health`` stays 200, the worker waits and retries. After the restart
everything recovers by itself; with AOF (fsync always) nothing written before the kill is
lost, and Redis ends exactly as an uninterrupted in-process core leaves it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from fault_harness import (
    Gateway,
    loss_and_duplicates,
    record_figures,
    start_worker,
    worker_checks,
)
from websockets.sync.client import connect

from commands.embedded import EmbeddedRedis
from commands.up import answers_200
from flowcast import redis_keys
from flowcast.kafka_admin import ensure_topics, unique_topic_settings
from flowcast.settings import Settings
from producers.publisher import publish_all

pytestmark = [pytest.mark.faults, pytest.mark.integration]
FILES = ("export_2022_sts-peres_191.csv.gz", "historique_2022_st-antoine_376.csv.gz")
HELD_BACK = 48  # readings published only after recovery, to see live pushes again
DOWN_S = 3.0
ROUTES = ("/ready", "/forecasts/latest", "/sensors", "/evaluation", "/forecasts/191/history")


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own with AOF, fsync on every write."""
    with EmbeddedRedis(log_dir=tmp_path / "redis", appendonly=True) as server:
        yield server


def snapshot_history(client: redis.Redis, sensors: list[str]) -> set[tuple[str, bytes]]:
    """Every history member (immutable once written) of every sensor."""
    return {
        (sensor, member)
        for sensor in sensors
        for member in client.zrange(redis_keys.history(sensor), 0, -1)
    }


def probe_while_down(gateway: Gateway, token: str, seconds: float) -> dict[str, float]:
    """Hit the gateway while Redis is down: JSON 503s (200 for /health), none slow."""
    headers = {"Authorization": f"Bearer {token}"}
    requests = slowest = 0.0
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=10) as client:
        while time.monotonic() < deadline:
            for route in ROUTES:
                started = time.perf_counter()
                response = client.get(route)
                slowest = max(slowest, time.perf_counter() - started)
                requests += 1
                assert response.status_code == 503, (route, response.status_code, response.text)
                assert response.headers["content-type"].startswith("application/json")
                assert "detail" in response.json() and "Traceback" not in response.text
            assert client.get("/health").status_code == 200
    return {"requests": requests, "slowest_s": slowest}


def test_redis_restart_is_reported_survived_and_loses_nothing(
    aof_redis: EmbeddedRedis, kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = unique_topic_settings(
        Settings(kafka_bootstrap=kafka_bootstrap, redis_url=aof_redis.url), "fault"
    )
    ensure_topics(kafka_bootstrap, settings)
    client = redis.Redis.from_url(aof_redis.url)
    readings = worker_checks.real_readings(*FILES)
    expected = worker_checks.expected_outputs(readings)
    sensors = list(expected["history"])
    gateway = Gateway(aof_redis.url, tmp_path).start()
    token = gateway.token()
    publish = dict(
        readings_topic=settings.readings_topic,
        deadletter_topic=settings.deadletter_topic,
        notify=lambda _: None,
    )
    publish_all(readings[:-HELD_BACK], kafka_bootstrap, **publish)
    worker = start_worker(settings, tmp_path, "worker")
    worker.wait_for(lambda: len(snapshot_history(client, sensors)) > 3000, 90, "progress")

    written = snapshot_history(client, sensors)
    aof_redis.kill()
    down = probe_while_down(gateway, token, DOWN_S)
    assert worker.alive, "the worker waits for Redis instead of dying"
    aof_redis.start()
    restarted = time.monotonic()
    lost_by_restart = written - snapshot_history(client, sensors)
    gateway.process.wait_for(lambda: answers_200(f"{gateway.url}/ready"), 30, "/ready again")
    ready_s = time.monotonic() - restarted

    with connect(f"ws://127.0.0.1:{gateway.port}/ws/forecasts?token={token}") as ws:
        assert orjson.loads(ws.recv(timeout=10))["type"] == "snapshot"
        publish_all(readings[-HELD_BACK:], kafka_bootstrap, **publish)
        live = orjson.loads(ws.recv(timeout=60))
    worker_checks.wait_until_caught_up(client, expected, worker)
    caught_up_s = time.monotonic() - restarted
    checked, missing, doubled = loss_and_duplicates(client, expected)
    worker_checks.assert_redis_matches(client, expected)
    record_figures(
        "redis_restart",
        faults_injected=1,
        down_s=DOWN_S,
        requests_while_down=int(down["requests"]),
        slowest_response_while_down_s=round(down["slowest_s"], 3),
        history_members_before_kill=len(written),
        lost_by_restart=len(lost_by_restart),
        hours_checked=checked,
        lost=missing,
        duplicated=doubled,
        ready_again_s=round(ready_s, 2),
        worker_caught_up_s=round(caught_up_s, 1),
    )
    assert live["type"] in {"forecast", "batch"}, live  # pushed live again after recovery
    assert not lost_by_restart
    client.close()
    gateway.stop()
