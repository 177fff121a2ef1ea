"""Prometheus metrics of a stream worker (names are the contract with infra/ dashboards)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

from models.drift import CONFIRM_RATIO

if TYPE_CHECKING:
    from models.core import ForecastCore
    from stream.batch import BatchOutput

READINGS = Counter("flowcast_worker_readings_total", "Readings processed (not duplicates)")
DUPLICATES = Counter(
    "flowcast_worker_duplicates_total", "Readings for an hour already processed (ignored)"
)
FORECASTS = Counter("flowcast_worker_forecasts_total", "Forecasts emitted")
DEAD_LETTERS = Counter(
    "flowcast_worker_dead_letters_total", "Records sent to the dead-letter topic", ["reason"]
)
BATCH_SECONDS = Histogram(
    "flowcast_worker_batch_seconds",
    "Time to process and write one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RECORD_AGE_SECONDS = Histogram(
    "flowcast_worker_record_age_seconds",
    "Kafka record timestamp to its forecast written in Redis (meaningful on a live feed)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CONSUMER_LAG = Gauge(
    "flowcast_worker_consumer_lag", "Records behind the end of the readings topic", ["partition"]
)
MODEL_MAE = Gauge(
    "flowcast_worker_model_rolling_mae",
    "Rolling mean absolute error (veh/h) of the served forecasts, by serving model",
    ["model"],
)
SINK_RETRIES = Counter("flowcast_worker_sink_retries_total", "Redis writes retried")
STATE_RESETS = Counter(
    "flowcast_worker_state_resets_total", "Sensor checkpoints that could not be restored"
)

_MAE_DECAY = 0.01
_mae: dict[str, float] = {}


def observe_errors(errors: dict[str, list[float]]) -> None:
    """Fold a batch's absolute errors into the per-model rolling MAE gauges."""
    for model, values in errors.items():
        current = _mae.get(model)
        for value in values:
            current = value if current is None else current + (value - current) * _MAE_DECAY
        if current is not None:
            _mae[model] = current
            MODEL_MAE.labels(model=model).set(current)


ANOMALIES = Counter(
    "flowcast_worker_anomalies_total", "Readings flagged as sensor anomalies", ["kind"]
)
ALERTS = Counter(
    "flowcast_worker_alerts_total", "Operator alerts raised or updated (one id per event)", ["kind"]
)
DRIFT_SCORE_MAX = Gauge(
    "flowcast_worker_drift_score_max",
    "Highest drift score (fast / slow served error) among this worker's sensors",
)
SENSORS_IN_DRIFT = Gauge(
    "flowcast_worker_sensors_in_drift",
    "This worker's sensors whose drift score is above the confirmation ratio",
)
CHALLENGERS = Gauge(
    "flowcast_worker_challengers", "This worker's sensors with a drift challenger on trial"
)


def observe_lifecycle(out: BatchOutput, core: ForecastCore) -> None:
    """Anomaly and alert counters; drift gauges over the worker's cached sensors (no
    per-sensor labels: the label sets stay bounded)."""
    for kind, count in out.anomaly_counts.items():
        ANOMALIES.labels(kind=kind).inc(count)
    for alert in out.alerts:
        ALERTS.labels(kind=alert.kind).inc()
    for sensor in out.touched:
        state = core.sensors.get(sensor)
        if state is not None:
            _drift[sensor] = (state.life.drift.score, state.life.challenger is not None)
    for gone in _drift.keys() - core.sensors.keys():
        del _drift[gone]
    scores = [score for score, _ in _drift.values()]
    DRIFT_SCORE_MAX.set(max(scores, default=0.0))
    SENSORS_IN_DRIFT.set(sum(score >= CONFIRM_RATIO for score in scores))
    CHALLENGERS.set(sum(trial for _, trial in _drift.values()))


_drift: dict[str, tuple[float, bool]] = {}
