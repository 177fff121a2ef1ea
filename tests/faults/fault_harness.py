"""Shared tools of the fault-injection suite: worker and gateway processes, checks, figures.

The worker checks (an uninterrupted in-process core as the reference, Redis compared to it)
and the worker child are those of the worker tests in ``tests/stream``, imported, not
copied. Each scenario writes the figures it measured to ``test-artifacts/reliability/`` (the
source of the table in RELIABILITY.md).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis

from commands.embedded import free_port
from commands.processes import ManagedProcess
from commands.up import answers_200
from flowcast import redis_keys

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
FIGURES = REPO / "test-artifacts" / "reliability"
ADMIN_PASSWORD = "fault-suite-admin-password"
JWT_SECRET = "fault-suite-jwt-secret-0123456789abcdef"

if str(TESTS / "stream") not in sys.path:
    sys.path.insert(0, str(TESTS / "stream"))
import test_stream_worker as worker_checks  # noqa: E402  (the worker tests' reference checks)
from worker_children import start_test_worker as start_worker  # noqa: E402

__all__ = ["start_worker", "worker_checks"]


class Gateway:
    """A ``flowcast api`` subprocess on a fixed port (kept across restarts)."""

    def __init__(self, redis_url: str, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "FLOWCAST_REDIS_URL": redis_url,
            "FLOWCAST_API_PORT": str(self.port),
            "FLOWCAST_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "FLOWCAST_JWT_SECRET": JWT_SECRET,
            **(env or {}),
        }
        self.process: ManagedProcess | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Gateway:
        """Start the gateway and wait until ``/health`` answers."""
        self.starts += 1
        self.process = ManagedProcess(
            "gateway",
            [sys.executable, "-m", "commands.cli", "api"],
            self.log_dir / "gateway.log",
            env=self.env,
            cwd=REPO,
        ).start()
        self.process.wait_for(lambda: answers_200(f"{self.url}/health"), timeout, "GET /health")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def token(self) -> str:
        """An admin token from ``POST /auth/token``."""
        response = httpx.post(
            f"{self.url}/auth/token",
            data={"username": "admin", "password": ADMIN_PASSWORD},
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


def history_sizes(client: redis.Redis, sensors: Iterator[str] | list[str]) -> int:
    """Hours in the Redis history of every sensor named."""
    return sum(int(client.zcard(redis_keys.history(s))) for s in sensors)


def loss_and_duplicates(client: redis.Redis, expected: dict[str, Any]) -> tuple[int, int, int]:
    """(hours checked, hours missing from Redis, hours learned more than once) vs the reference.

    Learned-twice is read from the state checkpoints: a sensor whose restored ``readings``
    count exceeds the reference core's saw an hour twice.
    """
    from models.state import load_state

    checked = missing = doubled = 0
    for sensor, hours in expected["history"].items():
        members = client.zrange(redis_keys.history(sensor), 0, -1, withscores=True)
        got = {int(score) for _, score in members}
        checked += len(hours)
        missing += len(hours.keys() - got)
    for sensor, state in expected["core"].sensors.items():
        restored = load_state(client.hget(redis_keys.STATE, sensor))
        doubled += max(0, restored.readings - state.readings)
    return checked, missing, doubled


def record_figures(scenario: str, **figures: Any) -> None:
    """Save (and print) what a scenario measured."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    figures = {"scenario": scenario, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **figures}
    (FIGURES / f"{scenario}.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"reliability figures {scenario}: {figures}")
