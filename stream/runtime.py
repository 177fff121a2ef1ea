"""The per-batch path of a worker: load checkpoints, run the core, write Redis, then Kafka.

`BatchRuntime.handle` is what the Faust agent awaits for every batch; it retries Redis with
backoff (the batch is not acknowledged until written, so nothing is lost) and never raises
for a bad record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import redis.exceptions
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from flowcast.records import DeadLetter
from models.core import ForecastCore
from models.lifecycle import AuditEntry
from models.status import SensorStatus
from stream import metrics
from stream.batch import BatchOutput, KafkaRecord, run_batch
from stream.guard import screened_batch
from stream.redis_sink import RedisSink
from stream.sensor_views import add_views

if TYPE_CHECKING:
    from models.tracking import WorkerTracker

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 5.0
T = TypeVar("T")

Publish = Callable[[BatchOutput, list[DeadLetter]], Awaitable[None]]


class BatchRuntime:
    """Holds the worker's core (a cache of its sensors' states) and its sinks.

    ``tracker`` (optional, off by default) is fed each batch's counts and errors; it logs
    to MLflow from its own thread.
    """

    def __init__(
        self,
        sink: RedisSink,
        publish: Publish,
        source: str,
        tracker: WorkerTracker | None = None,
    ) -> None:
        self.core = ForecastCore()
        # first reading hour of each cached sensor, for its status (None: unknown, from a
        # checkpoint written before statuses existed)
        self.first_seen: dict[str, datetime | None] = {}
        self.sink = sink
        self.publish = publish
        self.source = source
        self.tracker = tracker

    def forget_all(self) -> None:
        """Drop every cached state (after a rebalance, Redis holds the truth)."""
        self.core.sensors.clear()
        self.first_seen.clear()

    async def handle(self, records: list[KafkaRecord]) -> BatchOutput:
        started = time.perf_counter()
        decoded = screened_batch(records, self.source)  # shape, then value ranges
        sensors = {item.sensor_id for _, item in decoded if not isinstance(item, DeadLetter)}
        await self._restore_missing(sensors)
        commands = await self._with_retries(lambda: self.sink.load_commands(sensors))
        applied = apply_commands(self.core, {s: c.command for s, c in commands.items()})
        out = run_batch(self.core, decoded, self.source)
        out.audit[:0] = applied
        out.commands_done.update({s: c.raw for s, c in commands.items()})
        for sensor, ts in out.first_reading.items():
            self.first_seen.setdefault(sensor, ts)
        add_views(out, self.core, out.touched, self.first_seen)
        await self._with_retries(lambda: self.sink.write(out, self.core))
        await self.publish(out, out.dead_letters)
        _record_metrics(out, time.perf_counter() - started)
        metrics.observe_lifecycle(out, self.core)
        if self.tracker is not None:
            self.tracker.observe(out, self.core)
        return out

    async def _restore_missing(self, sensors: set[str]) -> None:
        missing = sensors - self.core.sensors.keys()
        if not missing:
            return
        blobs = await self._with_retries(lambda: self.sink.load_states(missing))
        statuses = await self._with_retries(lambda: self.sink.load_statuses(missing))
        self._restore_first_seen(missing, blobs.keys(), statuses)
        for sensor, blob in blobs.items():
            try:
                self.core.import_sensor(sensor, blob)
            except Exception:
                log.exception("checkpoint of sensor %s unreadable: starting it afresh", sensor)
                metrics.STATE_RESETS.inc()

    def _restore_first_seen(
        self, sensors: set[str], checkpointed: Iterable[str], statuses: dict[str, bytes]
    ) -> None:
        known = set(checkpointed)
        for sensor in sensors:
            raw = statuses.get(sensor)
            try:
                first = SensorStatus.from_json(raw).first_ts if raw is not None else None
            except ValueError:
                log.warning("status of sensor %s unreadable: first reading hour unknown", sensor)
                first = None
            if raw is not None or sensor in known:
                self.first_seen[sensor] = first

    async def _with_retries(self, action: Callable[[], Awaitable[T]]) -> T:
        """``action()``, retried with backoff (0.1 s → `MAX_BACKOFF_S`) while Redis is away."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(
                (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
            ),
            wait=wait_exponential(multiplier=0.1, max=MAX_BACKOFF_S),
            before_sleep=_redis_retry_noted,
        )
        async for attempt in retrying:  # ``action`` returns an awaitable: await it inside
            with attempt:
                return await action()
        raise AssertionError("unreachable: the retries never stop")


def _redis_retry_noted(state: RetryCallState) -> None:
    metrics.SINK_RETRIES.inc()
    error = state.outcome.exception() if state.outcome else None
    delay = state.upcoming_sleep
    log.warning("Redis unavailable (%s): retrying in %.1fs", error, delay)


def apply_commands(core: ForecastCore, commands: dict[str, dict[str, Any]]) -> list[AuditEntry]:
    """Apply admins' pending commands to the live states; an audit entry for each."""
    entries: list[AuditEntry] = []
    for sensor, command in commands.items():
        name, by = str(command.get("command")), str(command.get("by", "?"))
        entry = core.apply_command(sensor, name, by)
        if entry is None:
            entry = {"sensor_id": sensor, "action": f"{name}_ignored", "reason": "nothing to do"}
        entries.append({**entry, "by": by})
    return entries


def _record_metrics(out: BatchOutput, seconds: float) -> None:
    metrics.READINGS.inc(out.processed)
    metrics.DUPLICATES.inc(out.duplicates)
    metrics.FORECASTS.inc(len(out.forecasts))
    for letter in out.dead_letters:
        metrics.DEAD_LETTERS.labels(reason=letter.reason).inc()
    metrics.BATCH_SECONDS.observe(seconds)
    now_ms = time.time() * 1000
    for timestamp_ms in out.newest_timestamp_ms.values():
        metrics.RECORD_AGE_SECONDS.observe(max(0.0, (now_ms - timestamp_ms) / 1000))
    metrics.observe_errors(out.scored_errors)
