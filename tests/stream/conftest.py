"""Fixtures of the worker integration tests: worker processes stopped at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from worker_children import start_test_worker

from commands.processes import ManagedProcess
from flowcast.settings import Settings


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[Settings, str], ManagedProcess]]:
    """Start ``flowcast worker`` processes; every one still alive is stopped at the end."""
    started: list[ManagedProcess] = []

    def start(settings: Settings, name: str = "worker") -> ManagedProcess:
        process = start_test_worker(settings, tmp_path, name)
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
