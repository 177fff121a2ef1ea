"""Pure batch logic of a worker: decode raw Kafka records, run the core, collect the outputs.

No I/O here: the Faust agent hands in raw (key, value, timestamp) triples, and the Redis sink
writes what `BatchOutput` holds. A record that cannot be decoded, or that the core rejects,
becomes a `DeadLetter`; the batch carries on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson

from flowcast.records import DeadLetter, Forecast, Reading, format_utc, hour_index
from models.alerts import Alert
from models.core import ForecastCore
from models.lifecycle import AuditEntry


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """One Kafka record as the agent saw it."""

    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    position: str  # "topic/partition@offset"


@dataclass(slots=True)
class BatchOutput:
    """Everything one batch produced, grouped for one Redis transaction."""

    forecasts: list[Forecast] = field(default_factory=list)
    forecast_json: list[bytes] = field(default_factory=list)  # beside `forecasts`, encoded once
    latest: dict[str, Forecast] = field(default_factory=dict)
    latest_json: dict[str, bytes] = field(default_factory=dict)
    history: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    last_reading: dict[str, Reading] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0
    processed: int = 0
    scored_errors: dict[str, list[float]] = field(default_factory=dict)
    newest_timestamp_ms: dict[str, int] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)  # in order; a later phase re-sends an id
    audit: list[AuditEntry] = field(default_factory=list)
    anomalies: dict[str, dict[str, object]] = field(default_factory=dict)  # sensor → last flags
    anomaly_counts: dict[str, int] = field(default_factory=dict)  # kind → readings flagged
    commands_done: dict[str, bytes] = field(default_factory=dict)  # sensor → command that ran
    first_reading: dict[str, datetime] = field(default_factory=dict)  # sensor → first hour here
    # filled after the batch ran, from each touched sensor's latest state (`stream.sensor_views`)
    outlooks: dict[str, bytes] = field(default_factory=dict)  # sensor → Outlook JSON
    statuses: dict[str, bytes] = field(default_factory=dict)  # sensor → SensorStatus JSON
    pushes: dict[str, bytes] = field(default_factory=dict)  # sensor → pub/sub forecast message


def decode(raw: KafkaRecord, source: str) -> Reading | DeadLetter:
    """A `Reading` from a raw record, or a `DeadLetter` saying why not."""
    text = raw.value.decode("utf-8", "replace") if raw.value is not None else ""
    try:
        if raw.value is None:
            raise ValueError("empty message")
        reading = Reading.from_json(raw.value)
    except Exception as exc:  # whatever a message holds, it is a dead letter, never a crash
        return DeadLetter(_reason(exc), source, raw.position, text[:2000], str(exc)[:500])
    if raw.key is not None and raw.key.decode("utf-8", "replace") != reading.sensor_id:
        detail = f"key {raw.key!r} != sensor_id {reading.sensor_id!r}"
        return DeadLetter("key_mismatch", source, raw.position, text[:2000], detail)
    return reading


def _reason(exc: Exception) -> str:
    if isinstance(exc, orjson.JSONDecodeError):
        return "bad_json"
    if isinstance(exc, KeyError):
        return "missing_field"
    return "bad_value"


def decode_batch(
    records: list[KafkaRecord], source: str
) -> list[tuple[KafkaRecord, Reading | DeadLetter]]:
    """Decode every record of a batch (the sink loads the states of the sensors it names)."""
    return [(raw, decode(raw, source)) for raw in records]


def run_batch(
    core: ForecastCore, decoded: list[tuple[KafkaRecord, Reading | DeadLetter]], source: str
) -> BatchOutput:
    """Process a decoded batch in order through the core; never raises for one bad record."""
    out = BatchOutput()
    for raw, item in decoded:
        if isinstance(item, DeadLetter):
            out.dead_letters.append(item)
            continue
        try:
            _process_one(core, item, raw, out)
        except Exception as exc:  # a bug must not kill the worker: dead-letter the record
            out.dead_letters.append(
                DeadLetter(
                    "processing_error",
                    source,
                    raw.position,
                    item.to_json().decode(),
                    f"{type(exc).__name__}: {exc}"[:500],
                )
            )
    return out


def _process_one(core: ForecastCore, reading: Reading, raw: KafkaRecord, out: BatchOutput) -> None:
    step = core.process(reading)
    if step.duplicate:
        out.duplicates += 1
        return
    sensor = reading.sensor_id
    out.processed += 1
    out.touched.add(sensor)
    out.last_reading[sensor] = reading
    out.first_reading.setdefault(sensor, reading.ts)
    if step.anomalies:
        out.anomalies[sensor] = {"ts": format_utc(reading.ts), "kinds": list(step.anomalies)}
        for kind in step.anomalies:
            out.anomaly_counts[kind] = out.anomaly_counts.get(kind, 0) + 1
    if step.alerts:
        out.alerts.extend(step.alerts)
    if step.audit:
        out.audit.extend(step.audit)
    if raw.timestamp_ms is not None:
        out.newest_timestamp_ms[sensor] = raw.timestamp_ms
    if step.scored is not None or step.observed is not None:
        scored_json = out.latest_json.get(sensor) if step.scored is out.latest.get(sensor) else None
        entry = history_entry(reading, step.scored, scored_json)
        out.history.setdefault(sensor, []).append((hour_index(reading.ts), entry))
    if step.scored is not None and reading.flow is not None:
        error = abs(reading.flow - step.scored.flow)
        out.scored_errors.setdefault(step.scored.model, []).append(error)
    if step.forecast is not None:
        encoded = step.forecast.to_json()
        out.forecasts.append(step.forecast)
        out.forecast_json.append(encoded)
        out.latest[sensor] = step.forecast
        out.latest_json[sensor] = encoded


def history_entry(
    reading: Reading, forecast: Forecast | None, forecast_json: bytes | None = None
) -> bytes:
    """The Redis history member of an hour: what was forecast for it and what was observed.

    ``forecast_json``, when given, is ``forecast.to_json()`` already computed (the hot path
    encodes each forecast once).
    """
    if forecast is None:
        embedded = b"null"
    else:
        embedded = forecast_json if forecast_json is not None else forecast.to_json()
    head = orjson.dumps({"ts": format_utc(reading.ts)})[:-1]
    return head + b',"forecast":' + embedded + b',"observed":' + orjson.dumps(reading.flow) + b"}"
