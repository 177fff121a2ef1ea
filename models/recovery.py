"""How fast the served forecast recovers after an injected change (``evaluate --perturb``).

The error is compared *relative to the traffic* (normalised MAE = Σ|error| / Σ observed over
the same hours), since after "flows halved" a perfect model's MAE in veh/h halves too. The
pre-change level is the normalised MAE of the `BEFORE_DAYS` days before the change; the
recovery time is the first offset ``H`` (hours after the change) such that the day
``[H, H + 24)`` has a normalised MAE within `TOLERANCE` × that level (0: never degraded).

>>> watch = RecoveryWatch(start_hour=100, sensors=frozenset({"1"}))
>>> for h in range(40, 200):  # synthetic: error 10 % before, 50 % for 30 h, then 10 % again
...     bad = 100 <= h < 130
...     watch.add("1", h, 80.0 if bad else 10.0, 100.0)
>>> watch.summary()["1"]["recovery_hours"]
30
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.alerts import Alert

BEFORE_DAYS = 14
TOLERANCE = 1.2
WINDOW = 24
HORIZON_HOURS = 24 * 28
ALERT_DAYS = 7  # look this far after the change


@dataclass(slots=True)
class RecoveryWatch:
    """Collects the served errors and alerts of the perturbed sensors around a change."""

    start_hour: int
    sensors: frozenset[str]
    hours: dict[str, dict[int, tuple[float, float]]] = field(default_factory=dict)
    alerts: dict[str, dict[str, str]] = field(default_factory=dict)  # sensor → id → kind

    def add(self, sensor: str, hour: int, abs_error: float, observed: float) -> None:
        """One scored hour of ``sensor``: the served forecast's |error| and the observation."""
        if sensor in self.sensors and -BEFORE_DAYS * 24 <= hour - self.start_hour < HORIZON_HOURS:
            self.hours.setdefault(sensor, {})[hour] = (abs_error, observed)

    def add_alerts(self, sensor: str, alerts: tuple[Alert, ...]) -> None:
        """Alerts of ``sensor`` whose event began in the `ALERT_DAYS` after the change (one
        id = one alert; congestion forecasts are not about the change and are left out)."""
        if sensor in self.sensors:
            for alert in alerts:
                offset = alert.ts.timestamp() // 3600 - self.start_hour
                if 0 <= offset < ALERT_DAYS * 24 and alert.kind != "congestion":
                    self.alerts.setdefault(sensor, {})[alert.id] = alert.kind

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per sensor: pre-change level, recovery hours, alerts after the change."""
        return {sensor: self._sensor(sensor) for sensor in sorted(self.sensors)}

    def _sensor(self, sensor: str) -> dict[str, Any]:
        hours = self.hours.get(sensor, {})
        before = _nmae(hours, self.start_hour - BEFORE_DAYS * 24, self.start_hour)
        recovery = None
        if before is not None:
            for offset in range(HORIZON_HOURS - WINDOW):
                day = _nmae(hours, self.start_hour + offset, self.start_hour + offset + WINDOW)
                if day is not None and day <= TOLERANCE * before:
                    recovery = offset
                    break
        first_day = _nmae(hours, self.start_hour, self.start_hour + WINDOW)
        kinds = list(self.alerts.get(sensor, {}).values())
        return {
            "nmae_before": None if before is None else round(before, 4),
            "nmae_first_day": None if first_day is None else round(first_day, 4),
            "recovery_hours": recovery,
            "alerts": {kind: kinds.count(kind) for kind in sorted(set(kinds))},
        }


def _nmae(hours: dict[int, tuple[float, float]], start: int, end: int) -> float | None:
    errors = observed = 0.0
    for hour in range(start, end):
        value = hours.get(hour)
        if value is not None:
            errors += value[0]
            observed += value[1]
    return errors / observed if observed > 0 else None
