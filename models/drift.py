"""Drift detection of one sensor, with River's detectors.

Two detectors watch each sensor, both fed once per scored hour:

- ``error``: River ``ADWIN`` (``delta`` = `ADWIN_DELTA`, checked every `ADWIN_CLOCK` hours) on
  the served forecast's absolute error in units of the sensor's level (clipped at `CLIP`): a
  change in the *forecast error*. Only a rise counts (a drop is good news);
- ``input``: River ``PageHinkley`` (two-sided) on the observed flow's deviation from the
  sensor's day-type × hour profile, in level units: a change in the *input distribution*
  (flows halved, a lane closed) even before the forecast error shows it.

Drift is *confirmed* when one of them has fired within the last `ARMED_HOURS` scored hours
and the fast error average is at least `CONFIRM_RATIO` × the slow one (the served error really
got worse); after `WARM_UP` scored hours only, so a young sensor's learning is not "drift".
The drift score is that ratio, fast / slow error (≈ 1 in calm times); the worker exports its
maximum and the number of sensors above `CONFIRM_RATIO` to Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from river import drift

ADWIN_DELTA = 0.002
ADWIN_CLOCK = 4
PH_DELTA = 0.05
PH_THRESHOLD = 6.0
PH_MIN_INSTANCES = 48
CLIP = 3.0
FAST_DECAY = 0.15  # ~7 h memory
SLOW_DECAY = 0.01  # ~4 days memory
CONFIRM_RATIO = 1.5
ARMED_HOURS = 24
WARM_UP = 168  # scored hours before drift can be confirmed (a week of history)


def _adwin() -> drift.ADWIN:
    return drift.ADWIN(delta=ADWIN_DELTA, clock=ADWIN_CLOCK)


def _page_hinkley() -> drift.PageHinkley:
    return drift.PageHinkley(
        min_instances=PH_MIN_INSTANCES, delta=PH_DELTA, threshold=PH_THRESHOLD, mode="both"
    )


@dataclass(slots=True)
class DriftState:
    """The sensor's detectors and error averages."""

    error: drift.ADWIN = field(default_factory=_adwin)
    inputs: drift.PageHinkley = field(default_factory=_page_hinkley)
    fast: float = 0.0
    slow: float = 0.0
    seen: int = 0
    signal: str = ""  # the detector that fired last, still awaiting confirmation
    armed_until: int = 0  # a signal confirms if the score rises before this many hours

    @property
    def score(self) -> float:
        """Fast / slow served error: > `CONFIRM_RATIO` reads as drifting."""
        return self.fast / self.slow if self.slow > 1e-9 else 1.0


def update(state: DriftState, error: float, deviation: float | None) -> str | None:
    """Fold one scored hour in; the detector that confirmed a drift (``error``/``input``), or
    None. ``error`` and ``deviation`` are in units of the sensor's level."""
    error = CLIP if error > CLIP else error
    if state.seen:
        state.fast += (error - state.fast) * FAST_DECAY
        state.slow += (error - state.slow) * SLOW_DECAY
    else:
        state.fast = state.slow = error
    state.seen += 1
    state.error.update(error)
    if state.error.drift_detected and state.error.estimation >= state.slow:
        state.signal, state.armed_until = "error", state.seen + ARMED_HOURS
    if deviation is not None:
        state.inputs.update(CLIP if deviation > CLIP else -CLIP if deviation < -CLIP else deviation)
        if state.inputs.drift_detected:
            state.signal, state.armed_until = "input", state.seen + ARMED_HOURS
    if state.seen > state.armed_until or state.seen < WARM_UP or state.score < CONFIRM_RATIO:
        return None
    state.armed_until = 0
    return state.signal
