"""Topic administration: create Flowcast's topics up front, idempotently.

Topics are created explicitly (never left to broker auto-creation) so every topic gets
``settings.partitions`` partitions, the unit of parallelism of the stream workers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import RetriableError, TopicAlreadyExistsError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

from flowcast.kafka_auth import client_kwargs
from flowcast.settings import Settings

POLL_S = 0.05


def topic_names(settings: Settings) -> tuple[str, str, str]:
    """The readings, dead-letter and forecasts topics of `settings`."""
    return settings.readings_topic, settings.deadletter_topic, settings.forecasts_topic


@contextlib.contextmanager
def admin_client(
    bootstrap: str, timeout_s: float = 10.0, security: Mapping[str, Any] | None = None
) -> Iterator[KafkaAdminClient]:
    """A kafka-python admin client, closed on exit (``security``: `flowcast.kafka_auth`)."""
    timeout_ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="flowcast-admin",
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=timeout_ms,
        **(security or {}),
    )
    try:
        yield admin
    finally:
        admin.close()


def partition_counts(admin: KafkaAdminClient, names: tuple[str, ...]) -> dict[str, int]:
    """Partitions per topic, for those of `names` the broker's metadata already shows."""
    present = [name for name in names if name in set(admin.list_topics())]
    if not present:
        return {}
    described = admin.describe_topics(present)
    return {
        topic["name"]: len(topic["partitions"])
        for topic in described
        if topic["error_code"] == 0 and topic["partitions"]
    }


def ensure_topics(bootstrap: str, settings: Settings, timeout_s: float = 30.0) -> None:
    """Create the readings, dead-letter and forecasts topics if missing; wait until visible.

    Each new topic gets ``settings.partitions`` partitions (replication factor 1); topics
    that already exist are left as they are.
    """
    names = topic_names(settings)
    with admin_client(bootstrap, security=client_kwargs(settings)) as admin:
        missing = [name for name in names if name not in partition_counts(admin, names)]
        if missing:
            _create(admin, missing, settings.partitions)

        visible = Retrying(
            stop=stop_after_delay(timeout_s),
            wait=wait_fixed(POLL_S),
            retry=retry_if_result(lambda count: count < len(names))
            | retry_if_exception_type(RetriableError),
        )
        try:
            visible(lambda: len(partition_counts(admin, names)))
        except RetryError:
            what = f"topics {', '.join(names)} in {bootstrap} metadata"
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}") from None


def _create(admin: KafkaAdminClient, names: list[str], partitions: int) -> None:
    with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently: fine
        admin.create_topics([NewTopic(name, partitions, 1) for name in names])


def unique_topic_settings(settings: Settings, tag: str | None = None) -> Settings:
    """A copy of `settings` whose topics and app id are unique (for tests and benchmarks).

    >>> s = unique_topic_settings(Settings(), "t1")
    >>> s.readings_topic.startswith("t1-") and s.app_id.endswith("-app")
    True
    """
    prefix = f"{tag or 'flowcast'}-{uuid.uuid4().hex[:10]}"
    return settings.model_copy(
        update={
            "readings_topic": f"{prefix}-readings",
            "deadletter_topic": f"{prefix}-readings.deadletter",
            "forecasts_topic": f"{prefix}-forecasts",
            "app_id": f"{prefix}-app",
        }
    )
