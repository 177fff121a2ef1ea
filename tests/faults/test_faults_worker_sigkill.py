"""A worker SIGKILLed at random moments, several times in one replay, loses and repeats nothing.

Redis must end exactly as an uninterrupted in-process core leaves it: every hour's forecast
and observation, the live evaluation, and each sensor's checkpoint (readings seen and hours
learned: an hour learned twice would show there).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import redis
from fault_harness import (
    history_sizes,
    loss_and_duplicates,
    record_figures,
    start_worker,
    worker_checks,
)

from flowcast.settings import Settings
from producers.publisher import publish_all

pytestmark = [pytest.mark.faults, pytest.mark.integration]
KILLS = 3


def test_repeated_sigkills_lose_and_repeat_no_hour(
    fresh_topics: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    seed = int(os.environ.get("FLOWCAST_FAULT_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    readings = worker_checks.real_readings("export_2022_*.csv.gz", "historique_*.csv.gz")
    publish_all(
        readings,
        str(fresh_topics.kafka_bootstrap),
        readings_topic=fresh_topics.readings_topic,
        deadletter_topic=fresh_topics.deadletter_topic,
        notify=lambda _: None,
    )
    expected = worker_checks.expected_outputs(readings)
    sensors = list(expected["history"])
    total = sum(len(hours) for hours in expected["history"].values())
    # kill points: random fractions of the work, increasing, one per kill
    points = sorted(rng.uniform(0.05, 0.9) for _ in range(KILLS))
    kill_times: list[float] = []
    for number, point in enumerate(points, start=1):
        worker = start_worker(fresh_topics, tmp_path, f"worker-{number}")
        target = int(total * point)
        worker.wait_for(
            lambda target=target: history_sizes(redis_client, sensors) >= target, 120, "progress"
        )
        time.sleep(rng.uniform(0, 0.2))  # a random moment inside a batch, not at a boundary
        worker.kill()
        kill_times.append(time.monotonic())
    done_at_last_kill = history_sizes(redis_client, sensors)
    assert done_at_last_kill < total, "the replay finished before the last kill"
    last = start_worker(fresh_topics, tmp_path, "worker-final")
    started = time.monotonic()
    worker_checks.wait_until_caught_up(redis_client, expected, last)
    caught_up_s = time.monotonic() - started
    checked, missing, doubled = loss_and_duplicates(redis_client, expected)
    worker_checks.assert_redis_matches(redis_client, expected)
    record_figures(
        "worker_sigkill",
        seed=seed,
        faults_injected=KILLS,
        kill_points=[round(p, 3) for p in points],
        records=len(readings),
        hours_checked=checked,
        lost=missing,
        duplicated=doubled,
        final_catch_up_s=round(caught_up_s, 1),
    )
    assert (missing, doubled) == (0, 0)
