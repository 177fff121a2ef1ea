"""Topic creation against the session broker: partitions, idempotence, unique names."""

from __future__ import annotations

import pytest

from flowcast.kafka_admin import (
    admin_client,
    ensure_topics,
    partition_counts,
    topic_names,
    unique_topic_settings,
)
from flowcast.settings import Settings


def test_unique_topic_settings_are_unique_and_keep_the_rest() -> None:
    base = Settings(partitions=3, redis_url="redis://x:1/0")

    first, second = unique_topic_settings(base, "t"), unique_topic_settings(base, "t")

    assert len(set(topic_names(first)) | set(topic_names(second))) == 6
    assert first.app_id != second.app_id
    assert first.readings_topic.startswith("t-")
    assert (first.partitions, first.redis_url) == (3, "redis://x:1/0")


@pytest.mark.integration
def test_ensure_topics_creates_all_three_with_the_partition_count(kafka_bootstrap: str) -> None:
    settings = unique_topic_settings(Settings(partitions=5))

    ensure_topics(kafka_bootstrap, settings)

    with admin_client(kafka_bootstrap) as admin:
        counts = partition_counts(admin, topic_names(settings))
    assert counts == dict.fromkeys(topic_names(settings), 5)


@pytest.mark.integration
def test_ensure_topics_is_idempotent(kafka_bootstrap: str) -> None:
    settings = unique_topic_settings(Settings(partitions=2))
    ensure_topics(kafka_bootstrap, settings)

    ensure_topics(kafka_bootstrap, settings.model_copy(update={"partitions": 4}))

    with admin_client(kafka_bootstrap) as admin:
        assert partition_counts(admin, topic_names(settings)) == dict.fromkeys(
            topic_names(settings), 2
        )
