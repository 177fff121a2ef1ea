"""Record → forecast-readable latency at a steady offered rate (for ``bench pipeline``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
from kafka import KafkaProducer

from flowcast import redis_keys
from flowcast.records import Forecast, Reading
from flowcast.settings import Settings


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class _Listener(threading.Thread):
    """Collects (sensor, observed hour) → receive time from the forecasts channel.

    A worker publishes the newest forecast of each sensor per batch, in the transaction that
    makes all of that batch's forecasts readable; a message for hour T therefore marks every
    record of the sensor up to T as readable at the time it is received.
    """

    def __init__(self, redis_url: str) -> None:
        super().__init__(daemon=True)
        self.pubsub = redis.Redis.from_url(redis_url).pubsub()
        self.pubsub.subscribe(redis_keys.FORECASTS_CHANNEL)
        self.newest: dict[str, list[tuple[Any, float]]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message":
                forecast = Forecast.from_json(message["data"])
                received = (forecast.observed_ts, time.time())
                self.newest.setdefault(forecast.sensor_id, []).append(received)

    def readable_at(self, sensor: str, ts: Any) -> float | None:
        """When the forecast made from ``sensor``'s reading of ``ts`` was first readable."""
        return next((at for observed, at in self.newest.get(sensor, []) if observed >= ts), None)


def measure_latency(
    readings: Sequence[Reading],
    topics: Settings,
    bootstrap: str,
    redis_url: str,
    rate: float,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Send ``readings`` at ``rate``/s; latency percentiles of those seen in Redis."""
    listener = _Listener(redis_url)
    listener.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    sent: dict[tuple[str, Any], float] = {}
    started = time.time()
    for i, reading in enumerate(readings):
        due = started + i / rate
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        now = time.time()
        sent[(reading.sensor_id, reading.ts)] = now
        producer.send(
            topics.readings_topic,
            key=reading.sensor_id.encode(),
            value=reading.to_json(),
            timestamp_ms=int(now * 1000),
        )
    producer.flush()
    producer.close()
    last_sensor, last_ts = next(reversed(sent))
    deadline = time.time() + 30
    while time.time() < deadline and listener.readable_at(last_sensor, last_ts) is None:
        time.sleep(0.1)
    listener.stop.set()
    listener.join(5)
    latencies = [
        (readable - at) * 1000
        for key, at in sent.items()
        if (readable := listener.readable_at(*key)) is not None
    ]
    if not latencies:
        raise RuntimeError("no forecast of the latency phase reached Redis")
    summary = {
        q: round(percentile(latencies, p), 2) for q, p in (("p50", 50), ("p95", 95), ("p99", 99))
    }
    detail = {"offered_per_s": round(rate, 1), "sent": len(sent), "measured": len(latencies)}
    return summary, detail
