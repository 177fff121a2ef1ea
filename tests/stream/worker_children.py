"""The worker child of the worker tests and the fault suite (one definition for both)."""

from __future__ import annotations

from pathlib import Path

from commands.processes import ManagedProcess
from commands.worker_process import start_worker
from flowcast.settings import Settings

REPO = Path(__file__).resolve().parents[2]
# every hour stays in the Redis history, so it can be compared with the in-process core's
WORKER_TEST_ENV = {"FLOWCAST_HISTORY_HOURS": "100000"}


def start_test_worker(settings: Settings, log_dir: Path, name: str = "worker") -> ManagedProcess:
    """``flowcast worker`` on the settings' broker, Redis and topics, logging to ``log_dir``."""
    return start_worker(settings, log_dir, name, WORKER_TEST_ENV, cwd=REPO)
