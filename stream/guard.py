"""Range checks at the worker's door: a decodable reading with impossible values is a dead letter.

`stream.batch.decode` checks a message's shape (JSON object, fields, types); this module checks
its values with the same bounds the producers apply (`flowcast.bounds`), so a message
written to the topic by anything else — a buggy or hostile client — cannot poison a sensor's
state with a flow of 1e300 or an hour the calendar cannot add one to.

>>> from dataclasses import replace
>>> from datetime import UTC, datetime
>>> from flowcast.records import ArcState, TrafficState
>>> ok = Reading("191", datetime(2022, 1, 1, tzinfo=UTC), 250.0, 5.0,
...              TrafficState.FLUID, ArcState.OPEN, "kafka")
>>> out_of_range(ok) is None
True
>>> out_of_range(replace(ok, flow=1e300))
'flow 1e+300 outside [0, 20000] veh/h'
"""

from __future__ import annotations

from flowcast.bounds import MAX_FLOW, MAX_OCCUPANCY
from flowcast.records import DeadLetter, Reading, in_service_range, is_sensor_id
from stream.batch import KafkaRecord, decode_batch


def _outside(value: float | None, high: float) -> bool:
    return value is not None and not 0.0 <= value <= high


def out_of_range(reading: Reading) -> str | None:
    """Why ``reading`` cannot be processed, or None when its values are plausible."""
    if not is_sensor_id(reading.sensor_id):
        return f"sensor id {reading.sensor_id[:80]!r} is not 1-64 letters, digits or _.:-"
    if not in_service_range(reading.ts):
        return f"timestamp {reading.ts.isoformat()} outside [1970, 2200)"
    if reading.ts.minute or reading.ts.second or reading.ts.microsecond:
        return f"timestamp {reading.ts.isoformat()} is not the start of an hour"
    if _outside(reading.flow, MAX_FLOW):
        return f"flow {reading.flow:g} outside [0, {MAX_FLOW:g}] veh/h"
    if _outside(reading.occupancy, MAX_OCCUPANCY):
        return f"occupancy {reading.occupancy:g} outside [0, {MAX_OCCUPANCY:g}] %"
    return None


def reject_implausible(
    raw: KafkaRecord, item: Reading | DeadLetter, source: str
) -> Reading | DeadLetter:
    """``item`` unchanged, or a ``bad_value`` dead letter if it is an implausible reading."""
    if isinstance(item, DeadLetter):
        return item
    problem = out_of_range(item)
    if problem is None:
        return item
    text = raw.value.decode("utf-8", "replace")[:2000] if raw.value is not None else ""
    return DeadLetter("bad_value", source, raw.position, text, problem)


def screened_batch(
    records: list[KafkaRecord], source: str
) -> list[tuple[KafkaRecord, Reading | DeadLetter]]:
    """`stream.batch.decode_batch`, then `reject_implausible` every decoded reading."""
    return [
        (raw, reject_implausible(raw, item, source)) for raw, item in decode_batch(records, source)
    ]
