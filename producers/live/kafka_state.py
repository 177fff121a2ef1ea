"""The mark kept in Kafka, and the rebuild of what the feed already published from the topics.

Why Kafka and not Redis: the mark describes records in Kafka, so it lives and vanishes with
them (a broker restarted empty loses both, and the feed starts afresh instead of believing it
published hours nobody has); and the poller then needs nothing but the broker. The mark is a
small JSON message (no dedupe keys) in a compacted one-partition topic
``<readings topic>.live-mark``, keyed by the feed's records URL; the last one wins.

A mark is committed after the page it describes was acknowledged, so it may lag what was
published (a kill between the two). `KafkaState.open` therefore reads the readings and
dead-letter topics from where the mark's kept hours began (`FeedMark.rebuild_from`) and
marks every record this feed published there as published: none is sent twice.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from flowcast.kafka_admin import admin_client
from flowcast.kafka_auth import client_kwargs
from flowcast.records import Reading
from flowcast.settings import Settings
from producers.live.mark import (
    DEAD_LETTERS,
    READINGS,
    FeedMark,
    LogOffsets,
    MarkError,
    dead_letter_key,
    window_of_position,
)
from producers.publisher import ProducerLike, make_kafka_producer

log = logging.getLogger(__name__)
READ_DEADLINE_S = 120.0
POLL_MS = 200


def mark_topic(settings: Settings) -> str:
    """The topic holding the live feed's marks (next to the readings topic it describes)."""
    return f"{settings.readings_topic}.live-mark"


def ensure_mark_topic(
    bootstrap: str, topic: str, security: Mapping[str, Any] | None = None
) -> None:
    """Create the mark topic (one partition, compacted) if it does not exist."""
    with admin_client(bootstrap, security=security) as admin:
        if topic in set(admin.list_topics()):
            return
        new = NewTopic(topic, 1, 1, topic_configs={"cleanup.policy": "compact"})
        with suppress(TopicAlreadyExistsError):
            admin.create_topics([new])


class KafkaState:
    """Loads, rebuilds and saves one feed's mark; reads where the topics end."""

    def __init__(
        self,
        bootstrap: str,
        settings: Settings,
        *,
        producer_factory: Callable[[str], ProducerLike] | None = None,
    ) -> None:
        security = client_kwargs(settings)
        self.topics = {READINGS: settings.readings_topic, DEAD_LETTERS: settings.deadletter_topic}
        self.mark_topic = mark_topic(settings)
        ensure_mark_topic(bootstrap, self.mark_topic, security)
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id="flowcast-live",
            enable_auto_commit=False,
            bootstrap_timeout_ms=10_000,
            **security,
        )
        factory = producer_factory or functools.partial(make_kafka_producer, security=security)
        self._producer = factory(bootstrap)

    def close(self) -> None:
        self._consumer.close()
        self._producer.close(timeout=10)

    # --- the mark -------------------------------------------------------------------------

    def open(self, fresh: FeedMark, source: str) -> tuple[FeedMark, int]:
        """The saved mark of ``fresh.feed`` with what was published since it was saved (or
        ``fresh``, saved at once with where the topics end now); and how many published
        records the topics showed."""
        saved = self._load(fresh.feed)
        if saved is None:
            fresh.log_floor = self.log_ends()
            self.save(fresh)
            return fresh, 0
        found = self.rebuild(saved, source)
        return saved, found

    def _load(self, feed: str) -> FeedMark | None:
        raw: bytes | None = None
        for _, key, value in self._read({self.mark_topic: {0: 0}}):
            if key == feed.encode():
                raw = value
        if raw is None:
            return None
        try:
            return FeedMark.from_json(raw, feed)
        except MarkError as exc:
            log.error("the saved mark of %s is unreadable (%s): starting afresh", feed, exc)
            return None

    def save(self, mark: FeedMark) -> None:
        """Write ``mark`` and wait for the broker's acknowledgement."""
        future = self._producer.send(
            self.mark_topic, value=mark.to_json(), key=mark.feed.encode(), timestamp_ms=None
        )
        future.get(timeout=30)

    # --- the topics ---------------------------------------------------------------------

    def log_ends(self) -> LogOffsets:
        """Where the readings and dead-letter topics end now (a lower bound on Tansu)."""
        return {kind: self._ends(topic) for kind, topic in self.topics.items()}

    def _ends(self, topic: str) -> dict[int, int]:
        partitions = self._consumer.partitions_for_topic(topic) or set()
        ends = self._consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    def rebuild(self, mark: FeedMark, source: str) -> int:
        """Mark as published every record of ``source`` in the topics from
        `FeedMark.rebuild_from`; returns how many were found."""
        start = mark.rebuild_from()
        offsets = {self.topics[kind]: parts for kind, parts in start.items()}
        for topic in self.topics.values():
            offsets.setdefault(topic, {})
        found = 0
        for topic, _, value in self._read(offsets):
            kind = READINGS if topic == self.topics[READINGS] else DEAD_LETTERS
            hour_key = _published(kind, value, source)
            if hour_key is not None and mark.absorb(*hour_key, start):
                found += 1
        return found

    def _read(self, start: dict[str, dict[int, int]]) -> Iterator[tuple[str, bytes, bytes]]:
        """``(topic, key, value)`` of every record from ``start`` (partition → offset; absent
        partitions from their beginning) to where each partition ended when called."""
        partitions: list[TopicPartition] = []
        for topic in start:
            for partition in self._consumer.partitions_for_topic(topic) or set():
                partitions.append(TopicPartition(topic, partition))
        if not partitions:
            return
        ends = self._consumer.end_offsets(partitions)
        self._consumer.assign(partitions)
        for tp in partitions:
            self._consumer.seek(tp, start[tp.topic].get(tp.partition, 0))
        deadline = time.monotonic() + READ_DEADLINE_S
        while any(self._consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {sorted(start)} took over {READ_DEADLINE_S:.0f} s")
            yield from self._poll_once()
        yield from self._poll_once()  # a broker whose end offset lags its last batch (Tansu)

    def _poll_once(self) -> Iterator[tuple[str, bytes, bytes]]:
        for tp, records in self._consumer.poll(timeout_ms=POLL_MS).items():
            for record in records:
                yield tp.topic, record.key or b"", record.value or b""


def _published(kind: str, value: bytes, source: str) -> tuple[datetime, str] | None:
    """``(hour, dedupe key)`` of a record this feed (``source``) published, else None."""
    try:
        if kind == READINGS:
            reading = Reading.from_json(value)
            return (reading.ts, reading.sensor_id) if reading.source == source else None
        data: Any = orjson.loads(value)
        if not isinstance(data, dict) or data.get("source") != source:
            return None
        return window_of_position(str(data["position"])), dead_letter_key(str(data["raw"]))
    except (ValueError, KeyError, TypeError):
        return None
