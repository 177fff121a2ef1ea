"""Publishing readings and dead letters to Kafka: never silently lost, patient with the broker.

Readings go to the readings topic keyed by sensor id with the event time as Kafka timestamp;
dead letters go to the dead-letter topic keyed by their source file. An unreachable broker is
retried with exponential backoff (a message names the bootstrap each time); sends that fail
are sent again; only after ``deadline_s`` does `PublishError` end the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from flowcast.records import DeadLetter, Reading

DEFAULT_DEADLINE_S = 600.0
FLUSH_EVERY = 5_000


class PublishError(RuntimeError):
    """The broker could not be reached, or records not delivered, before the deadline."""


class SendFuture(Protocol):
    """What a producer's ``send`` returns (kafka-python ``FutureRecordMetadata``)."""

    is_done: bool
    exception: BaseException | None

    def succeeded(self) -> bool: ...


class ProducerLike(Protocol):
    """The part of ``kafka.KafkaProducer`` the publisher uses."""

    def send(
        self, topic: str, *, value: bytes, key: bytes | None, timestamp_ms: int | None
    ) -> Any: ...

    def flush(self, timeout: float | None = None) -> Any: ...

    def close(self, timeout: float | None = None) -> Any: ...


ProducerFactory = Callable[[str], ProducerLike]


def make_kafka_producer(bootstrap: str, security: Mapping[str, Any] | None = None) -> ProducerLike:
    """A kafka-python producer: acks=all, retries, small linger, idempotent if supported;
    ``security``: the connection's credentials (`flowcast.kafka_auth.client_kwargs`)."""
    from kafka import KafkaProducer

    wanted: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "retries": 10,
        "retry_backoff_ms": 200,
        "linger_ms": 5,
        "enable_idempotence": True,
        "bootstrap_timeout_ms": 5_000,
        "client_id": "flowcast-replay",
    }
    supported = KafkaProducer.DEFAULT_CONFIG
    config = {k: v for k, v in wanted.items() if k in supported or k == "bootstrap_servers"}
    producer: ProducerLike = KafkaProducer(**config, **(security or {}))
    return producer


@dataclass(frozen=True, slots=True)
class Message:
    """One record ready for the wire."""

    topic: str
    key: bytes | None
    value: bytes
    timestamp_ms: int | None
    is_reading: bool


@dataclass
class PublishCounts:
    """Records acknowledged by the broker, and how many sends had to be repeated."""

    readings: int = 0
    dead_letters: int = 0
    resent: int = 0


class _UndeliveredError(Exception):
    """Some sends of a batch failed or did not finish: flush again / send again."""


def broker_retrying(
    bootstrap: str,
    deadline_s: float,
    notify: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Retrying:
    """Retry any broker call with exponential backoff (0.5 s → 30 s) until ``deadline_s``,
    saying each time which bootstrap is unreachable."""

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        notify(
            f"Kafka broker at {bootstrap} unreachable ({error}); retrying in {wait:.1f} s "
            f"(giving up after {deadline_s:.0f} s)"
        )

    return Retrying(
        stop=stop_after_delay(deadline_s),
        wait=wait_exponential(multiplier=0.5, min=0.5, max=30),
        retry=retry_if_exception_type(Exception),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )


class Publisher:
    """Context manager sending `Reading`s and `DeadLetter`s; ``flush`` settles every send."""

    def __init__(
        self,
        bootstrap: str,
        *,
        readings_topic: str,
        deadletter_topic: str,
        deadline_s: float = DEFAULT_DEADLINE_S,
        factory: ProducerFactory = make_kafka_producer,
        notify: Callable[[str], None] = print,
        flush_every: int = FLUSH_EVERY,
        sleep: Callable[[float], None] = time.sleep,
        on_flushed: Callable[[PublishCounts], None] | None = None,
        flush_interval_s: float | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.readings_topic = readings_topic
        self.deadletter_topic = deadletter_topic
        self.deadline_s = deadline_s
        self.counts = PublishCounts()
        self._factory = factory
        self._notify = notify
        self._flush_every = flush_every
        self._sleep = sleep
        self._on_flushed = on_flushed
        self._flush_interval_s = flush_interval_s
        self._flushed_at = time.monotonic()
        self._producer: ProducerLike | None = None
        self._pending: list[tuple[Message, SendFuture]] = []

    def __enter__(self) -> Self:
        try:
            for attempt in broker_retrying(
                self.bootstrap, self.deadline_s, self._notify, self._sleep
            ):
                with attempt:
                    self._producer = self._factory(self.bootstrap)
        except Exception as exc:
            raise PublishError(
                f"Kafka broker at {self.bootstrap} still unreachable after "
                f"{self.deadline_s:.0f} s: {exc}"
            ) from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            if self._producer is not None:
                self._producer.close(timeout=10)
                self._producer = None

    def publish(self, item: Reading | DeadLetter) -> None:
        """Queue one record; every ``flush_every`` records (or ``flush_interval_s`` seconds,
        if set) the queue is settled."""
        if isinstance(item, Reading):
            message = Message(
                self.readings_topic,
                item.sensor_id.encode(),
                item.to_json(),
                int(item.ts.timestamp() * 1000),
                is_reading=True,
            )
        else:
            message = Message(
                self.deadletter_topic, item.source.encode(), item.to_json(), None, is_reading=False
            )
        self._pending.append((message, self._send(message)))
        if len(self._pending) >= self._flush_every or self._flush_due():
            self.flush()

    def _flush_due(self) -> bool:
        interval = self._flush_interval_s
        return interval is not None and time.monotonic() - self._flushed_at >= interval

    def _send(self, message: Message) -> SendFuture:
        if self._producer is None:
            raise RuntimeError("use the Publisher as a context manager")
        future: SendFuture = self._producer.send(
            message.topic, value=message.value, key=message.key, timestamp_ms=message.timestamp_ms
        )
        return future

    def flush(self) -> None:
        """Wait for every queued send; send failed ones again until the deadline.

        Then everything published so far is acknowledged: ``on_flushed`` (if given) is told
        the counts (a replay checkpoints its position there).
        """
        batch, self._pending = self._pending, []
        retrying = Retrying(
            stop=stop_after_delay(self.deadline_s),
            wait=wait_exponential(multiplier=0.5, min=0.5, max=30),
            retry=retry_if_exception_type(_UndeliveredError),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._settle(batch)
        except _UndeliveredError as exc:
            raise PublishError(
                f"{len(batch)} records not acknowledged by {self.bootstrap} after "
                f"{self.deadline_s:.0f} s: {exc}"
            ) from exc
        self._flushed_at = time.monotonic()
        if self._on_flushed is not None:
            self._on_flushed(self.counts)

    def _settle(self, batch: list[tuple[Message, SendFuture]]) -> None:
        """Count the acknowledged sends, resend failed ones (``batch`` keeps what is still
        open) and raise `_UndeliveredError` if anything is."""
        assert self._producer is not None
        try:
            self._producer.flush(timeout=30)
        except Exception as exc:  # a flush timeout: the unfinished sends are checked below
            self._notify(f"flush to {self.bootstrap} did not complete: {exc}")
        remaining: list[tuple[Message, SendFuture]] = []
        last_error: BaseException | None = None
        for message, future in batch:
            if future.is_done and future.succeeded():
                self._count(message)
            elif future.is_done:
                last_error = future.exception
                self.counts.resent += 1
                remaining.append((message, self._send(message)))
            else:
                remaining.append((message, future))
        batch[:] = remaining
        if remaining:
            self._notify(f"{len(remaining)} sends to {self.bootstrap} pending, retrying")
            raise _UndeliveredError(f"last error: {last_error}")

    def _count(self, message: Message) -> None:
        if message.is_reading:
            self.counts.readings += 1
        else:
            self.counts.dead_letters += 1


def publish_all(
    items: Iterable[Reading | DeadLetter],
    bootstrap: str,
    *,
    readings_topic: str,
    deadletter_topic: str,
    deadline_s: float = DEFAULT_DEADLINE_S,
    factory: ProducerFactory = make_kafka_producer,
    notify: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishCounts:
    """Publish every item and wait until each is acknowledged; returns what was delivered."""
    publisher = Publisher(
        bootstrap,
        readings_topic=readings_topic,
        deadletter_topic=deadletter_topic,
        deadline_s=deadline_s,
        factory=factory,
        notify=notify,
        sleep=sleep,
    )
    with publisher:
        for item in items:
            publisher.publish(item)
    return publisher.counts
