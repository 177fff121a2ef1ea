"""The evaluation report (contract in DESIGN.md), built from per-sensor accumulators.

The same function serves ``flowcast evaluate`` (accumulators straight from the core) and the
gateway's ``GET /evaluation`` (accumulators the workers wrote to Redis), so the same records
give the same numbers either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.baselines import BASELINE_NAMES
from models.metrics import Accumulator, merge, metric_block

CHAMPION = "champion"
COVERAGE = "interval_coverage"  # [hits, scored] of the served interval, beside the accumulators


def sensor_accumulators(accumulators: Mapping[str, Accumulator], hits: list[int]) -> dict[str, Any]:
    """One sensor's JSON-able evaluation state (what a worker publishes per sensor)."""
    return {**{name: list(acc) for name, acc in accumulators.items()}, COVERAGE: list(hits)}


def report_from_accumulators(
    per_sensor: Mapping[str, Mapping[str, Any]],
    *,
    records: int = 0,
    seconds: float = 0.0,
    nominal_coverage: float = 0.9,
) -> dict[str, Any]:
    """The ``evaluate`` report from ``{sensor_id: sensor_accumulators(...)}``."""
    names = sorted({name for accs in per_sensor.values() for name in accs} - {COVERAGE})
    totals = {name: _merged(per_sensor, name) for name in names}
    hits = [0, 0]
    for accs in per_sensor.values():
        sensor_hits = accs.get(COVERAGE, [0, 0])
        hits = [hits[0] + sensor_hits[0], hits[1] + sensor_hits[1]]
    champion = totals.get(CHAMPION)
    return {
        "records": records,
        "sensors": len(per_sensor),
        "scored": int(champion[0]) if champion else 0,
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds, 1) if seconds > 0 else 0.0,
        "champion": metric_block(champion) if champion else metric_block([0.0] * 6),
        "models": {
            name: metric_block(totals[name])
            for name in names
            if name != CHAMPION and name not in BASELINE_NAMES
        },
        "baselines": {
            name: metric_block(totals[name]) if name in totals else metric_block([0.0] * 6)
            for name in BASELINE_NAMES
        },
        "interval": {
            "nominal_coverage": nominal_coverage,
            "coverage": round(hits[0] / hits[1], 4) if hits[1] else None,
            "n": hits[1],
        },
        "by_sensor": {
            sensor: {
                name: metric_block(acc) for name, acc in sorted(accs.items()) if name != COVERAGE
            }
            for sensor, accs in sorted(per_sensor.items())
        },
    }


def _merged(per_sensor: Mapping[str, Mapping[str, Any]], name: str) -> Accumulator:
    return merge(accs[name] for accs in per_sensor.values() if name in accs)
