"""Kafka adapters of a worker: a batched readings consumer and a batched forecasts producer.

Both work on whole batches (``getmany`` in, one producer batch per partition out): Faust's
per-event stream path costs ~100 µs a record here, as much as the online core itself, so the
worker reads and writes Kafka a batch at a time and keeps the per-record path in the core.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from flowcast.records import DeadLetter
from stream import metrics
from stream.batch import BatchOutput, KafkaRecord

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 5.0
ASSIGNED = "partitions assigned: %s"
_ASSIGNED_LINE = re.compile(r"partitions assigned: \[([0-9, ]*)\]")


def last_assignment(log_text: str) -> list[int] | None:
    """The partitions a worker's log last says it was assigned (None before any assignment).

    Benchmarks and tests read worker logs with it to know when a group has settled.
    """
    found = _ASSIGNED_LINE.findall(log_text)
    if not found:
        return None
    return [int(part) for part in found[-1].split(",") if part.strip()]


def group_settled(assignments: Sequence[list[int] | None], partitions: int) -> bool:
    """Every member owns some partitions, none is owned twice, and all are covered."""
    if not assignments or any(not owned for owned in assignments):
        return False
    flat = sorted(p for owned in assignments for p in owned or [])
    return flat == list(range(partitions))


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Finishes the batch in flight and commits before partitions move; drops cached states."""

    def __init__(self, on_revoked: Callable[[], Awaitable[None]]) -> None:
        self.on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted(tp.partition for tp in revoked))
        for tp in revoked:
            if (str(tp.partition),) in metrics.CONSUMER_LAG._metrics:
                metrics.CONSUMER_LAG.remove(str(tp.partition))
        await self.on_revoked()

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        log.info(ASSIGNED, sorted(tp.partition for tp in assigned))


def raw_records(batches: dict[TopicPartition, list[Any]]) -> list[KafkaRecord]:
    """Flatten a ``getmany`` result, keeping each partition's order."""
    return [
        KafkaRecord(
            key=message.key,
            value=message.value,
            timestamp_ms=message.timestamp,
            position=f"{tp.topic}/{tp.partition}@{message.offset}",
        )
        for tp, messages in batches.items()
        for message in messages
    ]


def next_offsets(batches: dict[TopicPartition, list[Any]]) -> dict[TopicPartition, int]:
    """The offsets to commit once a batch is safely written."""
    return {tp: messages[-1].offset + 1 for tp, messages in batches.items() if messages}


async def update_lag(consumer: AIOKafkaConsumer) -> None:
    """Records behind the end of each assigned partition, as the consumer last saw it."""
    for tp in consumer.assignment():
        highwater = consumer.highwater(tp)
        if highwater is not None:
            position = await consumer.position(tp)
            metrics.CONSUMER_LAG.labels(partition=str(tp.partition)).set(highwater - position)


class ForecastPublisher:
    """Sends each batch's forecasts (and dead letters) as one producer batch per partition."""

    def __init__(self, producer: AIOKafkaProducer, forecasts: str, dead_letters: str) -> None:
        self.producer = producer
        self.forecasts_topic = forecasts
        self.dead_letters_topic = dead_letters
        self.partitioner = DefaultPartitioner()
        self.partitions: dict[str, list[int]] = {}
        self.partition_of: dict[tuple[str, bytes], int] = {}  # murmur2 once per key

    async def _partitions(self, topic: str) -> list[int]:
        if topic not in self.partitions:
            self.partitions[topic] = sorted(await self.producer.partitions_for(topic))
        return self.partitions[topic]

    async def send(self, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
        """Send ``(key, value)`` pairs, keyed like the readings, and wait for the broker."""
        if not messages:
            return
        partitions = await self._partitions(topic)
        batches: dict[int, Any] = {}
        futures = []
        partition_of = self.partition_of
        for key, value in messages:
            partition = partition_of.get((topic, key))
            if partition is None:
                partition = self.partitioner(key, partitions, partitions)
                partition_of[(topic, key)] = partition
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = self.producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:  # full: flush it
                futures.append(await self.producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = self.producer.create_batch()
                batch.append(key=key, value=value, timestamp=None)
        for partition, batch in batches.items():
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)

    async def publish(self, out: BatchOutput, letters: list[DeadLetter]) -> None:
        forecasts = [
            (f.sensor_id.encode(), encoded)
            for f, encoded in zip(out.forecasts, out.forecast_json, strict=True)
        ]
        await self.send(self.forecasts_topic, forecasts)
        await self.send(
            self.dead_letters_topic, [(d.reason.encode(), d.to_json()) for d in letters]
        )


async def publish_until_sent(
    publisher: ForecastPublisher,
    recreate_topics: Callable[[], Awaitable[None]],
    out: BatchOutput,
    letters: list[DeadLetter],
) -> None:
    """`ForecastPublisher.publish`, retried with backoff while the broker refuses it.

    The batch is already in Redis, so waiting is safe; a broker that came back empty has
    lost the topics, so they are created again (`recreate_topics`) before each new attempt.
    """

    async def before_retry(state: RetryCallState) -> None:
        if state.attempt_number == 1:
            return
        try:
            await recreate_topics()
        except Exception as exc:  # the broker may still be away: try again next round
            log.warning("topics not (re)created yet: %r", exc)
        publisher.partitions.clear()
        publisher.partition_of.clear()  # the topic may have come back with other partitions

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("forecasts not published (%r): retrying in %.1fs", error, state.upcoming_sleep)

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(KafkaError),
        wait=wait_exponential(multiplier=0.1, max=MAX_BACKOFF_S),
        before=before_retry,
        before_sleep=before_sleep,
    )
    await retrying(publisher.publish, out, letters)
