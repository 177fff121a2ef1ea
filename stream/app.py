"""The Faust application of a stream worker.

Faust runs the worker (lifecycle, signals, logging); its one task reads the ``readings``
topic a batch at a time in a consumer group (`stream.kafka_io`), runs the online core on each
batch (`stream.runtime`), writes Redis in one transaction, sends the forecasts to Kafka, and
only then commits the batch's offsets.

Per-sensor state is checkpointed to Redis in the same transaction as the forecasts, so a
worker that takes over partitions (after a crash or a scale-out) restores each sensor as it
was and skips, as duplicates, the records it sees again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

import faust
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import CommitFailedError

from flowcast.kafka_admin import ensure_topics
from flowcast.kafka_auth import client_kwargs, faust_credentials
from flowcast.settings import Settings
from stream.kafka_io import (
    ForecastPublisher,
    Rebalance,
    next_offsets,
    publish_until_sent,
    raw_records,
    update_lag,
)
from stream.redis_sink import RedisSink
from stream.runtime import BatchRuntime

log = logging.getLogger(__name__)
BATCH_MAX = 2000
POLL_MS = 50
COMMIT_EVERY_S = 1.0


class ReadingsLoop:
    """Consume, process, write, publish, commit: one batch at a time."""

    def __init__(self, settings: Settings, bootstrap: str, runtime: BatchRuntime) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.runtime = runtime
        self.lock = asyncio.Lock()
        self.pending: dict[Any, int] = {}
        self.consumer: AIOKafkaConsumer | None = None

    def _consumer(self) -> AIOKafkaConsumer:
        timeout_ms = int(self.settings.rebalance_timeout_s * 1000)
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.settings.app_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=max(timeout_ms, 10_000),
            rebalance_timeout_ms=timeout_ms,
            session_timeout_ms=max(6000, int(timeout_ms * 1.5)),
            heartbeat_interval_ms=1000,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **client_kwargs(self.settings),
        )

    async def run(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            **client_kwargs(self.settings),
        )
        consumer = self.consumer = self._consumer()
        await producer.start()
        publisher = ForecastPublisher(
            producer, self.settings.forecasts_topic, self.settings.deadletter_topic
        )
        self.runtime.publish = functools.partial(
            publish_until_sent, publisher, self.recreate_topics
        )
        consumer.subscribe([self.settings.readings_topic], listener=Rebalance(self.on_revoked))
        await consumer.start()
        try:
            await self._loop(consumer)
        finally:
            await self.commit()
            await consumer.stop()
            await producer.stop()

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        committed_at = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=POLL_MS, max_records=BATCH_MAX)
            if batches:
                async with self.lock:
                    await self.runtime.handle(raw_records(batches))
                    self.pending.update(next_offsets(batches))
                await update_lag(consumer)
            if time.monotonic() - committed_at >= COMMIT_EVERY_S:
                await self.commit()
                committed_at = time.monotonic()

    async def commit(self) -> None:
        """Commit the offsets of the batches written to Redis.

        A commit refused because the group moved on (a rebalance, or a broker restarted
        empty that no longer knows this member) is not fatal: those batches are in Redis
        already, so whoever reads their records again skips them as duplicates.
        """
        if self.pending and self.consumer is not None:
            offsets, self.pending = self.pending, {}
            try:
                await self.consumer.commit(offsets)
            except CommitFailedError as exc:
                log.warning("offsets not committed (%s): records read again are skipped", exc)

    async def recreate_topics(self) -> None:
        """Create the topics again if missing (a broker restarted empty has none)."""
        await asyncio.to_thread(ensure_topics, self.bootstrap, self.settings, 10.0)

    async def on_revoked(self) -> None:
        async with self.lock:  # the batch in flight finishes (and is committed) first
            await self.commit()
            self.runtime.forget_all()


def create_worker_app(settings: Settings, kafka_bootstrap: str, redis_url: str) -> faust.App:
    """A Faust app whose task runs the `ReadingsLoop` on the broker and Redis given."""
    app = faust.App(
        settings.app_id + "-worker",
        broker=f"kafka://{kafka_bootstrap}",
        store="memory://",
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=max(6.0, settings.rebalance_timeout_s * 1.5),
        broker_heartbeat_interval=1.0,
        broker_credentials=faust_credentials(settings),
        web_enabled=False,
    )
    client = aioredis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    runtime = BatchRuntime(RedisSink(client, settings.history_hours), _no_publish, "kafka")
    loop = ReadingsLoop(settings, kafka_bootstrap, runtime)

    @app.task  # type: ignore[untyped-decorator]
    async def consume_readings() -> None:
        try:
            await loop.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the readings loop stopped: the worker exits so it can be restarted")
            await app.crash(RuntimeError("readings loop failed"))

    app.flowcast_runtime = runtime  # type: ignore[attr-defined]
    return app


async def _no_publish(*_: Any) -> None:
    """Replaced by the Kafka publisher once the loop starts."""
