"""The batch path carries the core's alerts, anomaly flags and admin commands (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flowcast.records import Reading
from models.core import ForecastCore
from producers.files import InputCounts, ordered_readings
from producers.perturb import Perturbation, perturb
from stream.batch import KafkaRecord, run_batch
from stream.runtime import apply_commands

DATA = Path(__file__).resolve().parents[2] / "data" / "paris"
START = datetime(2022, 6, 2, 6, tzinfo=UTC)


def _batch(readings: list[Reading]) -> list[tuple[KafkaRecord, Reading]]:
    return [
        (KafkaRecord(r.sensor_id.encode(), r.to_json(), None, f"t/0@{i}"), r)
        for i, r in enumerate(readings)
    ]


def test_a_batch_collects_alerts_flags_and_applies_commands() -> None:
    real = ordered_readings([DATA / "export_2022_convention_5671.csv.gz"], InputCounts())
    zeroed = perturb(real, [Perturbation("zero", frozenset({"5671"}), START, hours=6)])
    readings = [r for r in zeroed if r.ts < datetime(2022, 6, 3, tzinfo=UTC)]
    core = ForecastCore()
    out = run_batch(core, _batch(readings), "test")  # type: ignore[arg-type]
    zero_alerts = [a for a in out.alerts if a.details.get("anomaly") == "zero_flow"]
    assert len(zero_alerts) == 1 and zero_alerts[0].sensor_id == "5671"
    assert out.anomaly_counts["zero_flow"] >= 1
    assert "5671" in out.anomalies
    audit = apply_commands(core, {"5671": {"command": "rollback", "by": "admin"}})
    assert audit == [
        {
            "sensor_id": "5671",
            "action": "rollback_ignored",
            "reason": "nothing to do",
            "by": "admin",
        }
    ]
