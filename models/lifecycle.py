"""The model lifecycle of one sensor around the core's per-reading path (pure, no I/O).

The core calls, per reading: `check_anomalies` (sensor anomalies, before learning), `after_score`
(drift detectors, challenger scoring and switches), `serve` (which forecast is served) and
`after_forecast` (congestion). Each returns the alerts raised and the audit entries written,
usually none. `apply_command` applies an admin's ``promote`` / ``rollback``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from flowcast.records import Forecast, Reading, format_utc, hour_start
from models import adapt, alerts, anomalies, drift
from models.adapt import CHALLENGER, Challenger
from models.alerts import Alert, AlertState
from models.anomalies import AnomalyState
from models.drift import DriftState
from models.features import Features

AuditEntry = dict[str, Any]
COMMANDS = ("promote", "rollback")


@dataclass(slots=True)
class Lifecycle:
    """Everything the lifecycle remembers about one sensor (checkpointed with its state)."""

    anomalies: AnomalyState = field(default_factory=AnomalyState)
    drift: DriftState = field(default_factory=DriftState)
    alerts: AlertState = field(default_factory=AlertState)
    challenger: Challenger | None = None
    switches: int = 0


@dataclass(slots=True)
class Events:
    """What one reading raised: alerts (new or a later phase of one) and audit entries."""

    alerts: list[Alert] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)


def audit_entry(sensor_id: str, action: str, hour: int, **details: Any) -> AuditEntry:
    """One audit-log entry (``ts``: the event hour, deterministic)."""
    return {"sensor_id": sensor_id, "action": action, "ts": format_utc(hour_start(hour)), **details}


def check_anomalies(
    life: Lifecycle,
    reading: Reading,
    hour: int,
    expected: float | None,
    level: float,
    previous: float | None,
    events: Events,
) -> Reading:
    """Check ``reading`` for anomalies; the reading to learn from (a fault's values masked)."""
    kinds = anomalies.check(life.anomalies, reading, hour, expected, level, previous)
    if not kinds:
        return reading
    for kind in kinds:
        key = f"anomaly.{kind}"
        start = alerts.episode_start(life.alerts, key, hour)
        if start is not None:
            message = f"sensor {reading.sensor_id}: {kind.replace('_', ' ')}"
            events.alerts.append(
                alerts.make_alert(
                    key,
                    reading.sensor_id,
                    start,
                    "detected",
                    message,
                    anomaly=kind,
                    flow=reading.flow,
                    occupancy=reading.occupancy,
                )
            )
    if anomalies.is_fault(kinds):
        return dataclasses.replace(reading, flow=None, occupancy=None)
    return reading


def after_score(
    life: Lifecycle,
    sensor_id: str,
    hour: int,
    flow: float | None,
    scored: Forecast | None,
    deviation: float | None,
    scale: float,
    adaptive: bool,
    events: Events,
) -> Challenger | None:
    """Score the challenger, feed the drift detectors, start a challenger on a drift; the
    challenger that just won (the caller recalibrates the sensor to it), if any."""
    if flow is None:
        return None
    winner = None
    challenger = life.challenger
    if challenger is not None:
        decision = adapt.score(challenger, hour, flow, scale)
        if decision is not None:
            winner = _decided(life, sensor_id, hour, decision, events)
    if scored is None:
        return winner
    signal = drift.update(life.drift, abs(flow - scored.flow) / scale, deviation)
    if signal is None or life.challenger is not None:
        return winner
    start = alerts.episode_start(life.alerts, "drift", hour)
    episode = life.alerts.episodes["drift"][0]  # a drift within an open episode: same alert
    if adaptive:
        life.challenger = Challenger(hour, scored.model, signal, episode=episode)
        events.audit.append(
            audit_entry(sensor_id, "challenger_started", hour, reason=signal, champion=scored.model)
        )
    if start is not None:
        events.alerts.append(_drift_alert(sensor_id, episode, "detected", signal, life))
    return winner


def _drift_alert(sensor_id: str, start: int, phase: str, reason: str, life: Lifecycle) -> Alert:
    errors = life.challenger.errors() if life.challenger is not None else {}
    message = f"sensor {sensor_id}: drift ({reason}), challenger {phase}"
    score = round(life.drift.score, 3)
    return alerts.make_alert(
        "drift", sensor_id, start, phase, message, reason=reason, drift_score=score, **errors
    )


def _decided(
    life: Lifecycle, sensor_id: str, hour: int, decision: str, events: Events
) -> Challenger | None:
    challenger = life.challenger
    assert challenger is not None
    started = format_utc(hour_start(challenger.started))
    errors = challenger.errors()
    events.audit.append(
        audit_entry(sensor_id, decision, hour, reason="automatic", started=started, **errors)
    )
    events.alerts.append(
        _drift_alert(sensor_id, challenger.episode, decision, challenger.reason, life)
    )
    if decision != "switched":
        life.challenger = None
        return None
    life.switches += 1
    return challenger


def serve(
    life: Lifecycle,
    predictions: dict[str, float],
    champion: str,
    features: Features,
    profile_now: float | None,
) -> tuple[float, str]:
    """The served forecast and its model: the champion, or the challenger once it switched
    (a challenger on trial forecasts beside the champion, for scoring)."""
    served = predictions[champion]
    challenger = life.challenger
    if challenger is None:
        return served, champion
    value = adapt.predict(
        challenger, features.target_hour, features.profile, profile_now, features.last_flow, served
    )
    if challenger.serving_since is None:
        return served, champion
    return value, CHALLENGER


def after_forecast(
    life: Lifecycle,
    forecast: Forecast,
    hour: int,
    flow: float | None,
    traffic_level: float | None,
    events: Events,
) -> None:
    """Learn the sensor's congestion flow; alert when the next hour is forecast congested."""
    state = life.alerts
    alerts.learn_congestion(state, flow, traffic_level)
    if not alerts.congestion_forecast(state, forecast.flow, traffic_level):
        return
    start = alerts.episode_start(state, "congestion", hour + 1)
    if start is not None:
        message = f"sensor {forecast.sensor_id}: saturated traffic forecast next hour"
        events.alerts.append(
            alerts.make_alert(
                "congestion",
                forecast.sensor_id,
                start,
                "forecast",
                message,
                forecast_flow=round(forecast.flow, 1),
                threshold=round(state.congested_flow, 1),
            )
        )


def command_audit(
    life: Lifecycle, sensor_id: str, command: str, hour: int, by: str
) -> AuditEntry | None:
    """Apply an admin's ``promote`` (the challenger on trial serves now) or ``rollback`` (back
    to the regular champion); its audit entry, or None when there is nothing to do."""
    challenger = life.challenger
    if challenger is None or command not in COMMANDS:
        return None
    serving = challenger.serving_since is not None
    if command == "promote" and not serving:
        challenger.serving_since = hour
        life.switches += 1
    elif command == "rollback" and serving:
        life.challenger = None
    else:
        return None
    return audit_entry(sensor_id, command, hour, reason=f"admin {by}", **challenger.errors())
