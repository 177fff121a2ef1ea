"""Two workers in one consumer group share the partitions; when one dies the other takes over.

The survivor restores the dead worker's sensors from their Redis checkpoints: the final Redis
must equal what one uninterrupted in-process core leaves (every hour, every forecast, every
sensor's state), which it cannot if any state was lost or any hour learned twice.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import pytest
import redis
from kafka.partitioner.default import murmur2
from test_stream_worker import (
    assert_redis_matches,
    expected_outputs,
    real_readings,
    wait_until_caught_up,
)

from commands.processes import ManagedProcess
from commands.worker_process import assigned_partitions, workers_settled
from flowcast import redis_keys
from flowcast.records import Forecast, Reading
from flowcast.settings import Settings
from producers.publisher import publish_all
from stream.kafka_io import group_settled, last_assignment

FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "scale-out"


def test_last_assignment_reads_the_latest_assignment_line() -> None:
    log = (
        "INFO stream.kafka_io partitions assigned: [0, 1, 2, 3]\n"
        "INFO stream.kafka_io partitions revoked: [0, 1, 2, 3]\n"
        "INFO stream.kafka_io partitions assigned: [1, 3]\n"
    )
    assert last_assignment(log) == [1, 3]
    assert last_assignment("INFO stream.kafka_io partitions assigned: []\n") == []
    assert last_assignment("nothing assigned yet") is None


def test_a_group_is_settled_when_its_members_split_every_partition_once() -> None:
    assert group_settled([[0, 2], [1, 3]], 4)
    assert not group_settled([[0, 1, 2, 3], []], 4)  # a member still waiting
    assert not group_settled([[0, 1, 2], [2, 3]], 4)  # one partition owned twice
    assert not group_settled([[0, 1], [2]], 4)  # one not covered
    assert not group_settled([[0, 1, 2, 3], None], 4)


def partition_of(sensor: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key (what the producer used)."""
    return (murmur2(sensor.encode()) & 0x7FFFFFFF) % partitions


def publish(settings: Settings, readings: list[Reading]) -> None:
    counts = publish_all(
        readings,
        str(settings.kafka_bootstrap),
        readings_topic=settings.readings_topic,
        deadletter_topic=settings.deadletter_topic,
        notify=lambda _: None,
    )
    assert counts.readings == len(readings)


def latest_ts(client: redis.Redis, sensors: Sequence[str]) -> dict[str, datetime | None]:
    raw = client.hmget(redis_keys.LATEST, list(sensors))
    pairs = zip(sensors, raw, strict=True)
    return {s: None if v is None else Forecast.from_json(v).ts for s, v in pairs}


def by_time(readings: list[Reading], *fractions: float) -> list[list[Reading]]:
    """The readings cut into consecutive spans of event time (each keeps per-sensor order)."""
    ordered = sorted(readings, key=lambda r: r.ts)
    bounds = [0, *(int(len(ordered) * f) for f in fractions), len(ordered)]
    return [ordered[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.integration
def test_two_workers_share_the_sensors_and_one_takes_over_when_the_other_is_killed(
    fresh_topics: Settings, redis_client: redis.Redis, start_worker: Callable[..., ManagedProcess]
) -> None:
    readings = real_readings("export_2022_*.csv.gz", "historique_*.csv.gz", "extract_*.csv.gz")
    warm_up, shared, after_kill = by_time(readings, 0.3, 0.65)
    expected = expected_outputs(readings)
    partitions = fresh_topics.partitions
    first = start_worker(fresh_topics, "worker-a")
    second = start_worker(fresh_topics, "worker-b")
    publish(fresh_topics, warm_up)
    first.wait_for(lambda: workers_settled([first, second], partitions), 120, "the group to split")
    split = {w.name: assigned_partitions(w) for w in (first, second)}

    # both workers now serve their own sensors: the shared span is processed by the two
    publish(fresh_topics, shared)
    # the last forecast of each sensor before the kill, as the uninterrupted core makes it
    before_kill = {s: f.ts for s, f in expected_outputs(warm_up + shared)["latest"].items()}
    sensors = sorted(before_kill)
    owners = {w.name: set(assigned_partitions(w) or []) for w in (first, second)}
    by_worker = {
        name: [s for s in sensors if partition_of(s, partitions) in parts]
        for name, parts in owners.items()
    }
    assert all(by_worker.values()), f"one worker owns none of the sensors: {by_worker}"

    def served_up_to_shared() -> bool:
        got = latest_ts(redis_client, sensors)
        return all(got[s] == before_kill[s] for s in sensors)

    first.wait_for(served_up_to_shared, 120, "both workers to forecast the shared span")
    assert {w.name: assigned_partitions(w) for w in (first, second)} == split, (
        "the group moved meanwhile"
    )

    first.kill()
    killed_at = time.monotonic()
    publish(fresh_topics, after_kill)
    orphans = by_worker["worker-a"]
    after_kill_sensors = {r.sensor_id for r in after_kill}
    watched = [s for s in orphans if s in after_kill_sensors]
    assert watched, "no sensor of the killed worker has readings after the kill"

    def orphan_served() -> bool:
        got = latest_ts(redis_client, watched)
        return any(got[s] != before_kill[s] for s in watched)

    second.wait_for(orphan_served, 120, "the survivor to forecast a sensor of the dead worker")
    takeover_s = time.monotonic() - killed_at
    wait_until_caught_up(redis_client, expected, second)
    caught_up_s = time.monotonic() - killed_at
    assert assigned_partitions(second) == list(range(partitions))
    assert_redis_matches(redis_client, expected)

    FIGURES.mkdir(parents=True, exist_ok=True)
    figures = {
        "readings": len(readings),
        "sensors": len(expected["latest"]),
        "split": split,
        "takeover_s": round(takeover_s, 1),
        "all_caught_up_after_kill_s": round(caught_up_s, 1),
    }
    (FIGURES / "takeover.json").write_text(json.dumps(figures, indent=2))
    print(f"scale-out figures: {figures}")
