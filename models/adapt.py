"""Champion/challenger adaptation of one sensor after a confirmed drift.

On a confirmed drift (`models.drift`), a fresh ``drift_challenger`` starts learning from the
labels that follow, while the regular champion (the lowest recent honest error among the
candidates, the ensemble and the baselines) keeps serving. The challenger is the sensor's
day-type × hour profile (weeks of knowledge of the daily shape) times a level ratio learnt
from the labels since the drift only (an exponentially weighted Σ observed / Σ profile,
`RATIO_DECAY` ≈ 10 h memory), plus half the last hour's deviation from that: it absorbs a new
level within hours, long before the profile itself has caught up.

Both are scored on the same delayed labels (errors in level units, `ERROR_DECAY` averages
from the challenger's start). Once the challenger has `MIN_LABELS` labels, a level ratio at
least `MIN_LEVEL_CHANGE` away from 1 and an error below `SWITCH_MARGIN` × the champion's, it
serves (``switched``) while the regular models keep learning beside it; its ratio keeps
learning too, so a temporary change (holidays) fades out of it.
It retires (``retired``) once the regular champion is better again, after at least
`MIN_SERVE_HOURS` of service; one that never wins within `TRIAL_HOURS` is dropped
(``dropped``). Admins can ``promote`` a challenger now or ``rollback`` to the regular
champion.
"""

from __future__ import annotations

from dataclasses import dataclass

CHALLENGER = "drift_challenger"
PERSISTENCE = 0.5
RATIO_DECAY = 0.1
RATIO_MIN, RATIO_MAX = 0.05, 5.0
ERROR_DECAY = 0.1
MIN_LABELS = 6
MIN_SERVE_HOURS = 24
MIN_LEVEL_CHANGE = 0.2  # the challenger models a level change: smaller ones are noise
SWITCH_MARGIN = 0.9
TRIAL_HOURS = 24 * 7


@dataclass(slots=True)
class Challenger:
    """A challenger's ratio learner, its pending forecast and both honest error averages."""

    started: int  # epoch hour of the drift (the alert's episode start)
    base: str  # the champion it corrects
    reason: str  # the detector that confirmed the drift
    episode: int = 0  # epoch hour the drift alert's episode began (its id)
    num: float = 0.0
    den: float = 0.0
    error: float = 0.0
    champion_error: float = 0.0
    labels: int = 0
    serving_since: int | None = None
    pending_hour: int | None = None
    pending: float = 0.0
    pending_base: float = 0.0
    pending_champion: float = 0.0

    @property
    def ratio(self) -> float:
        if self.den <= 0:
            return 1.0
        return min(RATIO_MAX, max(RATIO_MIN, self.num / self.den))

    def errors(self) -> dict[str, float]:
        return {
            "champion_error": round(self.champion_error, 4),
            "challenger_error": round(self.error, 4),
            "level_ratio": round(self.ratio, 4),
        }


def predict(
    ch: Challenger,
    target: int,
    profile_next: float,
    profile_now: float | None,
    last_flow: float,
    champion: float,
) -> float:
    """The challenger's forecast of ``target``: the rescaled profile plus `PERSISTENCE` × the
    last hour's deviation from it (kept for scoring beside the ``champion``'s forecast)."""
    ratio = ch.ratio
    deviation = last_flow - ratio * profile_now if profile_now is not None else 0.0
    ch.pending_hour = target
    ch.pending_base = profile_next
    ch.pending_champion = champion
    ch.pending = max(0.0, ratio * profile_next + PERSISTENCE * deviation)
    return ch.pending


def score(ch: Challenger, hour: int, flow: float, scale: float) -> str | None:
    """Score both on the label of ``hour``; the decision it leads to, if any."""
    if ch.pending_hour != hour:
        return None
    ch.pending_hour = None
    error = abs(flow - ch.pending) / scale
    champion_error = abs(flow - ch.pending_champion) / scale
    if ch.labels:
        ch.error += (error - ch.error) * ERROR_DECAY
        ch.champion_error += (champion_error - ch.champion_error) * ERROR_DECAY
    else:
        ch.error, ch.champion_error = error, champion_error
    ch.labels += 1
    ch.num += (flow - ch.num) * RATIO_DECAY
    ch.den += (ch.pending_base - ch.den) * RATIO_DECAY
    return _decision(ch, hour)


def _decision(ch: Challenger, hour: int) -> str | None:
    if ch.serving_since is not None:
        serving = hour - ch.serving_since >= MIN_SERVE_HOURS
        return "retired" if serving and ch.champion_error < ch.error else None
    level_changed = abs(ch.ratio - 1.0) >= MIN_LEVEL_CHANGE
    if ch.labels >= MIN_LABELS and level_changed and ch.error < SWITCH_MARGIN * ch.champion_error:
        ch.serving_since = hour
        return "switched"
    return "dropped" if hour - ch.started > TRIAL_HOURS else None
