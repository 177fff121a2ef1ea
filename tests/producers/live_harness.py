"""Run the live feed in-process against the fake API and the real broker; read back the topics.

`open_feed` builds what ``flowcast live`` builds (client, publisher, Kafka state, pager) with
short timeouts and backoffs, so one `Pager.poll` is one deterministic poll.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from flowcast.records import Reading
from flowcast.settings import Settings
from producers.live.api import records_url
from producers.live.http_client import ApiClient
from producers.live.kafka_state import KafkaState
from producers.live.loop import LiveIO, LiveLoop, feed_source
from producers.live.mark import FeedMark
from producers.live.metrics import FeedMetrics
from producers.live.pager import Pager
from producers.live.status import FeedStatus
from producers.normalise import normalise_api_record
from producers.publisher import Publisher
from producers.timestamps import LocalTimeResolver

SINCE = datetime(2023, 10, 2, 23, tzinfo=UTC)  # 2023-10-03 01:00 Paris: the first reshaped hour
Key = tuple[str, datetime]


@dataclass
class Feed:
    """One in-process live feed and what observes it."""

    pager: Pager
    loop: LiveLoop
    metrics: FeedMetrics
    state: KafkaState
    stop: threading.Event

    def failed_calls(self, reason: str) -> float:
        return self.metrics.failed_calls.labels(reason)._value.get()

    def errors(self, reason: str) -> float:
        return self.metrics.errors.labels(reason)._value.get()


@contextmanager
def open_feed(
    settings: Settings,
    url: str,
    *,
    since: datetime = SINCE,
    page_size: int = 20,
    lookback_hours: int = 2,
    timeout_s: float = 2.0,
    retry_deadline_s: float = 10.0,
    retry_max_wait_s: float = 0.05,
    io_factory: type[LiveIO] = LiveIO,
) -> Iterator[Feed]:
    """A live feed on ``settings``' topics polling ``url`` (resuming its mark if saved)."""
    assert settings.kafka_bootstrap
    stop, metrics = threading.Event(), FeedMetrics()
    live = settings.model_copy(
        update={
            "live_timeout_s": timeout_s,
            "live_retry_max_wait_s": retry_max_wait_s,
            "live_retry_deadline_s": retry_deadline_s,
        }
    )
    with ExitStack() as stack:
        client = stack.enter_context(
            closing(
                ApiClient.from_settings(
                    url, live, stop=stop, on_failure=lambda r: metrics.failed_calls.labels(r).inc()
                )
            )
        )
        publisher = stack.enter_context(
            Publisher(
                settings.kafka_bootstrap,
                readings_topic=settings.readings_topic,
                deadletter_topic=settings.deadletter_topic,
                notify=lambda message: None,
            )
        )
        state = stack.enter_context(closing(KafkaState(settings.kafka_bootstrap, settings)))
        fresh = FeedMark.fresh(records_url(url), since, {}, lookback_hours)
        mark, _ = state.open(fresh, feed_source(url))
        io = io_factory(client, publisher, state, metrics, stop)
        pager = Pager(mark, io, source=feed_source(url), page_size=page_size)
        status = FeedStatus(records_url(url), every_s=1.0)
        loop = LiveLoop(
            pager, every_s=1.0, stop=stop, metrics=metrics, status=status, status_writer=None
        )
        yield Feed(pager, loop, metrics, state, stop)


def read_topic(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[bytes]:
    """Every value of ``topic``, from its beginning to where it ends now."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"{topic} not read within {timeout_s} s"
            for records in consumer.poll(timeout_ms=200).values():
                values.extend(r.value for r in records)
        for records in consumer.poll(timeout_ms=200).values():  # Tansu: ends lag the last batch
            values.extend(r.value for r in records)
        return values
    finally:
        consumer.close()


def published_readings(settings: Settings) -> list[Reading]:
    assert settings.kafka_bootstrap
    return [
        Reading.from_json(v) for v in read_topic(settings.kafka_bootstrap, settings.readings_topic)
    ]


def published_dead_letters(settings: Settings) -> list[dict[str, Any]]:
    assert settings.kafka_bootstrap
    values = read_topic(settings.kafka_bootstrap, settings.deadletter_topic)
    return [orjson.loads(v) for v in values]


def keys_of(readings: list[Reading]) -> Counter[Key]:
    """How many times each (sensor, hour) was published."""
    return Counter((r.sensor_id, r.ts) for r in readings)


def expected_readings(records: Any) -> dict[Key, Reading]:
    """What the API JSON reader makes of ``records`` (source aside), by (sensor, hour)."""
    resolver = LocalTimeResolver()
    found: dict[Key, Reading] = {}
    for index, record in enumerate(records):
        item = normalise_api_record(record, "expected", f"#{index}", resolver)
        if isinstance(item, Reading):
            found.setdefault((item.sensor_id, item.ts), item)
    return found


def same_values(got: Reading, want: Reading) -> bool:
    fields = ("flow", "occupancy", "traffic_state", "arc_state", "calendar")
    return all(getattr(got, name) == getattr(want, name) for name in fields)
