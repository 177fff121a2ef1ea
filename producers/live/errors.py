"""What ends a poll early: the API failing (`FeedError`, by a stable reason) or a stop request.

A `FeedError` ends the poll, is logged and counted by its reason; the next poll comes at the
next interval (`RateLimitedError`: not before the API said). Nothing of the failed page is
published and the mark stays where the last acknowledged page left it.
"""

from __future__ import annotations

from datetime import datetime


class FeedError(Exception):
    """A poll could not go on; ``reason`` is a stable snake_case name (a metric label)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RateLimitedError(FeedError):
    """The API keeps answering 429; ``retry_at`` (UTC) is when it said to come back."""

    def __init__(self, detail: str, retry_at: datetime) -> None:
        super().__init__("rate_limited", detail)
        self.retry_at = retry_at


class StoppedError(Exception):
    """A stop was requested (Ctrl-C, SIGTERM): the poll ends after the current page."""
