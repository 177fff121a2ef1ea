"""The online core: one `process` call per reading, honest 1-hour delayed-label learning.

For each reading of hour ``t`` of a sensor, in event-time order:

1. a reading for an hour already processed is a duplicate and changes nothing;
2. the forecast issued earlier for ``t`` is scored against the observed flow, then every
   candidate and baseline learns from the features it had *at forecast time*;
3. the rolling state (lags, profile, level) takes in hour ``t``;
4. every candidate and baseline forecasts ``t+1``; the champion (lowest recent honest error)
   is served, with an interval from recent residuals.

No candidate ever sees the value it forecasts: the label of ``t+1`` only reaches the learners
after their forecast for ``t+1`` is frozen in `Pending`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowcast.records import Forecast, Reading, TrafficState, hour_index, hour_start
from models.alerts import Alert
from models.calendar_context import HourContext, hour_context
from models.candidates import make_candidates
from models.features import (
    DEVIATION_LAGS,
    RECENT_SPREAD_HOURS,
    SAME_HOUR_DAYS,
    Features,
    regressor_inputs,
)
from models.interface import Forecaster
from models.lifecycle import (
    AuditEntry,
    Events,
    after_forecast,
    after_score,
    check_anomalies,
    command_audit,
    serve,
)
from models.metrics import accumulate_all
from models.report import CHAMPION, report_from_accumulators, sensor_accumulators
from models.state import Pending, SensorState, dump_state, load_state

CORE_VERSION = "1.0.0"
ENSEMBLE = "ensemble"
ERROR_DECAY = 0.05  # weight of the newest error in the recent-error averages (~20 h memory)
LEVEL_DECAY = 0.02
LEVEL_FLOOR = 10.0
MAX_HOURS_AHEAD = 24
_TRAFFIC_LEVEL = {
    TrafficState.FLUID: 0.25,
    TrafficState.PRE_SATURATED: 0.5,
    TrafficState.SATURATED: 0.75,
    TrafficState.BLOCKED: 1.0,
}


@dataclass(frozen=True, slots=True)
class Step:
    """What processing one reading produced."""

    duplicate: bool
    forecast: Forecast | None = None
    scored: Forecast | None = None  # the forecast issued for this reading's hour, now scored
    observed: float | None = None
    anomalies: tuple[str, ...] = ()  # sensor anomaly kinds of the reading (`models.anomalies`)
    alerts: tuple[Alert, ...] = ()  # operator alerts raised (`models.alerts`)
    audit: tuple[AuditEntry, ...] = ()  # model lifecycle decisions (`models.lifecycle`)


def _utc_now() -> datetime:
    """Wall clock to the second (the wire format's precision; equal seconds encode once)."""
    return datetime.now(UTC).replace(microsecond=0)


class ForecastCore:
    """Per-sensor online forecasting, driven by `process`; used by the worker and `evaluate`."""

    def __init__(
        self,
        score_from: datetime | None = None,
        score_to: datetime | None = None,
        clock: Callable[[], datetime] = _utc_now,
        candidates: Callable[[], list[Forecaster]] = make_candidates,
        adaptive: bool = True,
    ) -> None:
        """``adaptive``: start a challenger on a confirmed drift (`models.adapt`); without
        it drift is still detected and alerted, but nothing adapts beyond the candidates."""
        self.sensors: dict[str, SensorState] = {}
        self.adaptive = adaptive
        self._events = Events()
        self.make_candidates = candidates
        self.score_from = hour_index(score_from) if score_from else None
        self.score_to = hour_index(score_to) if score_to else None
        self.clock = clock

    # -- the per-reading path -------------------------------------------------------------
    def process(self, reading: Reading) -> Step:
        """Take one reading; return the forecast for the next hour (if any)."""
        hour = hour_index(reading.ts)
        state = self.sensors.get(reading.sensor_id)
        if state is None:
            state = SensorState(candidates=self.make_candidates())
            self.sensors[reading.sensor_id] = state
        elif state.last_hour is not None and hour <= state.last_hour:
            return Step(duplicate=True)
        state.readings += 1
        events, life, sensor = self._events, state.life, reading.sensor_id
        context = hour_context(hour)
        expected = state.profile.value(context.day_type, context.local_hour)
        previous = state.flows.get(hour - 1)
        learnt = check_anomalies(life, reading, hour, expected, state.scale, previous, events)
        flow = learnt.flow  # None when the reading is a sensor fault
        scored = self._score_pending(state, hour, flow)
        deviation = self._observe(state, hour, learnt, context, expected)
        after_score(life, sensor, hour, flow, scored, deviation, state.scale, self.adaptive, events)
        forecast = self._forecast(sensor, state, hour, expected)
        if forecast is not None:
            after_forecast(life, forecast, hour, flow, state.last_traffic_level, events)
        step = Step(False, forecast, scored, reading.flow, life.anomalies.last_kinds)
        if events.alerts or events.audit:
            step = Step(False, forecast, scored, reading.flow, step.anomalies,
                        tuple(events.alerts), tuple(events.audit))  # fmt: skip
            events.alerts.clear()
            events.audit.clear()
        return step

    def _score_pending(self, state: SensorState, hour: int, flow: float | None) -> Forecast | None:
        pending, state.pending = state.pending, None
        if pending is None or flow is None or pending.features.target_hour != hour:
            return None
        scale = pending.features.scale
        counted = self._in_window(hour)
        recent = state.recent_error
        for name, predicted in pending.predictions.items():
            error = abs(flow - predicted) / scale
            previous = recent.get(name)
            recent[name] = (
                error if previous is None else previous + (error - previous) * ERROR_DECAY
            )
        served = pending.forecast
        if counted:
            accumulate_all(state.accumulators, pending.predictions, flow)
            accumulate_all(state.accumulators, {CHAMPION: served.flow}, flow)
            state.interval_hits[0] += served.flow_low <= flow <= served.flow_high
            state.interval_hits[1] += 1
        state.residuals.add((flow - served.flow) / scale)
        features = pending.features
        for learner in (*state.candidates, *state.baselines):
            learner.learn_one(features, flow)
        state.ensemble.learn_one(features, flow)
        state.learned += 1
        return served

    def _in_window(self, hour: int) -> bool:
        if self.score_from is not None and hour < self.score_from:
            return False
        return self.score_to is None or hour < self.score_to

    @staticmethod
    def _observe(
        state: SensorState,
        hour: int,
        reading: Reading,
        context: HourContext,
        expected: float | None,
    ) -> float | None:
        flow = reading.flow
        deviation = None
        if flow is not None:
            if state.last_flow is None:
                state.scale = max(LEVEL_FLOOR, flow)
            if expected is not None:
                deviation = (flow - expected) / state.scale
            state.profile.update(context.day_type, context.local_hour, flow)
            state.scale = max(LEVEL_FLOOR, state.scale + (flow - state.scale) * LEVEL_DECAY)
            state.last_flow = flow
        state.flows.put(hour, flow)
        state.deviations.put(hour, deviation)
        state.last_occupancy = reading.occupancy
        state.last_traffic_level = _TRAFFIC_LEVEL.get(reading.traffic_state)
        state.last_hour = hour
        return deviation

    def _forecast(
        self, sensor_id: str, state: SensorState, hour: int, expected: float | None = None
    ) -> Forecast | None:
        if state.last_flow is None:
            return None  # nothing observed yet: no honest forecast to make
        features = self._features(state, hour + 1)
        predictions = {c.name: c.predict_one(features) for c in state.candidates}
        for baseline in state.baselines:
            predictions[baseline.name] = baseline.predict_one(features)
        predictions[ENSEMBLE] = state.ensemble.predict_from(features, predictions)
        champion = _champion(predictions, state.recent_error)
        served, model = serve(state.life, predictions, champion, features, expected)
        low, high = state.residuals.bounds()
        forecast = Forecast(
            sensor_id=sensor_id,
            ts=hour_start(hour + 1),
            observed_ts=hour_start(hour),
            flow=served,
            flow_low=max(0.0, served + low * features.scale),
            flow_high=max(0.0, served + high * features.scale),
            model=model,
            model_version=CORE_VERSION,
            produced_at=self.clock(),
        )
        state.pending = Pending(features, predictions, forecast)
        return forecast

    @staticmethod
    def _features(state: SensorState, target: int) -> Features:
        context = hour_context(target)
        last_flow = state.last_flow if state.last_flow is not None else 0.0
        profile = state.profile.value(context.day_type, context.local_hour)
        profile = last_flow if profile is None else profile
        devs = state.deviations
        deviations = {lag: devs.get(target - lag) for lag in DEVIATION_LAGS}
        same_hour = [
            v for k in range(1, SAME_HOUR_DAYS + 1) if (v := devs.get(target - 24 * k)) is not None
        ]
        x = regressor_inputs(
            deviations,
            same_hour,
            devs.recent(target - 1, RECENT_SPREAD_HOURS),
            state.last_occupancy,
            state.last_traffic_level,
            profile,
            state.scale,
            context,
        )
        return Features(
            target_hour=target,
            context=context,
            profile=profile,
            scale=state.scale,
            last_flow=last_flow,
            lag_flows={lag: state.flows.get(target - lag) for lag in DEVIATION_LAGS},
            recent_flows=state.flows.recent(target - 1, 3),
            x=x,
            z=state.scaler.learn_transform_one(x),
        )

    # -- checkpoints and ad-hoc forecasts -------------------------------------------------
    def export_sensor(self, sensor_id: str) -> bytes:
        """The sensor's whole state, compact; `import_sensor` restores it exactly."""
        return dump_state(self.sensors[sensor_id])

    def import_sensor(self, sensor_id: str, blob: bytes) -> None:
        self.sensors[sensor_id] = load_state(blob)

    def sensor_evaluation(self, sensor_id: str) -> dict[str, Any]:
        """The sensor's evaluation accumulators, JSON-able (see `models.report`)."""
        state = self.sensors[sensor_id]
        return sensor_accumulators(state.accumulators, state.interval_hits)

    def evaluation_report(self, records: int = 0, seconds: float = 0.0) -> dict[str, Any]:
        """The ``evaluate`` report over every sensor seen so far."""
        per_sensor = {sensor: self.sensor_evaluation(sensor) for sensor in self.sensors}
        return report_from_accumulators(per_sensor, records=records, seconds=seconds)

    def apply_command(self, sensor_id: str, command: str, by: str) -> AuditEntry | None:
        """An admin's ``promote`` / ``rollback`` of the sensor's challenger (see
        `models.lifecycle.apply_command`); None when unknown or with nothing to do."""
        state = self.sensors.get(sensor_id)
        if state is None or state.last_hour is None:
            return None
        return command_audit(state.life, sensor_id, command, state.last_hour, by)

    def forget_sensor(self, sensor_id: str) -> None:
        self.sensors.pop(sensor_id, None)

    def predict_at(self, sensor_id: str, ts: datetime) -> Forecast:
        """Forecast of ``ts`` from the current state: the served forecast for the next hour,
        then up to `MAX_HOURS_AHEAD` hours the profile plus the next-hour deviation decaying
        (model ``profile_decay``). ``KeyError``: unknown sensor; ``ValueError``: bad hour."""
        state = self.sensors[sensor_id]
        if state.pending is None or state.last_hour is None:
            raise ValueError(f"sensor {sensor_id} has no forecast yet")
        pending = state.pending
        ahead = hour_index(ts) - pending.features.target_hour
        if ahead < 0 or ahead >= MAX_HOURS_AHEAD:
            raise ValueError(
                f"can forecast {pending.forecast.ts.isoformat()} to "
                f"{MAX_HOURS_AHEAD - 1} hours later, not {ts.isoformat()}"
            )
        if ahead == 0:
            return pending.forecast
        return _decayed_forecast(state, pending, sensor_id, ahead, self.clock())


def _decayed_forecast(
    state: SensorState, pending: Pending, sensor_id: str, ahead: int, now: datetime
) -> Forecast:
    target = pending.features.target_hour + ahead
    context = hour_context(target)
    profile = state.profile.value(context.day_type, context.local_hour) or pending.features.profile
    deviation = pending.forecast.flow - pending.features.profile
    flow = max(0.0, profile + deviation * 0.7**ahead)
    half_width = (pending.forecast.flow_high - pending.forecast.flow_low) / 2 * (1 + ahead) ** 0.5
    return Forecast(
        sensor_id=sensor_id,
        ts=hour_start(target),
        observed_ts=hour_start(target - ahead - 1),
        flow=flow,
        flow_low=max(0.0, flow - half_width),
        flow_high=flow + half_width,
        model="profile_decay",
        model_version=CORE_VERSION,
        produced_at=now,
    )


def _champion(predictions: dict[str, float], recent_error: dict[str, float]) -> str:
    """The forecaster with the lowest recent honest error: a candidate, the ensemble, or a
    baseline (a sensor is never served worse than a simple rule it could have used)."""
    known = [(recent_error[name], name) for name in predictions if name in recent_error]
    return min(known)[1] if known else ENSEMBLE
