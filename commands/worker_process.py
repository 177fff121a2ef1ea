"""``flowcast worker`` as a child process bound to given settings (benchmarks and tests).

One place says which settings a worker child inherits, so the benchmarks, the worker tests
and the fault suite start the same worker on the same broker, Redis and topics.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from commands.processes import ManagedProcess
from flowcast.settings import Settings
from stream.kafka_io import group_settled, last_assignment


def worker_env(
    settings: Settings, state_dir: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This process's environment plus ``settings``' broker, Redis, topics and group.

    MLflow tracking is off (children of benchmarks and tests record nothing); ``extra``
    overrides or adds variables.

    >>> env = worker_env(Settings(kafka_bootstrap="k:9092", redis_url="redis://r"), Path("s"))
    >>> env["FLOWCAST_KAFKA_BOOTSTRAP"], env["FLOWCAST_WORKER_TRACKING"]
    ('k:9092', 'false')
    """
    if not settings.kafka_bootstrap or not settings.redis_url:
        raise ValueError("a worker child needs settings with kafka_bootstrap and redis_url")
    return {
        **os.environ,
        "FLOWCAST_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "FLOWCAST_REDIS_URL": settings.redis_url,
        "FLOWCAST_READINGS_TOPIC": settings.readings_topic,
        "FLOWCAST_DEADLETTER_TOPIC": settings.deadletter_topic,
        "FLOWCAST_FORECASTS_TOPIC": settings.forecasts_topic,
        "FLOWCAST_APP_ID": settings.app_id,
        "FLOWCAST_PARTITIONS": str(settings.partitions),
        "FLOWCAST_STATE_DIR": str(state_dir),
        "FLOWCAST_WORKER_TRACKING": "false",
        **(extra or {}),
    }


def start_worker(
    settings: Settings,
    log_dir: Path,
    name: str = "worker",
    extra: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ManagedProcess:
    """A started ``flowcast worker`` child logging to ``log_dir/<name>.log``; its state
    directory is ``log_dir/state``."""
    return ManagedProcess(
        name,
        [sys.executable, "-m", "commands.cli", "worker"],
        log_dir / f"{name}.log",
        env=worker_env(settings, log_dir / "state", extra),
        cwd=cwd,
    ).start()


def assigned_partitions(worker: ManagedProcess) -> list[int] | None:
    """The partitions the worker's log last says it owns (None before any assignment)."""
    return last_assignment(worker.log_path.read_text(errors="replace"))


def workers_settled(workers: list[ManagedProcess], partitions: int) -> bool:
    """Whether ``workers`` share all ``partitions`` of their group, each owning some."""
    return group_settled([assigned_partitions(w) for w in workers], partitions)
