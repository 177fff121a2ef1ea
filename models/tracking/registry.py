"""The ``flowcast-core`` registry: one version per tracked evaluation, two aliases.

A version's standing is its ``mae_ratio_to_best_baseline`` (the served champion's MAE over
the best baseline's, lower is better) on an input fingerprint. `decide` is the whole rule:
a new version becomes ``champion`` only by beating the current champion's ratio on the same
inputs (the old champion then becomes ``challenger``); otherwise it becomes ``challenger``.

>>> old = Standing("f1", 0.80, 15.0, "historical_average", 18.75, version="1")
>>> decide(Standing("f1", 0.78, 14.6, "historical_average", 18.75), old).alias
'champion'
>>> decide(Standing("f1", 0.90, 16.9, "historical_average", 18.75), old).alias
'challenger'
>>> decide(Standing("f2", 0.50, 9.0, "persistence", 18.0), old).alias  # other inputs
'challenger'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

MODEL_NAME = "flowcast-core"
CHAMPION_ALIAS = "champion"
CHALLENGER = "challenger"
MAX_TAG = 5000


@dataclass(frozen=True, slots=True)
class Standing:
    """How one version did, as its tags record it."""

    fingerprint: str
    ratio: float | None  # mae_ratio_to_best_baseline
    champion_mae: float | None
    best_baseline: str | None
    best_baseline_mae: float | None
    version: str | None = None

    def tags(self) -> dict[str, str]:
        """The version tags that record this standing."""
        values = {
            "input_fingerprint": self.fingerprint,
            "mae_ratio_to_best_baseline": self.ratio,
            "champion_mae": self.champion_mae,
            "best_baseline": self.best_baseline,
            "best_baseline_mae": self.best_baseline_mae,
        }
        return {key: str(value) for key, value in values.items() if value is not None}

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], version: str) -> Standing:
        """Inverse of `tags` (missing tags read as unknown)."""
        return cls(
            fingerprint=tags.get("input_fingerprint", ""),
            ratio=_float(tags.get("mae_ratio_to_best_baseline")),
            champion_mae=_float(tags.get("champion_mae")),
            best_baseline=tags.get("best_baseline"),
            best_baseline_mae=_float(tags.get("best_baseline_mae")),
            version=version,
        )

    def summary(self) -> str:
        """``0.7759 (champion MAE 14.481 / historical_average 18.663)``."""
        return (
            f"{self.ratio} (champion MAE {self.champion_mae} / "
            f"{self.best_baseline} {self.best_baseline_mae})"
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """Which alias a new version takes, which version it demotes, and why."""

    alias: str
    reason: str
    demote: str | None = None  # the old champion's version, now challenger


def decide(new: Standing, champion: Standing | None) -> Decision:
    """The promotion rule (deterministic; a tie keeps the current champion)."""
    mine = f"MAE ratio to best baseline {new.summary()}"
    if new.ratio is None:
        return Decision(CHALLENGER, "nothing scored: no MAE ratio to compare")
    if champion is None:
        return Decision(CHAMPION_ALIAS, f"first scored version: {mine}")
    theirs = f"champion version {champion.version}: {champion.summary()}"
    if champion.fingerprint != new.fingerprint:
        return Decision(
            CHALLENGER,
            f"not comparable: {mine} on inputs {new.fingerprint}; "
            f"{theirs} on inputs {champion.fingerprint}",
        )
    if champion.ratio is None or new.ratio < champion.ratio:
        return Decision(CHAMPION_ALIAS, f"beats {theirs}; {mine}", demote=champion.version)
    return Decision(CHALLENGER, f"does not beat {theirs}; {mine}")


def register_core(
    client: MlflowClient,
    *,
    run_id: str,
    source: str,
    standing: Standing,
    tags: Mapping[str, str],
    model_name: str = MODEL_NAME,
) -> tuple[str, Decision]:
    """Register the run's core as a new version and move the aliases; ``(version, why)``."""
    _ensure_registered_model(client, model_name)
    decision = decide(standing, current_champion(client, model_name))
    version_tags = {**tags, **standing.tags(), "decision": decision.alias}
    version_tags["reason"] = decision.reason[:MAX_TAG]
    created = client.create_model_version(
        model_name, source, run_id=run_id, tags=version_tags, description=decision.reason
    )
    version = str(created.version)
    _move_aliases(client, model_name, version, decision)
    return version, decision


def current_champion(client: MlflowClient, model_name: str = MODEL_NAME) -> Standing | None:
    """The standing of the version with alias ``champion``, if any."""
    aliases = client.get_registered_model(model_name).aliases
    if CHAMPION_ALIAS not in aliases:
        return None
    version = str(aliases[CHAMPION_ALIAS])
    return Standing.from_tags(client.get_model_version(model_name, version).tags, version)


def _ensure_registered_model(client: MlflowClient, model_name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model_name)
    except MlflowException:
        try:
            client.create_registered_model(
                model_name, description="Flowcast online core: configuration and evaluation"
            )
        except MlflowException:  # created meanwhile by another process
            client.get_registered_model(model_name)


def _move_aliases(client: MlflowClient, model_name: str, version: str, why: Decision) -> None:
    if why.alias == CHAMPION_ALIAS and why.demote is not None:
        client.set_registered_model_alias(model_name, CHALLENGER, why.demote)
        client.set_model_version_tag(model_name, why.demote, "demoted_by", version)
    client.set_registered_model_alias(model_name, why.alias, version)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
