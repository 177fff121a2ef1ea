"""`flowcast replay` through the real broker: read back exactly what was sent."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from commands.replay import EXIT_OK, run_replay
from flowcast.records import Reading
from flowcast.settings import Settings
from producers.files import InputCounts, ordered_readings

pytestmark = pytest.mark.integration


def consume_all(settings: Settings, topic: str, expected: int) -> list[object]:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        consumer_timeout_ms=3000,
        enable_auto_commit=False,
    )
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    records = []
    while len(records) < expected:
        batch = list(consumer)
        if not batch:
            break
        records.extend(batch)
    consumer.close()
    return records


def test_replay_publishes_every_valid_record_keyed_and_timestamped(
    fresh_topics: Settings, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [
        data_dir / "historique_2022_st-antoine_376.csv.gz",
        data_dir / "api_v2.1_records_2026-06-21.json.gz",
        data_dir / "referentiel-comptages-routiers.csv.gz",  # skipped: geometry, not counts
    ]
    code = run_replay(fresh_topics, files, speed="max", start=None, days=None, sensors=None)
    assert code == EXIT_OK
    err = capsys.readouterr().err
    assert "skipped" in err and "referential" in err
    counts = InputCounts()
    expected = list(ordered_readings(files[:2], counts))
    assert counts.read.dead_letters == {"nonexistent_local_time": 1}

    records = consume_all(fresh_topics, fresh_topics.readings_topic, len(expected))
    assert len(records) == len(expected)
    got: dict[str, list[Reading]] = {}
    for record in records:
        reading = Reading.from_json(record.value)  # type: ignore[attr-defined]
        assert record.key == reading.sensor_id.encode()  # type: ignore[attr-defined]
        assert record.timestamp == int(reading.ts.timestamp() * 1000)  # type: ignore[attr-defined]
        got.setdefault(reading.sensor_id, []).append(reading)
    want: dict[str, list[Reading]] = {}
    for reading in expected:
        want.setdefault(reading.sensor_id, []).append(reading)
    assert got == want  # every reading, in event-time order per sensor

    dead = consume_all(fresh_topics, fresh_topics.deadletter_topic, 1)
    assert [orjson.loads(d.value)["reason"] for d in dead] == ["nonexistent_local_time"]  # type: ignore[attr-defined]
