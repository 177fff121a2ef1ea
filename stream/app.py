"""The Faust application of a stream worker: one agent over the ``readings`` topic.

Per-sensor state is checkpointed to Redis in the same transaction as the forecasts (see
`stream.redis_sink`), so a worker that takes over partitions (after a crash or a scale-out)
restores each sensor as it was and skips, as duplicates, the records it sees again.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
import redis.asyncio as aioredis

from flowcast.records import DeadLetter, Forecast
from flowcast.settings import Settings
from stream.batch import RawRecord
from stream.redis_sink import RedisSink
from stream.runtime import BatchRuntime

log = logging.getLogger(__name__)
BATCH_MAX = 2000
BATCH_WITHIN_S = 0.05


def create_app(settings: Settings, kafka_bootstrap: str, redis_url: str) -> faust.App:
    """A Faust app wired to the broker, Redis and the online core."""
    timeout = settings.rebalance_timeout_s
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{kafka_bootstrap}",
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_rebalance_timeout=timeout,
        broker_session_timeout=max(6.0, timeout * 1.5),
        broker_heartbeat_interval=1.0,
        broker_commit_interval=1.0,
        producer_acks=-1,
        web_enabled=False,
        stream_buffer_maxsize=BATCH_MAX * 2,
    )
    readings = app.topic(settings.readings_topic, key_serializer="raw", value_serializer="raw")
    forecasts = app.topic(settings.forecasts_topic, key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(
        settings.deadletter_topic, key_serializer="raw", value_serializer="raw"
    )

    async def publish(batch: list[Forecast], letters: list[DeadLetter]) -> None:
        for forecast in batch:
            forecasts.send_soon(key=forecast.sensor_id.encode(), value=forecast.to_json())
        for letter in letters:
            dead_letters.send_soon(key=letter.reason.encode(), value=letter.to_json())

    client = aioredis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    runtime = BatchRuntime(RedisSink(client, settings.history_hours), publish, "kafka")

    @app.agent(readings, name="forecast")
    async def forecast_agent(stream: Any) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await runtime.handle([_raw(event) for event in events])

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        log.info("partitions revoked: dropping cached sensor states")
        runtime.forget_all()

    app.flowcast_runtime = runtime  # type: ignore[attr-defined]
    return app


def _raw(event: Any) -> RawRecord:
    message = event.message
    return RawRecord(
        key=message.key,
        value=message.value,
        timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
        position=f"{message.topic}/{message.partition}@{message.offset}",
    )
