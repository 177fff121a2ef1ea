"""Sensor anomalies of one reading, checked before the core learns from it.

Rules (thresholds chosen on the bundled real data, where they almost never fire: of 54,771
readings, no flow repeats more than 3 hours in a row, 32 flows are 0 and all at quiet hours,
one hour-to-hour change exceeds 6 × the sensor's level, and 6 readings count traffic with 0 %
occupancy):

- ``stuck``: the same non-zero flow for `STUCK_HOURS` consecutive hours or more;
- ``zero_flow``: flow 0 on an arc not closed while the profile expects a busy hour
  (≥ `BUSY_FLOW` veh/h and ≥ `BUSY_SHARE` × the sensor's level);
- ``jump``: a change from the previous hour larger than `JUMP_LEVELS` × the sensor's level;
- ``inconsistent``: occupancy > 100 %, or ≥ `FULL_OCCUPANCY` % with almost no flow, or 0 %
  occupancy with a flow above half the sensor's level (and ≥ `BUSY_FLOW`);
- ``closed_arc``: the arc is reported closed (its counts are real traffic, so still learnt);
- ``invalid_arc``: the arc is reported invalid *and* the flow is missing. Most bundled arcs are
  published "invalid" with plausible counts, so "invalid" alone is not flagged.

The first four are sensor faults (`FAULTS`): the core keeps such a reading out of learning and
scoring (the flow counts as missing); the raw value is still stored and shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowcast.records import ArcState, Reading

STUCK_HOURS = 4
BUSY_FLOW = 50.0
BUSY_SHARE = 0.5
JUMP_LEVELS = 6.0
FULL_OCCUPANCY = 30.0
FAULTS = frozenset({"stuck", "zero_flow", "jump", "inconsistent"})
KINDS = ("stuck", "zero_flow", "jump", "inconsistent", "closed_arc", "invalid_arc")


@dataclass(slots=True)
class AnomalyState:
    """Per-sensor memory of the rules (the repeated value) and counts per kind."""

    repeat_value: float | None = None
    repeat_hour: int | None = None
    repeats: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    last_hour: int | None = None
    last_kinds: tuple[str, ...] = ()


def _stuck(state: AnomalyState, hour: int, flow: float | None) -> bool:
    if (
        flow is not None
        and flow > 0
        and flow == state.repeat_value
        and state.repeat_hour == hour - 1
    ):
        state.repeats += 1
    else:
        state.repeats = 1
        state.repeat_value = flow
    state.repeat_hour = hour
    return state.repeats >= STUCK_HOURS


def _value_kinds(
    reading: Reading, flow: float, expected: float | None, level: float, previous: float | None
) -> list[str]:
    kinds = []
    if (
        flow == 0
        and expected is not None
        and reading.arc_state != ArcState.CLOSED
        and expected >= max(BUSY_FLOW, BUSY_SHARE * level)
    ):
        kinds.append("zero_flow")
    if previous is not None and level > 0 and abs(flow - previous) > JUMP_LEVELS * level:
        kinds.append("jump")
    occupancy = reading.occupancy
    if occupancy is not None and (
        occupancy > 100.0
        or (occupancy >= FULL_OCCUPANCY and flow < 0.05 * level)
        or (occupancy == 0 and flow >= BUSY_FLOW and flow > 0.5 * level)
    ):
        kinds.append("inconsistent")
    return kinds


def check(
    state: AnomalyState,
    reading: Reading,
    hour: int,
    expected: float | None,
    level: float,
    previous: float | None,
) -> tuple[str, ...]:
    """The anomaly kinds of ``reading`` (usually none), counted in ``state``.

    ``expected``: the profile's flow for this hour; ``level``: the sensor's flow level (0
    before its first flow); ``previous``: the flow of the hour before, if observed.
    """
    flow = reading.flow
    kinds = _value_kinds(reading, flow, expected, level, previous) if flow is not None else []
    if _stuck(state, hour, flow):
        kinds.append("stuck")
    if reading.arc_state == ArcState.CLOSED:
        kinds.append("closed_arc")
    elif reading.arc_state == ArcState.INVALID and flow is None:
        kinds.append("invalid_arc")
    state.last_hour = hour
    if not kinds:
        if state.last_kinds:
            state.last_kinds = ()
        return ()
    found = tuple(kinds)
    state.last_kinds = found
    counts = state.counts
    for kind in found:
        counts[kind] = counts.get(kind, 0) + 1
    return found


def is_fault(kinds: tuple[str, ...]) -> bool:
    """Whether any of ``kinds`` is a sensor fault (the reading is not learnt from)."""
    return any(kind in FAULTS for kind in kinds)
