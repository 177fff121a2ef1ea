"""What an evaluation ran: the core's configuration read from live objects, and its inputs.

Hyper-parameters are read from the forecasters themselves (the River models' constructor
parameters), never restated here, so the record always matches what ran.

>>> from models.candidates import LinearDeviation
>>> params = describe(LinearDeviation("linear", learning_rate=0.01))
>>> params["class"], params["model"], params["optimizer.lr.learning_rate"]
('LinearDeviation', 'LinearRegression', 0.01)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from models.candidates import CANDIDATE_SETS
from models.core import CORE_VERSION, ForecastCore
from models.state import SensorState

Scalar = str | int | float | bool | None


def describe(forecaster: object) -> dict[str, Scalar]:
    """A forecaster's class, its public scalar attributes and its River model's parameters,
    as one flat dict (nested parameters joined with dots)."""
    params: dict[str, Scalar] = {"class": type(forecaster).__name__}
    params.update(_settings_of(forecaster))
    model = getattr(forecaster, "model", None)
    get_params = getattr(model, "_get_params", None)  # River's (stable) constructor params
    if callable(get_params):
        params["model"] = type(model).__name__
        params.update(_flatten(get_params()))
    return params


def _settings_of(forecaster: object) -> dict[str, Scalar]:
    """Public scalar attributes set on a fresh instance (``None`` ones are state, not set)."""
    attributes = getattr(forecaster, "__dict__", {})
    return {
        key: value
        for key, value in attributes.items()
        if not key.startswith("_") and key != "name" and value is not None and _is_scalar(value)
    }


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Scalar]:
    flat: dict[str, Scalar] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if _is_nested(value):
            flat[name] = value[0].__name__
            flat.update(_flatten(value[1], f"{name}."))
        else:
            flat[name] = value if _is_scalar(value) else repr(value)
    return flat


def _is_nested(value: object) -> bool:
    """River's ``(class, params)`` pair for a parameter that is itself an estimator."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], type)
        and isinstance(value[1], dict)
    )


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def core_config(candidate_set: str) -> dict[str, Any]:
    """The configuration a core runs with: candidate set, hyper-parameters, version."""
    state = SensorState(candidates=CANDIDATE_SETS[candidate_set]())
    described = {learner.name: describe(learner) for learner in state.candidates}
    described[state.ensemble.name] = describe(state.ensemble)
    return {
        "core_version": CORE_VERSION,
        "candidate_set": candidate_set,
        "candidates": described,
        "baselines": [baseline.name for baseline in state.baselines],
    }


def flat_params(config: Mapping[str, Any]) -> dict[str, str]:
    """`core_config` as MLflow params: ``candidate.<name>.<key>`` → value as text."""
    params = {"core_version": str(config["core_version"])}
    params["candidate_set"] = str(config["candidate_set"])
    params["baselines"] = ",".join(config["baselines"])
    for name, described in config["candidates"].items():
        params.update({f"candidate.{name}.{key}": str(v) for key, v in described.items()})
    return params


def candidate_set_of(core: ForecastCore) -> str:
    """The name of the candidate set a core was built with (``custom`` if unnamed)."""
    for name, factory in CANDIDATE_SETS.items():
        if factory is core.make_candidates:
            return name
    return "custom"


def input_fingerprint(paths: Iterable[Path], score_window: Mapping[str, Any]) -> str:
    """Hash of the input files' names and sizes and of the score window.

    Two evaluations are comparable only with the same fingerprint: same files, and the same
    hours scored (a different window scores other hours, so its errors are not comparable).
    """
    digest = hashlib.sha256()
    for name, size in sorted((path.name, path.stat().st_size) for path in paths):
        digest.update(f"{name}\0{size}\n".encode())
    digest.update(f"{score_window.get('from')}\0{score_window.get('to')}".encode())
    return digest.hexdigest()[:16]


def file_list(paths: Sequence[Path]) -> str:
    """The input file names, comma-separated (a param)."""
    return ",".join(path.name for path in paths)
