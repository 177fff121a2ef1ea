"""Login limits, checked before any password is hashed (in-process, per gateway replica).

- **Failed** logins count, successful ones do not: per client address
  (``per_address`` in ``window_s``) and per (address, username) (``per_user_address``). The
  latter is the lockout: it never spans addresses, so an attacker elsewhere cannot lock the
  admin out (the admin's address keeps its own count), and a success clears it.
- One address hashes one attempt at a time (``waiting`` more may wait their turn; beyond, 429):
  one address cannot fill the shared hashing queue (`api.hashing.Hasher` bounds it globally),
  so a login from another address waits for at most one hash per busy address.

>>> guard = LoginGuard(per_address=3, per_user_address=2, window_s=60.0)
>>> [guard.failed("10.0.0.1", "admin", now=t) for t in (0.0, 1.0)]
[None, None]
>>> guard.retry_after("10.0.0.1", "admin", now=2.0)
58.0
>>> guard.retry_after("10.0.0.2", "admin", now=2.0), guard.retry_after("10.0.0.1", "ops", now=2.0)
(0.0, 0.0)
>>> guard.failed("10.0.0.1", "ops", now=3.0)
>>> guard.retry_after("10.0.0.1", "other", now=4.0)
56.0
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator

MAX_KEYS = 10_000


class Window:
    """Sliding-window event counts per key (bounded memory)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}

    def wait(self, key: str, now: float) -> float:
        """0 if another event is allowed now, else the seconds until one is."""
        events = self._events.get(key)
        if events is None:
            return 0.0
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if len(events) < self.limit:
            return 0.0
        return max(events[0] + self.window_s - now, 0.001)

    def add(self, key: str, now: float) -> None:
        self._events.setdefault(key, deque()).append(now)
        if len(self._events) > MAX_KEYS:
            stale = [k for k, v in self._events.items() if not v or v[-1] <= now - self.window_s]
            for old in stale:
                del self._events[old]

    def clear(self, key: str) -> None:
        self._events.pop(key, None)


class TooManyInFlightError(RuntimeError):
    """This address already has a login hashing and its waiting line is full."""


class _Turns:
    """One address's turn to hash, and how many attempts hold or wait for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.holders = 0


class LoginGuard:
    """The gateway's login limits (see the module docstring)."""

    def __init__(
        self,
        per_address: int = 20,
        per_user_address: int = 5,
        window_s: float = 60.0,
        waiting: int = 2,
    ) -> None:
        self.by_address = Window(per_address, window_s)
        self.by_user_address = Window(per_user_address, window_s)
        self.waiting = waiting
        self._turns: dict[str, _Turns] = {}

    def retry_after(self, address: str, username: str, now: float | None = None) -> float:
        """0 if this attempt may be checked, else the seconds until one may."""
        now = time.monotonic() if now is None else now
        return max(
            self.by_address.wait(address, now),
            self.by_user_address.wait(f"{address}|{username}", now),
        )

    def failed(self, address: str, username: str, now: float | None = None) -> None:
        """Count a failed attempt."""
        now = time.monotonic() if now is None else now
        self.by_address.add(address, now)
        self.by_user_address.add(f"{address}|{username}", now)

    def succeeded(self, address: str, username: str) -> None:
        """A success clears the (address, username) lockout count."""
        self.by_user_address.clear(f"{address}|{username}")

    @contextlib.asynccontextmanager
    async def attempt(self, address: str) -> AsyncIterator[None]:
        """Wait for the address's turn to hash (one at a time); `TooManyInFlightError` if
        ``waiting`` attempts of it already wait."""
        turns = self._turns.setdefault(address, _Turns())
        if turns.holders > self.waiting:
            raise TooManyInFlightError("logins from this address already in progress")
        turns.holders += 1
        try:
            async with turns.lock:
                yield
        finally:
            turns.holders -= 1
            if not turns.holders:
                del self._turns[address]
