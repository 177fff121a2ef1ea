"""Honest error metrics from mergeable sufficient statistics.

An accumulator is a list ``[n, Σ|e|, Σe², Σy, Σy², Σsmape]``; accumulators of several sensors
(or workers) merge by adding them, and every metric block derives from one.

>>> acc = new_accumulator()
>>> for y, yhat in ((100.0, 90.0), (200.0, 220.0)):
...     accumulate(acc, y, yhat)
>>> metric_block(acc)
{'mae': 15.0, 'rmse': 15.811, 'r2': 0.9, 'smape': 10.025, 'n': 2}
"""

from __future__ import annotations

import math
from collections.abc import Iterable

Accumulator = list[float]
N, ABS, SQ, SUM_Y, SUM_Y2, SMAPE = range(6)


def new_accumulator() -> Accumulator:
    return [0.0] * 6


def accumulate(acc: Accumulator, y: float, yhat: float) -> None:
    """Fold one scored forecast into ``acc``."""
    accumulate_all({"": acc}, {"": yhat}, y)


def accumulate_all(
    accumulators: dict[str, Accumulator], forecasts: dict[str, float], y: float
) -> None:
    """Fold the forecasts of several models for the same observation ``y`` (hot path)."""
    y2 = y * y
    abs_y = abs(y)
    for name, yhat in forecasts.items():
        acc = accumulators.get(name)
        if acc is None:
            acc = accumulators[name] = new_accumulator()
        error = y - yhat
        abs_error = abs(error)
        denominator = abs_y + abs(yhat)
        acc[N] += 1.0
        acc[ABS] += abs_error
        acc[SQ] += error * error
        acc[SUM_Y] += y
        acc[SUM_Y2] += y2
        acc[SMAPE] += 2.0 * abs_error / denominator if denominator else 0.0


def merge(accumulators: Iterable[Accumulator]) -> Accumulator:
    total = new_accumulator()
    for acc in accumulators:
        for i, value in enumerate(acc):
            total[i] += value
    return total


def metric_block(acc: Accumulator) -> dict[str, float | int | None]:
    """``{"mae", "rmse", "r2", "smape", "n"}`` (``None`` where undefined: no scored hour)."""
    n = acc[N]
    if n == 0:
        return {"mae": None, "rmse": None, "r2": None, "smape": None, "n": 0}
    total_variance = acc[SUM_Y2] - acc[SUM_Y] * acc[SUM_Y] / n
    r2 = 1.0 - acc[SQ] / total_variance if total_variance > 1e-9 else None
    return {
        "mae": round(acc[ABS] / n, 3),
        "rmse": round(math.sqrt(acc[SQ] / n), 3),
        "r2": round(r2, 4) if r2 is not None else None,
        "smape": round(100.0 * acc[SMAPE] / n, 3),
        "n": int(n),
    }
