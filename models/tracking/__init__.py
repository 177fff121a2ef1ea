"""MLflow tracking of Flowcast: evaluation runs, the ``flowcast-core`` registry, workers.

Nothing here imports ``mlflow`` at module import (it takes seconds): every function that
talks to MLflow imports it on first use, so the core, ``evaluate`` and the worker's hot path
stay fast whether tracking is on or off.

- `tracking_target` resolves the store: ``sqlite:///<state_dir>/mlflow.db`` with artifacts
  under ``<state_dir>/mlartifacts`` by default, or ``Settings.mlflow_uri`` (a tracking server).
- `track_evaluation` records a ``flowcast evaluate`` run (experiment ``flowcast-evaluate``)
  and registers it as a version of ``flowcast-core`` with alias ``champion`` or
  ``challenger`` (`models.tracking.registry`); `WeeklyErrors` is the `evaluate` period hook
  that gives its rolling metrics.
- `WorkerTracker` logs a stream worker's counts, rolling errors and model snapshots
  (experiment ``flowcast-worker``) from a background thread.
"""

from __future__ import annotations

from models.tracking.backtest_run import (
    EVALUATE_EXPERIMENT,
    TrackedEvaluation,
    report_metrics,
    track_evaluation,
)
from models.tracking.params import core_config, describe, input_fingerprint
from models.tracking.registry import CHALLENGER, CHAMPION_ALIAS, MODEL_NAME, Standing, decide
from models.tracking.store import TrackingTarget, target_from_settings, tracking_target
from models.tracking.weekly import WeeklyErrors
from models.tracking.worker import WORKER_EXPERIMENT, WorkerTracker

__all__ = [
    "CHALLENGER",
    "CHAMPION_ALIAS",
    "EVALUATE_EXPERIMENT",
    "MODEL_NAME",
    "WORKER_EXPERIMENT",
    "Standing",
    "TrackedEvaluation",
    "TrackingTarget",
    "WeeklyErrors",
    "WorkerTracker",
    "core_config",
    "decide",
    "describe",
    "input_fingerprint",
    "report_metrics",
    "target_from_settings",
    "track_evaluation",
    "tracking_target",
]
