"""Kafka adapters of a worker: a batched readings consumer and a batched forecasts producer.

Both work on whole batches (``getmany`` in, one producer batch per partition out): Faust's
per-event stream path costs ~100 µs a record here, as much as the online core itself, so the
worker reads and writes Kafka a batch at a time and keeps the per-record path in the core.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from flowcast.records import DeadLetter
from stream import metrics
from stream.batch import BatchOutput, RawRecord

log = logging.getLogger(__name__)


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
        log.info("partitions assigned: %s", sorted(tp.partition for tp in assigned))


def raw_records(batches: dict[TopicPartition, list[Any]]) -> list[RawRecord]:
    """Flatten a ``getmany`` result, keeping each partition's order."""
    return [
        RawRecord(
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
