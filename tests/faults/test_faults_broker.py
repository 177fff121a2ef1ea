"""The broker killed and restarted empty mid-replay: producers resume, workers rejoin, no gap.

The embedded broker keeps nothing across a restart (topics, records, committed offsets all
go). The replay is re-run with the same ``--checkpoint``; the worker, never restarted, must
rejoin the recreated topic from its beginning and skip, by its Redis checkpoints, every hour it
had already learned. Redis must end exactly as an uninterrupted in-process core leaves it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fault_harness import (
    REPO,
    history_sizes,
    loss_and_duplicates,
    record_figures,
    start_worker,
    worker_checks,
)

from commands.embedded import EmbeddedKafka
from commands.processes import ManagedProcess
from commands.worker_process import worker_env
from flowcast.kafka_admin import unique_topic_settings
from flowcast.settings import Settings

pytestmark = [pytest.mark.faults, pytest.mark.integration]
FILES = ("export_2022_sts-peres_191.csv.gz", "historique_2022_st-antoine_376.csv.gz")
SPEED = "3000000"  # simulated seconds per second: the 14 months replay in about 12 s


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    """A broker of this test's own (it is killed), on a port kept across restarts."""
    with EmbeddedKafka(log_dir=tmp_path / "kafka") as kafka:
        yield kafka


def checkpointed(path: Path) -> int:
    """Readings the replay's checkpoint says were delivered (0 before the first save)."""
    try:
        return int(json.loads(path.read_text())["readings"])
    except (OSError, ValueError, KeyError):
        return 0


def start_replay(settings: Settings, tmp_path: Path, checkpoint: Path, run: int) -> ManagedProcess:
    paths = [str(REPO / "data" / "paris" / name) for name in FILES]
    argv = [sys.executable, "-m", "commands.cli", "replay", *paths, "--speed", SPEED]
    return ManagedProcess(
        f"replay-{run}",
        [*argv, "--checkpoint", str(checkpoint)],
        tmp_path / f"replay-{run}.log",
        env=worker_env(settings, tmp_path / "state"),
        cwd=REPO,
    ).start()


def test_broker_restart_resumes_producers_and_workers_with_no_gap(
    broker: EmbeddedKafka, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    settings = unique_topic_settings(
        Settings(kafka_bootstrap=broker.bootstrap, redis_url=redis_url), "fault"
    )
    readings = worker_checks.real_readings(*FILES)
    expected = worker_checks.expected_outputs(readings)
    sensors = list(expected["history"])
    checkpoint = tmp_path / "replay-checkpoint.json"
    worker = start_worker(settings, tmp_path, "worker")

    first = start_replay(settings, tmp_path, checkpoint, 1)
    first.wait_for(lambda: checkpointed(checkpoint) >= len(readings) // 4, 90, "a quarter sent")
    first.kill()  # the producer crashes; the broker keeps what it acknowledged
    resumed_from = checkpointed(checkpoint)

    second = start_replay(settings, tmp_path, checkpoint, 2)
    second.wait_for(lambda: checkpointed(checkpoint) > len(readings) // 2, 90, "half sent")
    worker.wait_for(lambda: history_sizes(redis_client, sensors) > 0, 60, "forecasts in Redis")
    broker.kill()  # the broker dies with everything it held, and the producer with it
    second.kill()
    done_at_kill = history_sizes(redis_client, sensors)
    assert "resuming after" in second.log_tail(200)

    restarted = time.monotonic()
    broker.start()  # same port, empty
    third = start_replay(settings, tmp_path, checkpoint, 3)
    third.wait_for(lambda: third.returncode == 0, 120, "the replay to finish", require_alive=False)
    assert "replaying from the start" in " ".join(third.log_tail(200).split())
    worker_checks.wait_until_caught_up(redis_client, expected, worker)
    recovery_s = time.monotonic() - restarted
    checked, missing, doubled = loss_and_duplicates(redis_client, expected)
    worker_checks.assert_redis_matches(redis_client, expected)
    record_figures(
        "broker_restart",
        faults_injected=3,  # producer SIGKILL, then broker + producer SIGKILL
        records=len(readings),
        producer_resumed_after=resumed_from,
        hours_done_at_broker_kill=done_at_kill,
        hours_checked=checked,
        lost=missing,
        duplicated=doubled,
        recovery_s=round(recovery_s, 1),
        worker_restarts=0,
    )
    assert worker.alive, "the worker survived the broker restart without being restarted"
