"""A tiny in-process sliding-window rate limiter for login attempts.

Each gateway replica limits on its own (the limit is per replica, not global).

>>> limiter = LoginRateLimiter(attempts=2, window_s=60.0)
>>> [limiter.hit("alice|10.0.0.1", now=t) for t in (0.0, 1.0, 2.0)]
[0.0, 0.0, 58.0]
>>> limiter.hit("alice|10.0.0.1", now=61.0)
0.0
"""

from __future__ import annotations

import time
from collections import deque

MAX_KEYS = 10_000


class LoginRateLimiter:
    """At most ``attempts`` hits per key in any ``window_s`` seconds."""

    def __init__(self, attempts: int = 5, window_s: float = 60.0) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float | None = None) -> float:
        """Record an attempt; return 0 if allowed, else the seconds until the next is allowed."""
        now = time.monotonic() if now is None else now
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.attempts:
            return max(hits[0] + self.window_s - now, 0.001)
        hits.append(now)
        if len(self._hits) > MAX_KEYS:
            self._purge(now)
        return 0.0

    def _purge(self, now: float) -> None:
        """Forget keys with no attempt inside the window (bounds memory under a key flood)."""
        stale = [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]
        for key in stale:
            del self._hits[key]
