"""A real worker on the real broker and Redis computes exactly what `flowcast evaluate` does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer

from commands.processes import ManagedProcess
from flowcast import redis_keys
from flowcast.records import Forecast, Reading, hour_index
from flowcast.settings import Settings
from models.core import ForecastCore
from models.report import report_from_accumulators
from models.state import load_state
from models.status import SensorStatus
from producers.files import InputCounts, ordered_readings
from producers.publisher import publish_all
from stream.batch import history_entry
from stream.sensor_views import outlook_of, status_of

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[2] / "data" / "paris"
Expected = dict[str, Any]


def real_readings(*patterns: str) -> list[Reading]:
    paths = sorted(p for pattern in patterns for p in DATA.glob(pattern))
    return list(ordered_readings(paths, InputCounts()))


def expected_outputs(readings: Iterable[Reading]) -> Expected:
    """What one uninterrupted in-process core produces from the same readings."""
    core = ForecastCore()
    history: dict[str, dict[int, dict[str, Any]]] = {}
    latest: dict[str, Forecast] = {}
    first: dict[str, datetime] = {}
    for reading in readings:
        step = core.process(reading)
        if step.duplicate:
            continue
        first.setdefault(reading.sensor_id, reading.ts)
        if step.scored is not None or step.observed is not None:
            entry = orjson.loads(history_entry(reading, step.scored))
            history.setdefault(reading.sensor_id, {})[hour_index(reading.ts)] = entry
        if step.forecast is not None:
            latest[reading.sensor_id] = step.forecast
    report = core.evaluation_report()
    return {"core": core, "history": history, "latest": latest, "report": report, "first": first}


def strip(forecast: dict[str, Any] | None) -> dict[str, Any] | None:
    """A forecast's JSON without its wall-clock ``produced_at``."""
    return None if forecast is None else {k: v for k, v in forecast.items() if k != "produced_at"}


def wait_until_caught_up(
    client: redis.Redis, expected: Expected, worker: ManagedProcess, timeout: float = 120
) -> None:
    targets = {sensor: f.ts for sensor, f in expected["latest"].items()}

    def caught_up() -> bool:
        raw = client.hgetall(redis_keys.LATEST)
        got = {k.decode(): Forecast.from_json(v).ts for k, v in raw.items()}
        return all(got.get(sensor) == ts for sensor, ts in targets.items())

    worker.wait_for(caught_up, timeout, "the worker to forecast the last hour of every sensor")


def assert_redis_matches(client: redis.Redis, expected: Expected) -> None:
    for sensor, forecast in expected["latest"].items():
        got = orjson.loads(client.hget(redis_keys.LATEST, sensor))
        assert strip(got) == strip(forecast.to_dict()), sensor
    for sensor, hours in expected["history"].items():
        members = client.zrange(redis_keys.history(sensor), 0, -1, withscores=True)
        got = {int(score): orjson.loads(member) for member, score in members}
        assert got.keys() == hours.keys(), f"{sensor}: hours missing or extra"
        for hour, entry in hours.items():
            assert got[hour]["observed"] == entry["observed"]
            assert strip(got[hour]["forecast"]) == strip(entry["forecast"]), (sensor, hour)
    per_sensor = {
        k.decode(): orjson.loads(v) for k, v in client.hgetall(redis_keys.EVALUATION).items()
    }
    live = report_from_accumulators(per_sensor)
    for key in ("champion", "models", "baselines", "by_sensor", "interval", "scored"):
        assert live[key] == expected["report"][key], key
    core: ForecastCore = expected["core"]
    for sensor, state in core.sensors.items():
        restored = load_state(client.hget(redis_keys.STATE, sensor))
        assert (restored.readings, restored.learned) == (state.readings, state.learned), sensor
        assert_views_match(client, core, sensor, expected["first"][sensor])


def assert_views_match(
    client: redis.Redis, core: ForecastCore, sensor: str, first: datetime
) -> None:
    """The worker's outlook and status of ``sensor`` are those of the uninterrupted core."""
    outlook = outlook_of(core, sensor)
    stored = client.hget(redis_keys.OUTLOOK, sensor)
    if outlook is None:
        assert stored is None, sensor
    else:
        got = orjson.loads(stored)
        assert [h["horizon"] for h in got["forecasts"]] == list(range(1, 25)), sensor
        assert [strip(h) for h in got["forecasts"]] == [
            strip(h.to_dict()) for h in outlook.hours
        ], sensor
    status = SensorStatus.from_json(client.hget(redis_keys.SENSOR_STATUS, sensor))
    assert status == status_of(core, sensor, first), sensor


def test_worker_forecasts_equal_the_in_process_core(
    fresh_topics: Settings, redis_client: redis.Redis, start_worker: Callable[..., ManagedProcess]
) -> None:
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(redis_keys.FORECASTS_CHANNEL)
    readings = real_readings("export_2022_sts-peres_191.csv.gz", "historique_*.csv.gz")[::1]
    readings = [r for r in readings if r.ts.month <= 4]
    counts = publish_all(
        readings,
        str(fresh_topics.kafka_bootstrap),
        readings_topic=fresh_topics.readings_topic,
        deadletter_topic=fresh_topics.deadletter_topic,
    )
    assert counts.readings == len(readings)
    expected = expected_outputs(readings)
    worker = start_worker(fresh_topics)
    wait_until_caught_up(redis_client, expected, worker)
    assert_redis_matches(redis_client, expected)
    pushed = None
    deadline = time.monotonic() + 10
    while pushed is None and time.monotonic() < deadline:
        pushed = pubsub.get_message(timeout=1)  # None also for the subscription's own reply
    assert pushed is not None, "no forecast published"
    columns = orjson.loads(pushed["data"])["outlook"]
    assert {k: len(v) for k, v in columns.items()} == dict.fromkeys(
        ("flow", "flow_low", "flow_high", "usual"), 24
    )
    pubsub.close()


def test_a_worker_killed_mid_replay_loses_and_repeats_nothing(
    fresh_topics: Settings, redis_client: redis.Redis, start_worker: Callable[..., ManagedProcess]
) -> None:
    readings = real_readings("export_2022_*.csv.gz", "historique_*.csv.gz")
    publish_all(
        readings,
        str(fresh_topics.kafka_bootstrap),
        readings_topic=fresh_topics.readings_topic,
        deadletter_topic=fresh_topics.deadletter_topic,
    )
    expected = expected_outputs(readings)
    total_hours = sum(len(hours) for hours in expected["history"].values())
    first = start_worker(fresh_topics, "worker-1")

    def history_size() -> int:
        return sum(client_zcard(redis_client, s) for s in expected["history"])

    first.wait_for(lambda: history_size() > total_hours // 5, 120, "the first batches")
    first.kill()
    done_at_kill = history_size()
    assert done_at_kill < total_hours, "the worker finished before it could be killed"
    second = start_worker(fresh_topics, "worker-2")
    wait_until_caught_up(redis_client, expected, second)
    assert_redis_matches(redis_client, expected)


def client_zcard(client: redis.Redis, sensor: str) -> int:
    return int(client.zcard(redis_keys.history(sensor)))


def test_bad_messages_are_dead_lettered_and_the_worker_carries_on(
    fresh_topics: Settings, redis_client: redis.Redis, start_worker: Callable[..., ManagedProcess]
) -> None:
    readings = real_readings("export_2022_sts-peres_191.csv.gz")[:300]
    producer = KafkaProducer(bootstrap_servers=fresh_topics.kafka_bootstrap, acks="all")
    topic = fresh_topics.readings_topic
    bad = [
        (b"191", b"\xff\xfe not json"),
        (b"191", b'{"sensor_id": "191"}'),
        (b"191", b'{"sensor_id": "191", "ts": "yesterday", "flow": 3}'),
        (b"191", b'{"sensor_id": "191", "ts": "2022-01-01T00:00:00Z", "flow": "many"}'),
        (b"999", readings[0].to_json()),
        (b"191", b"[1, 2, 3]"),
    ]
    for key, value in bad:
        producer.send(topic, key=key, value=value)
    for reading in readings:
        producer.send(topic, key=reading.sensor_id.encode(), value=reading.to_json())
    producer.flush()
    producer.close()
    expected = expected_outputs(readings)
    worker = start_worker(fresh_topics)
    wait_until_caught_up(redis_client, expected, worker)
    assert_redis_matches(redis_client, expected)
    reasons = dead_letter_reasons(fresh_topics, len(bad))
    assert sorted(reasons) == sorted(
        ["bad_json", "missing_field", "bad_value", "bad_value", "key_mismatch", "bad_value"]
    )


def dead_letter_reasons(settings: Settings, count: int) -> list[str]:
    consumer = KafkaConsumer(
        settings.deadletter_topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
    )
    reasons: list[str] = []
    deadline = time.monotonic() + 30
    while len(reasons) < count and time.monotonic() < deadline:
        for message in consumer:
            reasons.append(orjson.loads(message.value)["reason"])
    consumer.close()
    return reasons
