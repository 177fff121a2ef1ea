"""Sensor anomalies, drift detection, the champion switch and alert de-duplication."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from flowcast.records import ArcState, Reading, TrafficState, hour_index
from models import alerts
from models.anomalies import AnomalyState, check, is_fault
from models.core import ForecastCore
from models.lifecycle import Lifecycle, command_audit
from models.state import dump_state, load_state
from producers.perturb import Perturbation, perturb
from producers.perturb_spec import parse_perturbation

T0 = datetime(2022, 6, 1, 8, tzinfo=UTC)
CHANGE = datetime(2022, 6, 1, tzinfo=UTC)


def synthetic(flow: float | None, occupancy: float | None = 10.0, **kw: object) -> Reading:
    """A synthetic reading (not real data) for rule-by-rule checks."""
    values: dict[str, object] = {"traffic_state": TrafficState.FLUID, "arc_state": ArcState.OPEN}
    values.update(kw)
    return Reading("1", T0, flow, occupancy, source="synthetic", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reading", "expected", "previous", "kind"),
    [
        (synthetic(0.0, 0.0), 400.0, 380.0, "zero_flow"),
        (synthetic(3000.0, 20.0), 300.0, 250.0, "jump"),
        (synthetic(2.0, 60.0), 300.0, 250.0, "inconsistent"),
        (synthetic(400.0, 0.0), 300.0, 380.0, "inconsistent"),
        (synthetic(300.0, 120.0), 300.0, 280.0, "inconsistent"),
        (synthetic(150.0, arc_state=ArcState.CLOSED), 300.0, 280.0, "closed_arc"),
        (synthetic(None, None, arc_state=ArcState.INVALID), 300.0, 280.0, "invalid_arc"),
    ],
)
def test_each_value_anomaly_is_flagged(
    reading: Reading, expected: float, previous: float, kind: str
) -> None:
    kinds = check(AnomalyState(), reading, 10, expected, 300.0, previous)
    assert kind in kinds
    assert is_fault(kinds) == (kind not in {"closed_arc", "invalid_arc"})


def test_normal_readings_and_quiet_zeros_are_not_flagged() -> None:
    state = AnomalyState()
    assert check(state, synthetic(310.0, 12.0), 10, 300.0, 300.0, 290.0) == ()
    assert check(state, synthetic(0.0, 0.0), 11, 10.0, 300.0, 5.0) == ()  # a quiet night hour
    assert check(state, synthetic(200.0, arc_state=ArcState.INVALID), 12, 300.0, 300.0, 0) == ()


def test_a_stuck_sensor_is_flagged_from_the_fourth_equal_hour() -> None:
    state = AnomalyState()
    flags = [check(state, synthetic(321.0), h, 300.0, 300.0, 321.0) for h in range(6)]
    assert [("stuck" in f) for f in flags] == [False, False, False, True, True, True]


def test_anomaly_rules_almost_never_fire_on_real_data(st_antoine: tuple[Reading, ...]) -> None:
    core = ForecastCore()
    faults = sum(is_fault(core.process(r).anomalies) for r in st_antoine)
    assert faults == 0  # a clean year of a real arc: no reading kept out of learning


def test_alert_episodes_deduplicate() -> None:
    state = alerts.AlertState()
    opened = [alerts.episode_start(state, "anomaly.stuck", h) for h in (10, 11, 20, 40, 100)]
    assert opened == [10, None, None, None, 100]  # reopens only after 24 quiet hours


def _core_over(readings: list[Reading], adaptive: bool = True) -> tuple[ForecastCore, list]:
    core = ForecastCore(adaptive=adaptive)
    steps = [(r, core.process(r)) for r in readings]
    return core, steps


def _after(steps: list, start: datetime, days: int = 14) -> list[alerts.Alert]:
    end = start + timedelta(days=days)
    return [a for r, s in steps for a in s.alerts if start <= r.ts < end]


def test_injected_drift_gives_one_alert_and_a_champion_switch(
    st_antoine: tuple[Reading, ...],
) -> None:
    scenario = [Perturbation("scale", frozenset({"376"}), CHANGE, factor=0.5)]
    _, steps = _core_over(list(perturb(st_antoine, scenario)))
    raised = _after(steps, CHANGE)
    drift_ids = {a.id for a in raised if a.kind == "drift"}
    assert len(drift_ids) == 1  # one event, one alert (its later phases reuse the id)
    phases = [a.phase for a in raised if a.id in drift_ids]
    assert "switched" in phases
    switched = next(a for a in raised if a.phase == "switched")
    assert switched.details["challenger_error"] < switched.details["champion_error"]
    assert switched.details["level_ratio"] < 0.85  # it is learning "flows halved"
    assert not [a for a in raised if a.kind == "anomaly"]  # a level change is not a fault
    audit = [e["action"] for r, s in steps for e in s.audit if r.ts >= CHANGE]
    assert "switched" in audit


def test_drift_handling_recovers_faster_on_real_data(st_antoine: tuple[Reading, ...]) -> None:
    scenario = [Perturbation("scale", frozenset({"376"}), CHANGE, factor=0.5)]
    readings = list(perturb(st_antoine, scenario))

    def first_week_error(adaptive: bool) -> float:
        _, steps = _core_over(readings, adaptive)
        window = [
            (abs(r.flow - s.scored.flow), r.flow)
            for r, s in steps
            if s.scored is not None
            and r.flow is not None
            and CHANGE <= r.ts < CHANGE + timedelta(days=3)
        ]
        return sum(e for e, _ in window) / sum(f for _, f in window)

    assert first_week_error(True) < 0.85 * first_week_error(False)


def test_zero_and_freeze_injections_raise_one_anomaly_alert(
    two_exports: tuple[Reading, ...],
) -> None:
    start = datetime(2022, 6, 2, 6, tzinfo=UTC)
    readings = [r for r in two_exports if r.ts < start + timedelta(days=3)]
    for kind, anomaly in (("zero", "zero_flow"), ("freeze", "stuck")):
        scenario = [Perturbation(kind, frozenset({"5671"}), start, hours=12)]
        _, steps = _core_over(list(perturb(readings, scenario)))
        raised = [a for a in _after(steps, start, days=2) if a.kind == "anomaly"]
        assert [(a.sensor_id, a.details["anomaly"]) for a in raised] == [("5671", anomaly)]


def test_state_with_lifecycle_checkpoints_exactly(st_antoine: tuple[Reading, ...]) -> None:
    scenario = [Perturbation("scale", frozenset({"376"}), CHANGE, factor=0.5)]
    readings = list(perturb(st_antoine, scenario))
    cut = next(i for i, r in enumerate(readings) if r.ts >= CHANGE + timedelta(hours=30))
    core, _ = _core_over(readings[:cut])
    assert core.sensors["376"].life.challenger is not None
    restored = ForecastCore()
    restored.import_sensor("376", core.export_sensor("376"))
    tail = readings[cut : cut + 500]

    def wall_clock_free(forecast: object) -> object:
        """The forecast without ``produced_at``, the one field that is not computed."""
        return forecast and dataclasses.replace(forecast, produced_at=CHANGE)  # type: ignore[type-var]

    original = [wall_clock_free(core.process(r).forecast) for r in tail]
    assert original == [wall_clock_free(restored.process(r).forecast) for r in tail]


def test_admin_promote_and_rollback() -> None:
    life = Lifecycle()
    assert command_audit(life, "1", "promote", 10, "admin") is None  # nothing on trial
    from models.adapt import Challenger

    life.challenger = Challenger(started=5, base="linear", reason="error")
    assert command_audit(life, "1", "rollback", 10, "admin") is None  # not serving yet
    entry = command_audit(life, "1", "promote", 10, "admin")
    assert entry is not None and entry["action"] == "promote" and life.switches == 1
    entry = command_audit(life, "1", "rollback", 11, "admin")
    assert entry is not None and life.challenger is None


def test_old_checkpoints_without_lifecycle_still_load(st_antoine: tuple[Reading, ...]) -> None:
    core, _ = _core_over(list(st_antoine[:200]))
    state = core.sensors["376"]
    object.__delattr__(state, "life")
    restored = load_state(dump_state(state))
    assert isinstance(restored.life, Lifecycle)


def test_perturbation_specs_parse_and_apply() -> None:
    spec = parse_perturbation("freeze:sensors=1:from=2022-06-01T08:00:00:hours=2")
    assert spec.start == T0 and spec.hours == 2
    readings = [
        dataclasses.replace(synthetic(float(h)), ts=T0 + timedelta(hours=h)) for h in range(4)
    ]
    assert [r.flow for r in perturb(readings, [spec])] == [0.0, 0.0, 2.0, 3.0]
    shift = parse_perturbation("shift:sensors=1:from=2022-06-01T09:00:00:hours=1")
    assert [r.flow for r in perturb(readings, [shift])] == [0.0, 0.0, 1.0, 2.0]
    for bad in (
        "melt:sensors=1:from=2022-06-01",
        "scale:from=2022-06-01",
        "shift:sensors=1:from=2022-06-01",
    ):
        with pytest.raises(ValueError):
            parse_perturbation(bad)
    assert hour_index(T0) > 0
