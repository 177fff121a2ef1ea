"""Tracking of ``flowcast evaluate``: one MLflow run per pass, then a registry version.

The run (experiment ``flowcast-evaluate``) holds the core's configuration and the inputs as
params, every metric block of the report as metrics (``champion/mae``, ``model/linear/rmse``,
``baseline/persistence/r2``…, plus ``mae_ratio_to_best_baseline``), the champion's and the
best baseline's MAE per simulated week (``weekly/…``, step = week index), and the artifact
folder ``core/`` (``config.json`` + ``report.json``) that the ``flowcast-core`` version points at.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from models.report import CHAMPION
from models.tracking.params import core_config, file_list, flat_params, input_fingerprint
from models.tracking.registry import Standing, register_core
from models.tracking.store import (
    TrackingTarget,
    check_reachable,
    ensure_experiment,
    open_client,
)
from models.tracking.weekly import WeeklyErrors

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

EVALUATE_EXPERIMENT = "flowcast-evaluate"
CORE_ARTIFACTS = "core"
MAX_PARAM = 6000
PARAMS_PER_CALL, METRICS_PER_CALL = 100, 1000  # MLflow's log_batch limits
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TrackedEvaluation:
    """Where a tracked evaluation went: its run, its registry version and alias, and why."""

    run_id: str
    version: str
    alias: str
    reason: str
    tracking_uri: str


def track_evaluation(
    report: Mapping[str, Any],
    paths: Sequence[Path],
    weekly: WeeklyErrors,
    target: TrackingTarget,
) -> TrackedEvaluation:
    """Record one evaluation run and register its core (see the module docstring)."""
    check_reachable(target)
    client = open_client(target)
    experiment_id = ensure_experiment(client, target, EVALUATE_EXPERIMENT)
    config = core_config(report["candidate_set"])
    fingerprint = input_fingerprint(paths, report["score_window"])
    run = client.create_run(
        experiment_id,
        run_name=f"evaluate-{config['candidate_set']}",
        tags={"flowcast.command": "evaluate", "input_fingerprint": fingerprint},
    )
    run_id = run.info.run_id
    try:
        params = {**flat_params(config), **_input_params(report, paths, fingerprint)}
        _log(client, run_id, params, _metrics(report, weekly))
        _log_core_artifacts(client, run_id, config, report)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id)
    version, decision = register_core(
        client,
        run_id=run_id,
        source=f"{run.info.artifact_uri}/{CORE_ARTIFACTS}",
        standing=standing_of(report, fingerprint),
        tags={"candidate_set": config["candidate_set"], "core_version": config["core_version"]},
    )
    return TrackedEvaluation(run_id, version, decision.alias, decision.reason, target.uri)


def best_baseline(report: Mapping[str, Any]) -> tuple[str, float] | None:
    """The baseline with the lowest MAE (``None`` if nothing was scored)."""
    scored = [(b["mae"], name) for name, b in report["baselines"].items() if b["mae"] is not None]
    if not scored:
        return None
    mae, name = min(scored)
    return name, mae


def standing_of(report: Mapping[str, Any], fingerprint: str) -> Standing:
    """The registry standing of a report: champion MAE over the best baseline's."""
    best = best_baseline(report)
    champion_mae = report[CHAMPION]["mae"]
    ratio = None
    if best is not None and champion_mae is not None and best[1] > 0:
        ratio = round(champion_mae / best[1], 4)
    name, mae = best if best is not None else (None, None)
    return Standing(fingerprint, ratio, champion_mae, name, mae)


def report_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """Every number of the report worth a metric, by MLflow key (``None`` values left out)."""
    metrics: dict[str, Any] = _block(CHAMPION, report[CHAMPION])
    for name, block in report["models"].items():
        metrics.update(_block(f"model/{name}", block))
    for name, block in report["baselines"].items():
        metrics.update(_block(f"baseline/{name}", block))
    metrics["interval_coverage"] = report.get("interval", {}).get("coverage")
    metrics["mae_ratio_to_best_baseline"] = standing_of(report, "").ratio
    metrics["readings_per_s"] = report["records_per_s"]
    metrics["core_readings_per_s"] = report.get("core_records_per_s")
    for key in ("records", "sensors", "scored", "seconds"):
        metrics[key] = report[key]
    counts = report.get("input", {})
    for key in ("rows", "readings", "duplicates"):
        metrics[f"input/{key}"] = counts.get(key)
    for reason, count in counts.get("dead_letters", {}).items():
        metrics[f"input/dead_letters/{reason}"] = count
    return {key: float(value) for key, value in metrics.items() if value is not None}


def _block(prefix: str, block: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{prefix}/{key}": block.get(key) for key in ("mae", "rmse", "r2", "smape", "n")}


def _input_params(
    report: Mapping[str, Any], paths: Sequence[Path], fingerprint: str
) -> dict[str, str]:
    window = report["score_window"]
    params = {
        "input.files": file_list(paths),
        "input.fingerprint": fingerprint,
        "score_from": str(window.get("from")),
        "score_to": str(window.get("to")),
    }
    return {key: value[:MAX_PARAM] for key, value in params.items()}


def _metrics(report: Mapping[str, Any], weekly: WeeklyErrors) -> list[Metric]:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    rows = [Metric(key, value, now, 0) for key, value in report_metrics(report).items()]
    best = best_baseline(report)
    series = {"weekly/champion_mae": weekly.series(CHAMPION)}
    if best is not None:
        series["weekly/best_baseline_mae"] = weekly.series(best[0])
    for key, points in series.items():
        rows += [Metric(key, mae, now, week) for week, mae in points]
    rows += [Metric("weekly/scored", n, now, week) for week, n in weekly.scored(CHAMPION)]
    return rows


def _log(
    client: MlflowClient, run_id: str, params: Mapping[str, str], metrics: list[Metric]
) -> None:
    from mlflow.entities import Param

    items = [Param(key, value) for key, value in params.items()]
    for chunk in _chunks(items, PARAMS_PER_CALL):
        client.log_batch(run_id, params=chunk)
    for rows in _chunks(metrics, METRICS_PER_CALL):
        client.log_batch(run_id, metrics=rows)


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _log_core_artifacts(
    client: MlflowClient, run_id: str, config: Mapping[str, Any], report: Mapping[str, Any]
) -> None:
    """``core/config.json`` and ``core/report.json``: what the registry version points at."""
    with tempfile.TemporaryDirectory(prefix="flowcast-core-") as tmp:
        folder = Path(tmp) / CORE_ARTIFACTS
        folder.mkdir()
        pretty = orjson.OPT_INDENT_2
        (folder / "config.json").write_bytes(orjson.dumps(config, option=pretty))
        (folder / "report.json").write_bytes(orjson.dumps(report, option=pretty))
        client.log_artifacts(run_id, str(folder), CORE_ARTIFACTS)
