"""Hostile raw Kafka messages through the worker's pure batch path: no crash, no poisoning.

Every message is either processed (or skipped as a duplicate) or dead-lettered with a known
reason, and hostile messages never change what the valid readings around them produce.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowcast.records import ArcState, DeadLetter, Reading, TrafficState
from models.core import ForecastCore
from stream.batch import KafkaRecord, decode, run_batch
from stream.guard import screened_batch

REASONS = {"bad_json", "missing_field", "bad_value", "key_mismatch", "processing_error"}
T0 = datetime(2022, 3, 1, tzinfo=UTC)
SENSORS = ("191", "4264")
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
HUGE_NUMBERS = st.sampled_from([1e300, -1e300, 1.7976931348623157e308, 2**63 - 1, -(2**63)])
WRONG_TYPES = st.one_of(
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.booleans(),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
ANY_INSTANT = st.one_of(  # anywhere in the calendar, and often within a day of its two ends
    st.datetimes(timezones=st.timezones()),
    st.datetimes(min_value=datetime(9999, 12, 31), timezones=st.timezones()),
    st.datetimes(max_value=datetime(1, 1, 1, 23, 59), timezones=st.timezones()),
)
FIELDS = ("sensor_id", "ts", "flow", "occupancy", "traffic_state", "arc_state", "source")


def dumps(value: Any) -> bytes:
    """JSON as any client might write it: big integers, ``NaN`` and ``Infinity`` included."""
    return json.dumps(value).encode()


def valid_reading(sensor: str, hour: int, flow: float | None = 300.0) -> Reading:
    """A well-formed reading of ``sensor`` at ``T0 + hour`` hours."""
    return Reading(
        sensor, T0 + timedelta(hours=hour), flow, 10.0, TrafficState.FLUID, ArcState.OPEN, "fuzz"
    )


def raw(value: bytes | None, key: bytes | None, offset: int) -> KafkaRecord:
    """A raw record as the consumer hands it over."""
    return KafkaRecord(key=key, value=value, timestamp_ms=None, position=f"readings/0@{offset}")


@st.composite
def mutated_reading(draw: st.DrawFn) -> bytes:
    """A valid reading's JSON with one field dropped, retyped, made huge or garbled."""
    data: dict[str, Any] = orjson.loads(valid_reading(draw(st.sampled_from(SENSORS)), 5).to_json())
    field = draw(st.sampled_from(FIELDS))
    how = draw(st.sampled_from(["drop", "retype", "huge", "any", "any_time"]))
    if how == "any_time":  # any instant, with any offset: the calendar's edges included
        moment = draw(ANY_INSTANT)
        data["ts"] = moment.isoformat()
    elif how == "drop":
        data.pop(field)
    elif how == "retype":
        data[field] = draw(WRONG_TYPES)
    elif how == "huge":
        data[field] = draw(HUGE_NUMBERS)
    else:
        data[field] = draw(JSON_VALUES)
    return dumps(data)


HOSTILE_VALUES = st.one_of(
    st.binary(max_size=64),
    st.none(),
    JSON_VALUES.map(dumps),
    mutated_reading(),
    st.builds(lambda n: b'{"sensor_id": "191", "flow": ' + b"9" * n + b"}", st.integers(1, 400)),
)
HOSTILE_KEYS = st.none() | st.binary(max_size=8) | st.sampled_from([s.encode() for s in SENSORS])


@settings(max_examples=300, deadline=None)
@given(value=HOSTILE_VALUES, key=HOSTILE_KEYS)
def test_decode_never_raises_and_names_a_reason(value: bytes | None, key: bytes | None) -> None:
    item = decode(raw(value, key, 0), "kafka")
    if isinstance(item, DeadLetter):
        assert item.reason in REASONS
        assert item.position == "readings/0@0"
        assert len(item.raw) <= 2000
    else:
        assert isinstance(item, Reading)


@st.composite
def hostile_stream(draw: st.DrawFn) -> tuple[list[KafkaRecord], set[str]]:
    """Valid readings in hour order with hostile messages (and replays) slipped in between;
    also the positions of the valid ones."""
    records: list[KafkaRecord] = []
    valid: set[str] = set()
    for hour in range(draw(st.integers(3, 14))):
        for sensor in SENSORS:
            for _ in range(draw(st.integers(0, 2))):
                records.append(raw(draw(HOSTILE_VALUES), draw(HOSTILE_KEYS), len(records)))
            reading = valid_reading(sensor, hour, draw(st.floats(0, 2000) | st.none()))
            records.append(raw(reading.to_json(), sensor.encode(), len(records)))
            valid.add(records[-1].position)
        if draw(st.booleans()):  # an hour delivered twice
            records.append(raw(records[-1].value, records[-1].key, len(records)))
            valid.add(records[-1].position)
    return records, valid


def forecasts_of(records: list[KafkaRecord]) -> list[tuple[str, datetime, float]]:
    """What a fresh core forecasts for the real sensors from ``records``."""
    out = run_batch(ForecastCore(), screened_batch(records, "kafka"), "kafka")
    return [(f.sensor_id, f.ts, f.flow) for f in out.forecasts if f.sensor_id in SENSORS]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=hostile_stream())
def test_hostile_messages_are_dead_lettered_and_change_nothing(
    stream: tuple[list[KafkaRecord], set[str]],
) -> None:
    records, valid = stream
    decoded = screened_batch(records, "kafka")
    out = run_batch(ForecastCore(), decoded, "kafka")
    assert out.processed + out.duplicates + len(out.dead_letters) == len(records)
    assert {d.reason for d in out.dead_letters} <= REASONS - {"processing_error"}
    accepted_hostile = [
        item
        for raw_record, item in decoded
        if isinstance(item, Reading) and raw_record.position not in valid
    ]
    if not any(r.sensor_id in SENSORS for r in accepted_hostile):
        clean = [r for r in records if r.position in valid]
        assert forecasts_of(records) == forecasts_of(clean)


@given(flow=HUGE_NUMBERS | st.floats(max_value=-1e-9) | st.floats(min_value=20_000.5))
@settings(max_examples=30, deadline=None)
def test_an_absurd_flow_is_dead_lettered_and_does_not_poison_the_sensor(flow: float) -> None:
    hostile = dumps({**orjson.loads(valid_reading("191", 2).to_json()), "flow": flow})
    before = [raw(valid_reading("191", h).to_json(), b"191", h) for h in range(2)]
    after = [raw(valid_reading("191", h).to_json(), b"191", h + 1) for h in range(2, 6)]
    records = [*before, raw(hostile, b"191", 2), *after]
    out = run_batch(ForecastCore(), screened_batch(records, "kafka"), "kafka")
    assert [d.reason for d in out.dead_letters] in (["bad_value"], ["bad_json"])  # ±Infinity
    assert forecasts_of(records) == forecasts_of([*before, *after])


@pytest.mark.parametrize(
    "ts",
    [
        "9999-12-31T23:00:00-05:00",  # past the calendar's end once in UTC
        "0001-01-01T00:00:00+05:00",  # before its start
        "9999-12-31T23:59:59.999999-14:00",
    ],
)
def test_a_timestamp_at_the_edge_of_the_calendar_is_a_dead_letter(ts: str) -> None:
    message = valid_reading("191", 0).to_dict() | {"ts": ts}
    batch = screened_batch([raw(dumps(message), b"191", 0)], "kafka")
    (_, item) = batch[0]
    assert isinstance(item, DeadLetter)
    assert item.reason == "bad_value"
    assert "calendar" in item.detail


@settings(max_examples=200, deadline=None)
@given(moment=ANY_INSTANT)
def test_any_instant_with_any_offset_is_decoded_or_dead_lettered(moment: datetime) -> None:
    message = valid_reading("191", 0).to_dict() | {"ts": moment.isoformat()}
    ((_, item),) = screened_batch([raw(dumps(message), b"191", 0)], "kafka")
    assert isinstance(item, Reading | DeadLetter)
    if isinstance(item, DeadLetter):
        assert item.reason == "bad_value"
