"""A fast running standard scaler with clipping, written in River's transformer style.

>>> s = ClippedStandardScaler(clip=5.0)
>>> for v in (1.0, 2.0, 3.0):
...     s.learn_one({"a": v})
>>> round(s.transform_one({"a": 3.0})["a"], 4)  # (3 - 2) / sqrt(2/3)
1.2247
"""

from __future__ import annotations

import math
from typing import Any

from river import base


class ClippedStandardScaler(base.Transformer):
    """Standardise each feature with its running mean and variance, then clip to ±``clip``.

    Parameters
    ----------
    clip
        Bound on the absolute value of every standardised feature.
    """

    def __init__(self, clip: float = 5.0) -> None:
        self.clip = clip
        self.stats: dict[Any, list[float]] = {}  # key -> [count, mean, sum of squared deviations]

    def learn_one(self, x: dict[Any, Any]) -> None:
        stats = self.stats
        for key, value in x.items():
            s = stats.get(key)
            if s is None:
                s = stats[key] = [0.0, 0.0, 0.0]
            s[0] += 1.0
            delta = value - s[1]
            s[1] += delta / s[0]
            s[2] += delta * (value - s[1])

    def transform_one(self, x: dict[Any, Any]) -> dict[Any, Any]:
        out = {}
        clip = self.clip
        stats = self.stats
        for key, value in x.items():
            s = stats.get(key)
            if s is None or s[2] <= 0.0:
                out[key] = 0.0
                continue
            z = (value - s[1]) / math.sqrt(s[2] / s[0])
            out[key] = clip if z > clip else -clip if z < -clip else z
        return out

    def learn_transform_one(self, x: dict[Any, Any]) -> dict[Any, Any]:
        """``learn_one`` then ``transform_one``, in one pass (the core's hot path)."""
        out = {}
        clip = self.clip
        stats = self.stats
        sqrt = math.sqrt
        for key, value in x.items():
            s = stats.get(key)
            if s is None:
                s = stats[key] = [0.0, 0.0, 0.0]
            n = s[0] + 1.0
            s[0] = n
            delta = value - s[1]
            mean = s[1] + delta / n
            s[1] = mean
            m2 = s[2] + delta * (value - mean)
            s[2] = m2
            if m2 <= 0.0:
                out[key] = 0.0
                continue
            z = (value - mean) / sqrt(m2 / n)
            out[key] = clip if z > clip else -clip if z < -clip else z
        return out
