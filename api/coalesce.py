"""Concurrent reads of one Redis hash merged into one ``HMGET`` per event-loop turn.

Under load many requests wait on Redis at once, and each ``HGET`` costs a whole redis-py round
trip (pool checkout, encode, write, read, parse: ~100 µs of gateway CPU). Requests that reach
their read in the same loop iteration share one ``HMGET`` instead. Nothing is cached: every
caller's value is read after it asked, and a Redis error reaches every caller of the batch.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

Waiters = dict[str, list["asyncio.Future[bytes | None]"]]


class HashReader:
    """``await reader.get(field)`` ≡ ``await redis.hget(key, field)``, batched."""

    def __init__(self, redis: Redis, key: str) -> None:
        self.redis = redis
        self.key = key
        self._waiting: Waiters = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, field: str) -> bytes | None:
        """The value of ``field`` (None if absent), read by the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes | None] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._flush)
        self._waiting.setdefault(field, []).append(future)
        return await future

    def _flush(self) -> None:
        batch, self._waiting = self._waiting, {}
        task = asyncio.create_task(self._fetch(batch))
        self._tasks.add(task)  # keep a reference until done
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self, batch: Waiters) -> None:
        fields = list(batch)
        try:
            values = await self.redis.hmget(self.key, fields)
        except asyncio.CancelledError:
            _settle(batch, cancel=True)
            raise
        except Exception as exc:  # RedisError, OSError…: every caller gets it
            _settle(batch, error=exc)
            return
        for field, value in zip(fields, values, strict=True):
            for future in batch[field]:
                if not future.done():
                    future.set_result(value.encode() if isinstance(value, str) else value)


def _settle(batch: Waiters, *, error: Exception | None = None, cancel: bool = False) -> None:
    for futures in batch.values():
        for future in futures:
            if future.done():
                continue
            if cancel or error is None:
                future.cancel()
            else:
                future.set_exception(error)
