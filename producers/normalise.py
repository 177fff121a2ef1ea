"""Validation and normalisation of raw records into `Reading` or `DeadLetter`.

A missing flow is a valid reading (``flow=None``); only records that cannot be placed in time
or attributed to a sensor, or whose numbers are impossible, become dead letters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowcast.bounds import MAX_FLOW, MAX_OCCUPANCY
from flowcast.records import DeadLetter, Reading
from producers.formats import RawRecord
from producers.formats.headers import (
    ARC_STATE,
    FLOW,
    OCCUPANCY,
    SENSOR_ID,
    TRAFFIC_STATE,
    TS,
)
from producers.formats.json_source import json_record
from producers.read_counts import ReadCounts
from producers.sources.builtin import open_builtin
from producers.timestamps import LocalTimeResolver
from producers.values import (
    InvalidValueError,
    parse_arc_state,
    parse_number,
    parse_sensor_id,
    parse_traffic_state,
)

if TYPE_CHECKING:
    from producers.sources.definition import SourceDefinition

__all__ = [
    "DEAD_LETTER_REASONS",
    "ReadCounts",
    "iter_normalised",
    "normalise",
    "normalise_api_record",
]

DEAD_LETTER_REASONS = (
    "missing_timestamp",
    "bad_timestamp",
    "nonexistent_local_time",
    "not_on_the_hour",
    "missing_sensor_id",
    "bad_sensor_id",
    "bad_number",
    "negative_flow",
    "absurd_flow",
    "negative_occupancy",
    "absurd_occupancy",
    "wrong_type",
)
"""Every reason a record can be dead-lettered for (stable names, counted in summaries); a
defined source adds `producers.sources.reader.SOURCE_REASONS`."""


def _check_flow(value: float | None) -> float | None:
    if value is not None and value < 0:
        raise InvalidValueError("negative_flow", f"flow {value} < 0")
    if value is not None and value > MAX_FLOW:
        raise InvalidValueError("absurd_flow", f"flow {value} > {MAX_FLOW:g} veh/h")
    return value


def _check_occupancy(value: float | None) -> float | None:
    if value is not None and value < 0:
        raise InvalidValueError("negative_occupancy", f"occupancy {value} < 0")
    if value is not None and value > MAX_OCCUPANCY:
        raise InvalidValueError("absurd_occupancy", f"occupancy {value} > {MAX_OCCUPANCY:g} %")
    return value


def _to_reading(record: RawRecord, resolver: LocalTimeResolver) -> Reading:
    if record.headers is None and not isinstance(record.payload, dict):
        raise InvalidValueError(
            "wrong_type", f"record is a {type(record.payload).__name__}, not an object"
        )
    fields = record.fields
    sensor_id = parse_sensor_id(fields.get(SENSOR_ID))
    ts = resolver.to_utc(sensor_id, fields.get(TS))
    if ts.minute or ts.second or ts.microsecond:
        raise InvalidValueError("not_on_the_hour", f"{ts.isoformat()} is not the start of an hour")
    return Reading(
        sensor_id=sensor_id,
        ts=ts,
        flow=_check_flow(parse_number(fields.get(FLOW))),
        occupancy=_check_occupancy(parse_number(fields.get(OCCUPANCY))),
        traffic_state=parse_traffic_state(fields.get(TRAFFIC_STATE)),
        arc_state=parse_arc_state(fields.get(ARC_STATE)),
        source=record.source,
    )


def normalise(record: RawRecord, resolver: LocalTimeResolver) -> Reading | DeadLetter:
    """One raw record → a `Reading`, or a `DeadLetter` saying why and where."""
    try:
        return _to_reading(record, resolver)
    except InvalidValueError as invalid:
        return DeadLetter(
            reason=invalid.reason,
            source=record.source,
            position=record.position,
            raw=record.raw_text(),
            detail=invalid.detail,
        )


def normalise_api_record(
    value: Any, source: str, position: str, resolver: LocalTimeResolver
) -> Reading | DeadLetter:
    """One Explore API v2.1 record (a decoded JSON value) → a `Reading` or a `DeadLetter`.

    The very path the API JSON file reader takes (`json_record`, then `normalise`), shared by
    ``flowcast live`` so that a record reads the same from a file and from the API.

    >>> record = {"iu_ac": "5381", "t_1h": "2026-06-21T00:00:00+02:00", "q": 4859.0,
    ...           "k": 12.65, "etat_trafic": "Fluide", "etat_barre": "Ouvert"}
    >>> normalise_api_record(record, "api", "api:#0", LocalTimeResolver()).ts.isoformat()
    '2026-06-20T22:00:00+00:00'
    >>> normalise_api_record({**record, "q": -1}, "api", "api:#1", LocalTimeResolver()).reason
    'negative_flow'
    """
    return normalise(json_record(value, source, position), resolver)


def iter_normalised(
    paths: Iterable[Path],
    counts: ReadCounts | None = None,
    definition: SourceDefinition | None = None,
) -> Iterator[Reading | DeadLetter]:
    """Stream every record of every file, normalised, in file order; tally into ``counts``.

    Without ``definition`` each file is in a built-in (Paris) format, detected from its
    content (`producers.sources.builtin`: the formats as definitions, read with their zone);
    with one, the files are read by it (`producers.sources`), sub-hourly values made hourly.
    Each file gets its own `LocalTimeResolver`: the repeated October hour is told apart by its
    order within one file, so reading the same file twice gives the same readings twice (then
    deduplicated), not a spurious extra hour.
    """
    tally = counts if counts is not None else ReadCounts()
    for path in paths:
        if definition is not None:
            from producers.sources.reader import iter_defined

            yield from iter_defined(path, definition, tally)
            continue
        with open_builtin(path) as (builtin, records):
            resolver = LocalTimeResolver(builtin.zone)
            for record in records:
                item = normalise(record, resolver)
                tally.read += 1
                if isinstance(item, Reading):
                    tally.readings += 1
                else:
                    tally.dead_letters[item.reason] += 1
                yield item
