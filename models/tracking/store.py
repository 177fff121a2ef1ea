"""Where tracking goes: one resolver for the store, one opener, one experiment helper.

>>> target = tracking_target(None, Path("/srv/flowcast"))
>>> target.uri
'sqlite:////srv/flowcast/mlflow.db'
>>> target.artifact_location("flowcast-evaluate")
'file:///srv/flowcast/mlartifacts/flowcast-evaluate'
>>> tracking_target("http://mlflow:5000", Path("/srv/flowcast")).artifact_location("x") is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from flowcast.settings import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

DB_FILE = "mlflow.db"
HEALTH_TIMEOUT_S = 2.0
ARTIFACTS_DIR = "mlartifacts"


@dataclass(frozen=True, slots=True)
class TrackingTarget:
    """A tracking (and registry) URI; ``local_dir`` is set for the default local store."""

    uri: str
    local_dir: Path | None = None

    def artifact_location(self, experiment: str) -> str | None:
        """Artifact root for a new experiment (``None``: the tracking server decides)."""
        if self.local_dir is None:
            return None
        return (self.local_dir / ARTIFACTS_DIR / experiment).as_uri()


def tracking_target(mlflow_uri: str | None, state_dir: Path) -> TrackingTarget:
    """``mlflow_uri`` when set (a tracking server), else a SQLite store in ``state_dir``.

    MLflow 3 refuses the plain file store unless told otherwise, and a SQLite file needs
    no server: it is the local default.
    """
    if mlflow_uri:
        return TrackingTarget(mlflow_uri)
    local_dir = state_dir.resolve()
    return TrackingTarget(f"sqlite:///{local_dir / DB_FILE}", local_dir)


def target_from_settings(settings: Settings) -> TrackingTarget:
    """`tracking_target` for a process's settings (``FLOWCAST_MLFLOW_URI``, state dir)."""
    return tracking_target(settings.mlflow_uri, settings.state_dir)


def open_client(target: TrackingTarget) -> MlflowClient:
    """An `MlflowClient` on the target (imports MLflow; creates the local folder)."""
    from mlflow import MlflowClient

    if target.local_dir is not None:
        (target.local_dir / ARTIFACTS_DIR).mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=target.uri, registry_uri=target.uri)


def ensure_experiment(client: MlflowClient, target: TrackingTarget, name: str) -> str:
    """The id of experiment ``name``, created (or restored, if deleted) when needed."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, artifact_location=target.artifact_location(name))
        except MlflowException:  # created meanwhile by another process
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return str(experiment.experiment_id)


def check_reachable(target: TrackingTarget, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
    """Raise `ConnectionError` at once if a tracking server does not answer.

    MLflow's own HTTP client retries a refused connection with backoff for minutes before
    giving up; a quick probe of ``/health`` first fails fast instead.
    """
    if not target.uri.startswith(("http://", "https://")):
        return
    try:
        httpx.get(f"{target.uri.rstrip('/')}/health", timeout=timeout_s)
    except httpx.TransportError as exc:
        raise ConnectionError(f"tracking server {target.uri} unreachable: {exc}") from exc
