"""Password hashing on its own small, bounded thread pool (never the shared one).

Each Argon2 hash costs ~64 MiB and tens of milliseconds of a core. `Hasher` runs them on
``workers`` threads of its own and admits at most ``capacity`` at a time (running or
waiting): one more is refused at once (`HasherBusyError`, a 503 with ``Retry-After``), before
any hashing. A login flood can therefore take at most ``workers`` cores and never the threads
that serve every other route.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from api.security import hash_password, verify_password

T = TypeVar("T")


class HasherBusyError(RuntimeError):
    """Every hashing slot is taken: refuse now rather than queue without bound."""


class Hasher:
    """Hashes and verifies passwords on ``workers`` threads, ``capacity`` admitted at most."""

    def __init__(self, workers: int = 1, capacity: int = 8) -> None:
        self.capacity = capacity
        self.admitted = 0
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="flowcast-hash")

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        if self.admitted >= self.capacity:
            raise HasherBusyError("too many logins in progress; try again shortly")
        self.admitted += 1
        try:
            yield
        finally:
            self.admitted -= 1

    async def _run(self, job: Callable[..., T], *args: object) -> T:
        with self._slot():
            return await asyncio.get_running_loop().run_in_executor(self._pool, job, *args)

    async def hash(self, password: str) -> str:
        """The Argon2 hash of ``password``."""
        return await self._run(hash_password, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Whether ``password`` matches ``hashed`` (a dummy hash's cost when None)."""
        return await self._run(verify_password, password, hashed)

    def close(self) -> None:
        """Stop the threads (pending jobs finish first)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
