"""Pure pacing logic: when, in wall-clock time, each simulated event is due.

``speed`` is simulated seconds per wall second (3600 = one traffic hour per second) or
``None`` for as fast as possible.

>>> parse_speed("max") is None, parse_speed("3600")
(True, 3600.0)
>>> due_after(event_s=7200.0, first_event_s=0.0, speed=3600.0)
2.0
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def parse_speed(text: str) -> float | None:
    """``"max"`` → ``None``; a positive finite number → that float; else `ValueError`."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise ValueError(f"--speed must be 'max' or a positive number, not {text!r}") from None
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"--speed must be 'max' or a positive number, not {text!r}")
    return speed


def due_after(event_s: float, first_event_s: float, speed: float | None) -> float:
    """Wall seconds after the replay started at which the event at ``event_s`` is due."""
    if speed is None:
        return 0.0
    return max(0.0, event_s - first_event_s) / speed


class Pacer:
    """Sleeps until each event is due; the clock and sleep are injectable for tests."""

    def __init__(
        self,
        speed: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._first_event_s: float | None = None
        self._wall_start = 0.0

    def wait(self, event_s: float) -> float:
        """Block until the event at ``event_s`` (epoch seconds) is due; returns seconds slept."""
        if self._first_event_s is None:
            self._first_event_s = event_s
            self._wall_start = self._clock()
        if self.speed is None:
            return 0.0
        due = self._wall_start + due_after(event_s, self._first_event_s, self.speed)
        delay = due - self._clock()
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0
