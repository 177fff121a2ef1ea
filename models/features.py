"""Features for forecasting hour ``t+1`` of one sensor, from its state up to hour ``t`` only.

Regressor inputs are deviations from the sensor's day-type × hour profile, in units of the
sensor's flow level (so one learning rate suits a quiet street and a ring road), with an
explicit ``miss_*`` flag wherever a lag is missing: a gap is never read as zero traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.calendar_context import HourContext

DEVIATION_LAGS = (1, 2, 3, 24, 168)  # hours before the target: t, t-1, t-2, t-23, t-167
SAME_HOUR_DAYS = 7
RECENT_SPREAD_HOURS = 6
CLIP = 5.0
_LAG_NAMES = tuple((lag, f"dev_lag_{lag}", f"miss_lag_{lag}") for lag in DEVIATION_LAGS)


@dataclass(slots=True)
class Features:
    """Everything a candidate or baseline may use to forecast ``target_hour``."""

    target_hour: int
    context: HourContext
    profile: float
    scale: float
    last_flow: float
    lag_flows: dict[int, float | None]
    recent_flows: list[float]
    x: dict[str, float] = field(default_factory=dict)
    z: dict[str, float] = field(default_factory=dict)  # x standardised and clipped
    stack_inputs: dict[str, float] = field(default_factory=dict)  # the ensemble's inputs

    def to_flow(self, normalised_deviation: float) -> float:
        """Turn a predicted normalised deviation back into a non-negative flow."""
        return max(0.0, self.profile + normalised_deviation * self.scale)


def regressor_inputs(
    deviations: dict[int, float | None],
    same_hour: list[float],
    recent: list[float],
    occupancy: float | None,
    traffic_level: float | None,
    profile: float,
    scale: float,
    context: HourContext,
) -> dict[str, float]:
    """The named inputs of the online regressors (deviations already divided by ``scale``)."""
    x: dict[str, float] = {}
    for lag, dev_name, miss_name in _LAG_NAMES:
        value = deviations[lag]
        x[dev_name] = _clip(value) if value is not None else 0.0
        x[miss_name] = 0.0 if value is not None else 1.0
    x["dev_same_hour_mean"] = _clip(sum(same_hour) / len(same_hour)) if same_hour else 0.0
    x["dev_recent_spread"] = _clip(_spread(recent))
    x["occupancy_lag_1"] = occupancy / 100.0 if occupancy is not None else 0.0
    x["miss_occupancy"] = 0.0 if occupancy is not None else 1.0
    x["traffic_level_lag_1"] = traffic_level if traffic_level is not None else 0.0
    x["profile_level"] = _clip(profile / scale)
    angle = 2.0 * math.pi * context.local_hour / 24.0
    x["hour_sin"] = math.sin(angle)
    x["hour_cos"] = math.cos(angle)
    x["public_holiday"] = 1.0 if context.public_holiday else 0.0
    x["school_holiday"] = 1.0 if context.school_holiday else 0.0
    return x


def _clip(value: float) -> float:
    return CLIP if value > CLIP else -CLIP if value < -CLIP else value


def _spread(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
