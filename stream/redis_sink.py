"""Redis sink of a worker: one transaction per batch for states, forecasts, history, metrics.

Writing the sensors' core states (checkpoints) in the same MULTI/EXEC as the forecasts keeps
them consistent: after a crash, a replayed record is recognised as already processed exactly
when its forecast is already in Redis. Keys and channels: `flowcast.redis_keys`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import redis.asyncio as aioredis

from flowcast import redis_keys
from models.core import ForecastCore
from stream.batch import BatchOutput


class RedisSink:
    """Reads sensor checkpoints and writes each batch's outputs atomically."""

    def __init__(self, client: aioredis.Redis, history_hours: int) -> None:
        self.client = client
        self.history_hours = history_hours

    async def load_states(self, sensors: Iterable[str]) -> dict[str, bytes]:
        """The checkpointed core states of ``sensors`` that exist."""
        names = list(sensors)
        if not names:
            return {}
        blobs: list[Any] = await self.client.hmget(redis_keys.STATE, names)
        return {name: blob for name, blob in zip(names, blobs, strict=True) if blob is not None}

    async def write(self, out: BatchOutput, core: ForecastCore) -> None:
        """Everything the batch changed, in one MULTI/EXEC, with its pub/sub messages."""
        pipe = self.client.pipeline(transaction=True)
        for name, count in (
            ("processed", out.processed),
            ("duplicates", out.duplicates),
            ("dead_letters", len(out.dead_letters)),
        ):
            if count:
                pipe.hincrby(redis_keys.STATS, name, count)
        if not out.touched:
            if len(pipe):
                await pipe.execute()
            return
        sensors = sorted(out.touched)
        pipe.hset(redis_keys.STATE, mapping={s: core.export_sensor(s) for s in sensors})
        pipe.hset(
            redis_keys.EVALUATION,
            mapping={s: orjson.dumps(core.sensor_evaluation(s)) for s in sensors},
        )
        pipe.hset(
            redis_keys.LAST_READING,
            mapping={s: r.to_json() for s, r in out.last_reading.items()},
        )
        latest: dict[Any, Any] = dict(out.latest_json)
        if latest:
            pipe.hset(redis_keys.LATEST, mapping=latest)
        for sensor, entries in out.history.items():
            # the batch holds each of its hours once, in order: clearing their span first makes
            # a replayed batch rewrite the same entries instead of adding twins
            key = redis_keys.history(sensor)
            pipe.zremrangebyscore(key, entries[0][0], entries[-1][0])
            pipe.zadd(key, {member: hour for hour, member in entries})
            pipe.zremrangebyrank(key, 0, -(self.history_hours + 1))
        for message in latest.values():
            pipe.publish(redis_keys.FORECASTS_CHANNEL, message)
        await pipe.execute()
