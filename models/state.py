"""Everything the core remembers about one sensor, and its compact checkpoint form."""

from __future__ import annotations

import pickle
import zlib
from dataclasses import MISSING, dataclass, field, fields

from flowcast.records import Forecast
from models.baselines import make_baselines
from models.candidates import StackedEnsemble, make_candidates
from models.features import Features
from models.history import HourRing
from models.interface import Forecaster
from models.intervals import ResidualQuantiles
from models.lifecycle import Lifecycle
from models.metrics import Accumulator
from models.profile import DayHourProfile
from models.scaler import ClippedStandardScaler

RING_HOURS = 336  # two weeks: lags up to t-167 and same-hour means over a week


@dataclass(slots=True)
class Pending:
    """The forecast issued for ``features.target_hour``, waiting for its observation."""

    features: Features
    predictions: dict[str, float]  # every candidate, the ensemble, every baseline
    forecast: Forecast


@dataclass(slots=True)
class SensorState:
    """Rolling memory, learners, honest error trackers and metrics of one sensor."""

    last_hour: int | None = None
    last_flow: float | None = None
    last_occupancy: float | None = None
    last_traffic_level: float | None = None
    scale: float = 0.0
    flows: HourRing = field(default_factory=lambda: HourRing(RING_HOURS))
    deviations: HourRing = field(default_factory=lambda: HourRing(RING_HOURS))
    profile: DayHourProfile = field(default_factory=DayHourProfile)
    scaler: ClippedStandardScaler = field(default_factory=ClippedStandardScaler)
    candidates: list[Forecaster] = field(default_factory=make_candidates)
    baselines: list[Forecaster] = field(default_factory=make_baselines)
    ensemble: StackedEnsemble = field(default_factory=StackedEnsemble)
    recent_error: dict[str, float] = field(default_factory=dict)
    residuals: ResidualQuantiles = field(default_factory=ResidualQuantiles)
    pending: Pending | None = None
    accumulators: dict[str, Accumulator] = field(default_factory=dict)
    interval_hits: list[int] = field(default_factory=lambda: [0, 0])
    readings: int = 0
    learned: int = 0
    life: Lifecycle = field(default_factory=Lifecycle)  # anomalies, drift, challenger, alerts


def dump_state(state: SensorState) -> bytes:
    """Compact, exact serialisation (pickle, then zlib)."""
    return zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), 1)


def load_state(blob: bytes) -> SensorState:
    """Inverse of `dump_state`. Only load blobs this system wrote (pickle trusts its input)."""
    state = pickle.loads(zlib.decompress(blob))
    if not isinstance(state, SensorState):
        raise TypeError("not a Flowcast sensor state")
    for missing in (f for f in fields(SensorState) if not hasattr(state, f.name)):
        # a checkpoint from before a field existed: the field starts fresh
        if missing.default_factory is not MISSING:
            setattr(state, missing.name, missing.default_factory())
        elif missing.default is not MISSING:
            setattr(state, missing.name, missing.default)
    return state
