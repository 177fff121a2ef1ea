"""Drift injection: pure perturbations of a reading stream, for tests and demos.

A `Perturbation` changes the readings of some sensors from a date on (for ``hours``, or to the
end when ``hours`` is None). `perturb` applies a list of them to readings in event-time order;
``flowcast replay --perturb`` and ``flowcast evaluate --perturb`` both use it, so a drift
scenario is the same through the broker and in-process. Specs are parsed by
`producers.perturb_spec`.

- ``scale``: flow and occupancy × ``factor`` (e.g. 0.5: a lockdown halves the traffic);
- ``freeze``: the sensor repeats its first perturbed reading (a stuck loop);
- ``zero``: flow and occupancy 0 (a broken loop reporting zeros);
- ``shift``: the daily profile moves ``hours`` later (flow/occupancy of ``hours`` hours before).

>>> from datetime import datetime, UTC
>>> from flowcast.records import Reading, TrafficState, ArcState
>>> r = Reading("1", datetime(2022, 6, 1, 8, tzinfo=UTC), 100.0, 10.0,
...             TrafficState.FLUID, ArcState.OPEN, "synthetic")
>>> p = Perturbation("scale", frozenset({"1"}), datetime(2022, 6, 1, tzinfo=UTC), factor=0.5)
>>> [x.flow for x in perturb([r], [p])]
[50.0]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flowcast.records import Reading

KINDS = ("scale", "freeze", "zero", "shift")


@dataclass(frozen=True, slots=True)
class Perturbation:
    """One injected change: ``kind`` on ``sensors`` from ``start`` for ``hours`` (None: on)."""

    kind: str
    sensors: frozenset[str]
    start: datetime
    factor: float = 1.0
    hours: int | None = None

    def active(self, reading: Reading) -> bool:
        """Whether this perturbation changes ``reading``."""
        if reading.sensor_id not in self.sensors or reading.ts < self.start:
            return False
        if self.hours is None or self.kind == "shift":  # a shift's hours is its offset
            return True
        return reading.ts < self.start + timedelta(hours=self.hours)


@dataclass(slots=True)
class _Memory:
    """What a stateful perturbation remembers per sensor (frozen reading, recent values)."""

    frozen: dict[str, Reading] = field(default_factory=dict)
    past: dict[str, dict[datetime, Reading]] = field(default_factory=dict)


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _apply(p: Perturbation, reading: Reading, memory: _Memory) -> Reading:
    if p.kind == "scale":
        return dataclasses.replace(
            reading,
            flow=_scaled(reading.flow, p.factor),
            occupancy=_scaled(reading.occupancy, p.factor),
        )
    if p.kind == "zero":
        return dataclasses.replace(reading, flow=0.0, occupancy=0.0)
    if p.kind == "freeze":
        frozen = memory.frozen.setdefault(reading.sensor_id, reading)
        return dataclasses.replace(reading, flow=frozen.flow, occupancy=frozen.occupancy)
    source = memory.past.get(reading.sensor_id, {}).get(reading.ts - timedelta(hours=p.hours or 0))
    if source is None:
        return dataclasses.replace(reading, flow=None, occupancy=None)
    return dataclasses.replace(reading, flow=source.flow, occupancy=source.occupancy)


def _remember(reading: Reading, memory: _Memory, keep: timedelta) -> None:
    past = memory.past.setdefault(reading.sensor_id, {})
    past[reading.ts] = reading
    for ts in [ts for ts in past if ts < reading.ts - keep]:
        del past[ts]


def perturb(
    readings: Iterable[Reading], perturbations: Sequence[Perturbation]
) -> Iterator[Reading]:
    """``readings`` (event-time order) with every perturbation applied, in the given order."""
    if not perturbations:
        yield from readings
        return
    memory = _Memory()
    shifts = [p.hours or 0 for p in perturbations if p.kind == "shift"]
    keep = timedelta(hours=max(shifts, default=0))
    for original in readings:
        changed = original
        for p in perturbations:
            if p.active(original):
                changed = _apply(p, changed, memory)
        if shifts:
            _remember(original, memory, keep)
        yield changed
