"""Redis sink of a worker: one transaction per batch for states, forecasts, history, metrics.

Writing the sensors' core states (checkpoints) in the same MULTI/EXEC as the forecasts keeps
them consistent: after a crash, a replayed record is recognised as already processed exactly
when its forecast is already in Redis. The outlook and status of each touched sensor (the JSON
the gateway serves instead of opening states) go in the same transaction. Keys and channels:
`flowcast.redis_keys`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

from flowcast import redis_keys
from models.core import ForecastCore
from stream.batch import BatchOutput

DELETE_IF_UNCHANGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class PendingCommand:
    """An admin command as the worker read it: parsed, and the exact bytes (to delete only
    that one once it ran)."""

    command: dict[str, Any]
    raw: bytes


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
            ("anomalies", sum(out.anomaly_counts.values())),
            ("alerts", len(out.alerts)),
        ):
            if count:
                pipe.hincrby(redis_keys.STATS, name, count)
        self._lifecycle(pipe, out)
        if not out.touched:
            if len(pipe):
                await pipe.execute()
            return
        sensors = sorted(out.touched)
        pipe.hset(redis_keys.STATE, mapping={s: core.export_sensor(s) for s in sensors})
        if out.statuses:
            pipe.hset(redis_keys.SENSOR_STATUS, mapping=dict[Any, Any](out.statuses))
        if out.outlooks:
            pipe.hset(redis_keys.OUTLOOK, mapping=dict[Any, Any](out.outlooks))
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
        for sensor, message in latest.items():
            pipe.publish(redis_keys.FORECASTS_CHANNEL, out.pushes.get(sensor, message))
        await pipe.execute()

    @staticmethod
    def _lifecycle(pipe: Any, out: BatchOutput) -> None:
        """Alerts (stored by id, published), audit entries, anomaly flags, done commands."""
        if out.alerts:
            encoded = [(alert.id, alert.to_json()) for alert in out.alerts]
            pipe.hset(redis_keys.ALERTS, mapping=dict(encoded))
            for _, message in encoded:
                pipe.publish(redis_keys.ALERTS_CHANNEL, message)
        if out.audit:
            pipe.lpush(redis_keys.AUDIT, *(orjson.dumps(entry) for entry in out.audit))
            pipe.ltrim(redis_keys.AUDIT, 0, redis_keys.AUDIT_MAX - 1)
        if out.anomalies:
            mapping = {s: orjson.dumps(flags) for s, flags in out.anomalies.items()}
            pipe.hset(redis_keys.ANOMALIES, mapping=mapping)
        for sensor, raw in out.commands_done.items():
            # only the command that ran: one an admin queued meanwhile stays for the next batch
            pipe.eval(DELETE_IF_UNCHANGED, 1, redis_keys.COMMANDS, sensor, raw)

    async def load_statuses(self, sensors: Iterable[str]) -> dict[str, bytes]:
        """The stored `models.status.SensorStatus` JSON of ``sensors`` that have one."""
        names = list(sensors)
        if not names:
            return {}
        raw: list[Any] = await self.client.hmget(redis_keys.SENSOR_STATUS, names)
        return {name: value for name, value in zip(names, raw, strict=True) if value is not None}

    async def load_commands(self, sensors: Iterable[str]) -> dict[str, PendingCommand]:
        """Pending admin commands (see ``redis_keys.COMMANDS``) of ``sensors``."""
        names = list(sensors)
        if not names:
            return {}
        raw: list[Any] = await self.client.hmget(redis_keys.COMMANDS, names)
        out = {}
        for name, value in zip(names, raw, strict=True):
            if value is not None:
                try:
                    command = dict(orjson.loads(value))
                except (orjson.JSONDecodeError, TypeError, ValueError):
                    command = {"command": "invalid"}
                out[name] = PendingCommand(command, value)
        return out
