"""Tracking of a stream worker (experiment ``flowcast-worker``), off the event loop.

The runtime calls `WorkerTracker.observe` after each batch: a few additions under a lock,
nothing else. A daemon thread wakes every ``interval_s`` and logs readings processed,
forecasts, dead letters and duplicates (running totals), readings/s and the MAE of the
served forecasts per serving model over the interval (``mae/<model>``); every
``snapshot_every_s`` it asks the runtime for the exported states of up to
``snapshot_sensors`` sensors (taken on the loop thread between batches, so never while the
core mutates them) and uploads them as one zip artifact under ``snapshots/``.

MLflow being slow or unreachable never reaches the worker: the thread logs a warning and
retries at the next interval, keeping the unsent intervals (up to `PENDING_TICKS`).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from flowcast.settings import Settings
from models.core import CORE_VERSION, ForecastCore
from models.tracking.params import candidate_set_of, core_config, flat_params
from models.tracking.snapshot import write_snapshot
from models.tracking.store import (
    TrackingTarget,
    check_reachable,
    ensure_experiment,
    open_client,
    target_from_settings,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)
WORKER_EXPERIMENT = "flowcast-worker"
PENDING_TICKS = 120
MAX_PARAM = 6000
Row = tuple[int, int, dict[str, float]]  # (timestamp ms, step, {metric: value})


class BatchCounts(Protocol):
    """What the tracker reads of a batch's output (`stream.batch.BatchOutput` fits)."""

    @property
    def processed(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def forecasts(self) -> Sized: ...
    @property
    def dead_letters(self) -> Sized: ...
    @property
    def scored_errors(self) -> Mapping[str, Sequence[float]]: ...


@dataclass(slots=True)
class _Window:
    """Counts and absolute-error sums since the last log."""

    readings: int = 0
    forecasts: int = 0
    dead_letters: int = 0
    duplicates: int = 0
    error_sums: dict[str, float] = field(default_factory=dict)
    error_counts: dict[str, int] = field(default_factory=dict)


class WorkerTracker:
    """Logs a worker's progress and model snapshots to MLflow from a background thread.

    ``enabled=False`` makes every method a no-op (tests, or tracking turned off).
    """

    def __init__(
        self,
        target: TrackingTarget,
        params: Mapping[str, str],
        *,
        enabled: bool = True,
        interval_s: float = 60.0,
        snapshot_every_s: float = 600.0,
        snapshot_sensors: int = 50,
        run_name: str = "flowcast-worker",
        health_timeout_s: float = 2.0,
    ) -> None:
        self.target, self.params, self.enabled = target, dict(params), enabled
        self.interval_s, self.snapshot_every_s = interval_s, snapshot_every_s
        self.snapshot_sensors, self.run_name = snapshot_sensors, run_name
        self.health_timeout_s = health_timeout_s
        self.run_id: str | None = None
        self.failures = 0
        self.snapshots = 0
        self._lock = threading.Lock()
        self._window = _Window()
        self._totals = {"readings_total": 0, "forecasts_total": 0, "dead_letters_total": 0}
        self._totals["duplicates_total"] = 0
        self._sensors = 0
        self._snapshot_wanted = False
        self._snapshot: tuple[datetime, dict[str, bytes]] | None = None
        self._pending: deque[Row] = deque(maxlen=PENDING_TICKS)
        self._step = 0
        self._last_tick = self._last_snapshot = time.monotonic()
        self._client: MlflowClient | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_worker(
        cls,
        settings: Settings,
        core: ForecastCore,
        *,
        enabled: bool = True,
        interval_s: float = 60.0,
        snapshot_every_s: float = 600.0,
    ) -> WorkerTracker:
        """A tracker for a worker: params from the settings and the core's configuration."""
        candidate_set = candidate_set_of(core)
        params = {
            "app_id": settings.app_id,
            "readings_topic": settings.readings_topic,
            "deadletter_topic": settings.deadletter_topic,
            "forecasts_topic": settings.forecasts_topic,
            "partitions": str(settings.partitions),
            "candidate_set": candidate_set,
            "core_version": CORE_VERSION,
        }
        if candidate_set != "custom":
            params = {**flat_params(core_config(candidate_set)), **params}
        return cls(
            target_from_settings(settings),
            params,
            enabled=enabled,
            interval_s=interval_s,
            snapshot_every_s=snapshot_every_s,
            run_name=f"{settings.app_id}@{socket.gethostname()}:{os.getpid()}",
        )

    # -- the loop thread: cheap ------------------------------------------------------------
    def observe(self, out: BatchCounts, core: ForecastCore) -> None:
        """Fold one batch in (call after each batch, on the loop thread)."""
        if not self.enabled:
            return
        with self._lock:
            window = self._window
            window.readings += out.processed
            window.forecasts += len(out.forecasts)
            window.dead_letters += len(out.dead_letters)
            window.duplicates += out.duplicates
            sums, counts = window.error_sums, window.error_counts
            for model, errors in out.scored_errors.items():
                sums[model] = sums.get(model, 0.0) + sum(errors)
                counts[model] = counts.get(model, 0) + len(errors)
            self._sensors = len(core.sensors)
        if self._snapshot_wanted:
            self._snapshot_wanted = False
            self._take_snapshot(core)

    def _take_snapshot(self, core: ForecastCore) -> None:
        try:
            sensors = sorted(core.sensors)[: self.snapshot_sensors]
            blobs = {sensor: core.export_sensor(sensor) for sensor in sensors}
        except Exception:
            log.exception("model snapshot failed; next one in %.0fs", self.snapshot_every_s)
            return
        with self._lock:
            self._snapshot = (datetime.now(UTC), blobs)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread (no-op when disabled or already started)."""
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="flowcast-mlflow", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Log what is left, end the run and stop the thread (waits at most ``timeout_s``)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("MLflow tracking thread still busy after %.0fs: left behind", timeout_s)

    # -- the background thread -------------------------------------------------------------
    def _run(self) -> None:
        self._guarded(self._connect)  # MLflow's import costs seconds: pay it at start-up
        while not self._stop.wait(self.interval_s):
            self._guarded(self._tick)
        self._guarded(self._tick)
        self._finish()

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:  # MLflow down or failing: the worker must not notice
            self.failures += 1
            log.warning(
                "MLflow tracking to %s failed (%s: %s); retrying in %.0fs",
                self.target.uri,
                type(exc).__name__,
                str(exc)[:300],
                self.interval_s,
            )

    def _connect(self) -> None:
        self._check_reachable()
        self._run_client()

    def _tick(self) -> None:
        self._collect()
        if time.monotonic() - self._last_snapshot >= self.snapshot_every_s:
            self._last_snapshot = time.monotonic()
            self._snapshot_wanted = True
        self._send()

    def _collect(self) -> None:
        """Close the current window into a pending row of metrics."""
        with self._lock:
            window, self._window = self._window, _Window()
            sensors = self._sensors
        now = time.monotonic()
        elapsed, self._last_tick = max(now - self._last_tick, 1e-9), now
        totals = self._totals
        totals["readings_total"] += window.readings
        totals["forecasts_total"] += window.forecasts
        totals["dead_letters_total"] += window.dead_letters
        totals["duplicates_total"] += window.duplicates
        row: dict[str, float] = {key: float(value) for key, value in totals.items()}
        row["readings_per_s"] = window.readings / elapsed
        row["sensors"] = float(sensors)
        row.update(_interval_mae(window))
        self._pending.append((int(time.time() * 1000), self._step, row))
        self._step += 1

    def _send(self) -> None:
        self._check_reachable()
        client, run_id = self._run_client()
        from mlflow.entities import Metric

        while self._pending:
            timestamp, step, row = self._pending[0]
            metrics = [Metric(key, value, timestamp, step) for key, value in row.items()]
            client.log_batch(run_id, metrics=metrics)
            self._pending.popleft()
        self._upload_snapshot(client, run_id)

    def _check_reachable(self) -> None:
        check_reachable(self.target, self.health_timeout_s)

    def _run_client(self) -> tuple[MlflowClient, str]:
        """The client and run, created (with the params) on first success."""
        if self._client is not None and self.run_id is not None:
            return self._client, self.run_id
        from mlflow.entities import Param

        client = open_client(self.target)
        experiment_id = ensure_experiment(client, self.target, WORKER_EXPERIMENT)
        run = client.create_run(experiment_id, run_name=self.run_name)
        params = [Param(key, value[:MAX_PARAM]) for key, value in self.params.items()]
        for start in range(0, len(params), 100):
            client.log_batch(run.info.run_id, params=params[start : start + 100])
        self._client, self.run_id = client, run.info.run_id
        log.info("worker tracked in MLflow run %s (%s)", self.run_id, self.target.uri)
        return client, run.info.run_id

    def _upload_snapshot(self, client: MlflowClient, run_id: str) -> None:
        with self._lock:
            snapshot, self._snapshot = self._snapshot, None
        if snapshot is None:
            return
        taken_at, blobs = snapshot
        try:
            with tempfile.TemporaryDirectory(prefix="flowcast-snapshot-") as tmp:
                path = Path(tmp) / f"core-{taken_at:%Y%m%dT%H%M%SZ}.zip"
                write_snapshot(path, blobs, taken_at, self.params)
                client.log_artifact(run_id, str(path), "snapshots")
        except Exception:
            with self._lock:  # keep it for the next interval unless a newer one came
                self._snapshot = self._snapshot or snapshot
            raise
        self.snapshots += 1

    def _finish(self) -> None:
        if self._client is None or self.run_id is None:
            return
        try:
            self._check_reachable()
            self._client.set_terminated(self.run_id)
        except Exception as exc:
            log.warning("could not end MLflow run %s: %s", self.run_id, exc)


def _interval_mae(window: _Window) -> dict[str, float]:
    """``mae/<model>`` over the interval, and ``mae/served`` over every served forecast."""
    counts = window.error_counts
    maes = {f"mae/{model}": total / counts[model] for model, total in window.error_sums.items()}
    scored = sum(counts.values())
    if scored:
        maes["mae/served"] = sum(window.error_sums.values()) / scored
    return maes
