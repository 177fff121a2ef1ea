"""Helpers for worker integration tests: real readings on unique topics, worker processes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowcast.processes import ManagedProcess
from flowcast.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def worker_env(settings: Settings, state_dir: Path) -> dict[str, str]:
    """The environment of a ``flowcast worker`` bound to the test's services and topics."""
    return {
        **os.environ,
        "FLOWCAST_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap),
        "FLOWCAST_REDIS_URL": str(settings.redis_url),
        "FLOWCAST_READINGS_TOPIC": settings.readings_topic,
        "FLOWCAST_DEADLETTER_TOPIC": settings.deadletter_topic,
        "FLOWCAST_FORECASTS_TOPIC": settings.forecasts_topic,
        "FLOWCAST_APP_ID": settings.app_id,
        "FLOWCAST_PARTITIONS": str(settings.partitions),
        "FLOWCAST_HISTORY_HOURS": "100000",
        "FLOWCAST_STATE_DIR": str(state_dir),
        "FLOWCAST_WORKER_TRACKING": "false",
    }


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[Settings, str], ManagedProcess]]:
    """Start ``flowcast worker`` processes; every one still alive is stopped at the end."""
    started: list[ManagedProcess] = []

    def start(settings: Settings, name: str = "worker") -> ManagedProcess:
        process = ManagedProcess(
            name,
            [sys.executable, "-m", "flowcast.cli", "worker"],
            tmp_path / f"{name}.log",
            env=worker_env(settings, tmp_path / "state"),
            cwd=REPO,
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
