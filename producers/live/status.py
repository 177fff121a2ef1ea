"""The live feed's small JSON status, written to Redis for the gateway (``GET /feed``).

>>> from datetime import UTC, datetime
>>> status = FeedStatus("https://example.org/records", every_s=600.0)
>>> status.succeeded(datetime(2026, 6, 21, 1, 2, tzinfo=UTC), datetime(2026, 6, 21, tzinfo=UTC))
>>> sorted(orjson.loads(status.to_json()))
['every_s', 'last_error', 'last_poll', 'last_success', 'newest_data_hour', 'source']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import redis
from redis.exceptions import RedisError

from flowcast import redis_keys as keys
from flowcast.records import format_utc

log = logging.getLogger(__name__)
SOCKET_TIMEOUT_S = 2.0
MESSAGE_CHARS = 300


@dataclass
class FeedStatus:
    """Freshness of the feed: newest data hour, last successful poll, last error."""

    source: str
    every_s: float
    newest_data_hour: datetime | None = None
    last_success: datetime | None = None
    last_poll: datetime | None = None
    last_error: dict[str, str] | None = None

    def succeeded(self, now: datetime, newest: datetime | None) -> None:
        self.last_poll = self.last_success = now
        self.newest_data_hour = newest

    def failed(self, now: datetime, newest: datetime | None, reason: str, message: str) -> None:
        self.last_poll = now
        self.newest_data_hour = newest
        self.last_error = {
            "at": format_utc(now),
            "reason": reason,
            "message": message[:MESSAGE_CHARS],
        }

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "source": self.source,
            "every_s": self.every_s,
            "newest_data_hour": _wire(self.newest_data_hour),
            "last_success": _wire(self.last_success),
            "last_poll": _wire(self.last_poll),
            "last_error": self.last_error,
        }
        return orjson.dumps(data)


def _wire(value: datetime | None) -> str | None:
    return format_utc(value) if value is not None else None


class RedisStatusWriter:
    """Writes the status to ``flowcast:feed:status``; a Redis failure is logged, not raised."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
        )

    def close(self) -> None:
        self._client.close()

    def write(self, status: FeedStatus) -> bool:
        """True if Redis took the status."""
        try:
            self._client.set(keys.FEED_STATUS, status.to_json())
        except (RedisError, OSError) as exc:
            log.warning("feed status not written to Redis (%s)", exc)
            return False
        return True
