"""The shared fixtures themselves: fresh topics, an empty Redis, the bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from flowcast.kafka_admin import admin_client, partition_counts, topic_names
from flowcast.settings import Settings

pytestmark = pytest.mark.integration


def test_fresh_topics_exist_and_point_at_the_session_services(
    fresh_topics: Settings, kafka_bootstrap: str, redis_url: str
) -> None:
    assert (fresh_topics.kafka_bootstrap, fresh_topics.redis_url) == (kafka_bootstrap, redis_url)
    with admin_client(kafka_bootstrap) as admin:
        counts = partition_counts(admin, topic_names(fresh_topics))
    assert counts == dict.fromkeys(topic_names(fresh_topics), fresh_topics.partitions)


def test_fresh_topics_start_empty_for_every_test(fresh_topics: Settings) -> None:
    assert fresh_topics.kafka_bootstrap is not None
    producer = KafkaProducer(bootstrap_servers=fresh_topics.kafka_bootstrap)
    producer.send(fresh_topics.readings_topic, key=b"s1", value=b"only-this")
    producer.flush(timeout=10)
    producer.close()

    consumer = KafkaConsumer(
        bootstrap_servers=fresh_topics.kafka_bootstrap, auto_offset_reset="earliest"
    )
    partitions = [
        TopicPartition(fresh_topics.readings_topic, p) for p in range(fresh_topics.partitions)
    ]
    consumer.assign(partitions)
    consumer.seek_to_end()
    ends = {tp: consumer.position(tp) for tp in partitions}
    consumer.close()
    assert sum(ends.values()) == 1


@pytest.mark.parametrize("round_", [1, 2])
def test_redis_client_starts_empty(redis_client: redis.Redis, round_: int) -> None:
    assert redis_client.dbsize() == 0
    redis_client.set(f"left-over-{round_}", b"x")
    assert redis_client.dbsize() == 1


def test_data_dir_holds_the_bundled_files(data_dir: Path) -> None:
    names = {path.name for path in data_dir.glob("*.gz")}
    assert "extract_2023_69arcs.csv.gz" in names
    assert any(name.startswith("export_") for name in names)
