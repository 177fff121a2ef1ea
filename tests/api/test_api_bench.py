"""``flowcast bench api`` and the WebSocket fan-out bench, short runs on the session Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import redis

from commands.bench.api import run_ws_bench, seed_redis, split, traffic_files, ws_result
from flowcast import redis_keys as keys
from flowcast.settings import Settings

CONTRACT = {"rps", "p50_ms", "p99_ms", "errors", "baseline_rps", "ratio_to_baseline"}


@pytest.fixture(scope="module")
def seeded_redis(redis_url: str) -> str:
    """The session Redis, flushed then seeded once with the core's real forecasts."""
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    sensors = seed_redis(redis_url, traffic_files())
    assert len(sensors) >= 100, "the bundled data should give forecasts for 100+ sensors"
    assert client.hlen(keys.LATEST) == len(sensors)
    client.close()
    return redis_url


def test_split_spreads_without_empty_parts() -> None:
    assert split(50, 3) == [17, 17, 16]
    assert split(2, 8) == [1, 1]
    assert sum(split(1000, 7)) == 1000


def test_ws_result_counts_lost_messages() -> None:
    sent = {"a|t": 10.0, "b|t": 11.0}
    received = [("a|t", 10.01), ("b|t", 11.03), ("a|t", 10.02)]
    result = ws_result(sent, received, clients=2, rate=1.0)
    assert (result["expected"], result["delivered"], result["lost"]) == (4, 3, 1)
    assert result["p50_ms"] == pytest.approx(20.0)
    assert result["max_ms"] == pytest.approx(30.0)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("client", ["raw", "httpx"])
def test_bench_api_writes_the_contract(seeded_redis: str, tmp_path: Path, client: str) -> None:
    from commands.bench.api import run_api_bench

    path = tmp_path / "bench-api.json"
    settings = Settings(redis_url=seeded_redis)
    run_api_bench(settings, seconds=2, connections=4, json_path=path, client=client)
    result = orjson.loads(path.read_bytes())
    assert result.keys() >= CONTRACT
    assert result["errors"] == 0
    assert result["rps"] > 0 and result["baseline_rps"] > 0
    assert result["p99_ms"] >= result["p50_ms"] > 0
    assert result["ratio_to_baseline"] == pytest.approx(
        result["rps"] / result["baseline_rps"], abs=1e-3
    )
    assert result["phases"]["endpoint"]["requests"] == pytest.approx(result["rps"] * 2, abs=1)


@pytest.mark.integration
@pytest.mark.slow
def test_bench_api_command_line(seeded_redis: str, tmp_path: Path) -> None:
    path = tmp_path / "cli.json"
    env = {**os.environ, "FLOWCAST_REDIS_URL": seeded_redis}
    argv = ["bench", "api", "--seconds", "1", "--connections", "2", "--json", str(path)]
    done = subprocess.run(
        [sys.executable, "-m", "commands.cli", *argv],
        check=False,
        env=env,
        capture_output=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = orjson.loads(path.read_bytes())
    assert result.keys() >= CONTRACT
    assert result["errors"] == 0 and result["rps"] > 0


@pytest.mark.integration
@pytest.mark.slow
def test_ws_bench_delivers_every_message(seeded_redis: str, tmp_path: Path) -> None:
    path = tmp_path / "bench-ws.json"
    settings = Settings(redis_url=seeded_redis)
    run_ws_bench(settings, clients=20, messages=10, json_path=path, rate=20.0)
    result = orjson.loads(path.read_bytes())
    assert (result["clients"], result["messages"], result["expected"]) == (20, 10, 200)
    assert result["delivered"] == 200 and result["lost"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
