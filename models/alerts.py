"""Operator alerts produced by the core, one per event: de-duplicated by episode.

An `Alert`'s ``id`` is ``kind:sensor:start`` (``kind`` may carry a detail, e.g.
``anomaly.stuck``; ``start`` the epoch hour its episode began): the stable de-duplication key.
An episode of a kind opens when its condition first holds and closes once the condition has
been absent for the kind's quiet period (`QUIET_HOURS`); while open, nothing new is raised.
The episodes live in the sensor's state, so they are checkpointed with it: a replayed batch or
a restarted worker raises nothing twice. A later phase of the same event (a drift's champion
switch) re-sends the same ``id`` with a new ``phase``: stores keep one alert per id.

Congestion: each sensor learns the flow it carries when reported saturated or blocked (an
exponentially weighted mean, after `CONGESTION_MIN_SAMPLES` such hours); a served forecast at
or above it while the arc is already at least pre-saturated raises ``congestion``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson

from flowcast.records import format_utc, hour_start

QUIET_HOURS = {"anomaly": 24, "drift": 24 * 7, "congestion": 6}
CONGESTION_MIN_SAMPLES = 10
CONGESTION_DECAY = 0.05
CONGESTION_LEVEL = 0.5  # pre-saturated and worse (see the core's traffic levels)
SEVERITY = {"anomaly": "warning", "drift": "warning", "congestion": "info"}


@dataclass(frozen=True, slots=True)
class Alert:
    """One operator alert (JSON on ``ALERTS_CHANNEL`` and in the alerts store)."""

    id: str
    kind: str  # anomaly | drift | congestion
    sensor_id: str
    ts: datetime  # the hour the episode began
    phase: str  # e.g. detected, switched
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ts"] = format_utc(self.ts)
        return data

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())


@dataclass(slots=True)
class AlertState:
    """Open episodes (kind → [start hour, last hour]) and the congestion flow threshold."""

    episodes: dict[str, list[int]] = field(default_factory=dict)
    congested_flow: float = 0.0
    congested_samples: int = 0


def episode_start(state: AlertState, key: str, hour: int) -> int | None:
    """Record that ``key`` holds at ``hour``; its start hour if this opens a new episode."""
    episode = state.episodes.get(key)
    quiet = QUIET_HOURS[key.split(".", 1)[0]]
    if episode is not None and hour - episode[1] <= quiet:
        episode[1] = max(episode[1], hour)
        return None
    state.episodes[key] = [hour, hour]
    return hour


def make_alert(
    key: str, sensor_id: str, start: int, phase: str, message: str, **details: Any
) -> Alert:
    """The alert of episode ``key`` of ``sensor_id`` that began at epoch hour ``start``."""
    kind = key.split(".", 1)[0]
    return Alert(
        id=f"{key}:{sensor_id}:{start}",
        kind=kind,
        sensor_id=sensor_id,
        ts=hour_start(start),
        phase=phase,
        severity=SEVERITY[kind],
        message=message,
        details=details,
    )


def learn_congestion(state: AlertState, flow: float | None, traffic_level: float | None) -> None:
    """Fold a reading reported saturated or blocked into the sensor's congestion flow."""
    if flow is None or traffic_level is None or traffic_level < 0.75:
        return
    state.congested_samples += 1
    weight = max(1.0 / state.congested_samples, CONGESTION_DECAY)
    state.congested_flow += (flow - state.congested_flow) * weight


def congestion_forecast(
    state: AlertState, forecast_flow: float, traffic_level: float | None
) -> bool:
    """Whether the next hour is forecast saturated/blocked at this sensor."""
    return (
        state.congested_samples >= CONGESTION_MIN_SAMPLES
        and traffic_level is not None
        and traffic_level >= CONGESTION_LEVEL
        and forecast_flow >= state.congested_flow
    )
