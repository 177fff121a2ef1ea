"""The live feed's loop: poll the API every interval until stopped, publishing new records.

`LiveIO` joins the pure pager to its adapters (the httpx client, the Kafka publisher whose
acknowledgement comes before the mark moves, the mark in Kafka); `LiveLoop` polls, records
metrics and writes the status, and waits between polls (never less than a ``Retry-After``).
A `FeedError` ends one poll, never the loop; a stop request ends the loop after the current
page. The command (``flowcast live``) builds these from the settings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from producers.live.api import Page
from producers.live.errors import FeedError, RateLimitedError, StoppedError
from producers.live.http_client import ApiClient
from producers.live.kafka_state import KafkaState
from producers.live.mark import FeedMark, LogOffsets
from producers.live.metrics import FeedMetrics
from producers.live.pager import Item, Pager, PollReport
from producers.live.status import FeedStatus, RedisStatusWriter
from producers.publisher import Publisher

log = logging.getLogger("flowcast.live")
COMMIT_EVERY_S = 1.0
"""Mid-poll, the mark is saved at most this often (and always at the end of a poll)."""


@dataclass(frozen=True)
class LiveOptions:
    """What ``flowcast live`` was asked: the API base URL, the interval, the first hour."""

    url: str
    every_s: float
    since: datetime | None = None


def feed_source(url: str) -> str:
    """The ``source`` of the feed's readings: ``live:<host>[:port]``.

    >>> feed_source("https://opendata.paris.fr"), feed_source("http://127.0.0.1:8080/x")
    ('live:opendata.paris.fr', 'live:127.0.0.1:8080')
    """
    parts = urlsplit(url)
    return f"live:{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def parse_since(text: str) -> datetime:
    """``--since``: an ISO 8601 date or date-time; without an offset it is UTC.

    >>> parse_since("2026-06-21T00:00:00+02:00").isoformat(), parse_since("2026-06-21").hour
    ('2026-06-20T22:00:00+00:00', 0)
    """
    value = datetime.fromisoformat(text.strip())
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def check_url(url: str) -> str:
    """The base URL, or ``ValueError`` if it is not ``http(s)://host[...]``.

    >>> check_url("https://opendata.paris.fr/")
    'https://opendata.paris.fr'
    >>> check_url("https://me:secret@opendata.paris.fr")
    Traceback (most recent call last):
    ...
    ValueError: --url must not carry credentials (they would show in logs and records)
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(
            f"--url must be http(s)://host, e.g. https://opendata.paris.fr (got {url!r})"
        )
    if parts.query or parts.fragment:
        raise ValueError("--url is the API's base URL, without a query or fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError("--url must not carry credentials (they would show in logs and records)")
    return url.rstrip("/")


class LiveIO:
    """The pager's `FeedIO` over the client, the publisher and the Kafka state."""

    def __init__(
        self,
        client: ApiClient,
        publisher: Publisher,
        state: KafkaState,
        metrics: FeedMetrics,
        stop: threading.Event,
    ) -> None:
        self.client = client
        self.publisher = publisher
        self.state = state
        self.metrics = metrics
        self.stop = stop
        self._committed_at = time.monotonic()
        self._ends = state.log_ends()

    def fetch(self, query: Mapping[str, str | int]) -> Page:
        return self.client.fetch(query)

    def publish(self, items: Sequence[Item]) -> None:
        for item in items:
            self.publisher.publish(item)

    def log_ends(self) -> LogOffsets:
        """Where the topics ended at the last commit: a lower bound of every offset published
        since, which is all a new hour's ``log_from`` needs (one read per commit, not per hour)."""
        return self._ends

    def commit(self, mark: FeedMark, *, final: bool) -> None:
        """Flush the publisher (acknowledged), then save the mark: after every page at most
        once per `COMMIT_EVERY_S`, and always when ``final``."""
        now = time.monotonic()
        if not final and now - self._committed_at < COMMIT_EVERY_S:
            return
        self.publisher.flush()
        self.state.save(mark)
        self._ends = self.state.log_ends()
        self._committed_at = now
        if mark.newest is not None:
            self.metrics.newest_hour.set(mark.newest.timestamp())

    def stopping(self) -> bool:
        return self.stop.is_set()


def record_poll(metrics: FeedMetrics, report: PollReport) -> None:
    """Add one poll's counts to the metrics."""
    metrics.pages.inc(report.pages)
    metrics.records.labels("published").inc(report.readings)
    metrics.records.labels("dead_letter").inc(report.dead_letters.total())
    metrics.records.labels("duplicate").inc(report.duplicates)
    for reason, count in report.dead_letters.items():
        metrics.dead_letters.labels(reason).inc(count)
    if report.over_cap:
        metrics.errors.labels("window_over_cap").inc(report.over_cap)


class LiveLoop:
    """Polls every ``every_s`` seconds until ``stop`` is set."""

    def __init__(
        self,
        pager: Pager,
        *,
        every_s: float,
        stop: threading.Event,
        metrics: FeedMetrics,
        status: FeedStatus,
        status_writer: RedisStatusWriter | None,
    ) -> None:
        self.pager = pager
        self.every_s = every_s
        self.stop = stop
        self.metrics = metrics
        self.status = status
        self.status_writer = status_writer

    def run(self) -> None:
        """Poll, wait, poll… A `FeedError` ends one poll, never the loop."""
        while not self.stop.is_set():
            started = time.monotonic()
            not_before = self.poll_once()
            wait = max(self.every_s - (time.monotonic() - started), 0.0)
            if not_before is not None:
                wait = max(wait, (not_before - datetime.now(UTC)).total_seconds())
            self.stop.wait(wait)

    def poll_once(self) -> datetime | None:
        """One poll; returns when the API asked to come back, if it did."""
        retry_at: datetime | None = None
        try:
            report = self.pager.poll()
        except StoppedError:
            report = self.pager.report
            self._log_poll(report, "stopped")
        except FeedError as error:
            report = self.pager.report
            self._failed(error)
            if isinstance(error, RateLimitedError):
                retry_at = error.retry_at
        else:
            self.metrics.polls.labels("ok").inc()
            now = datetime.now(UTC)
            self.metrics.last_success.set(now.timestamp())
            self.status.succeeded(now, self.pager.mark.newest)
            self._log_poll(report, "done")
        record_poll(self.metrics, report)
        self._write_status()
        return retry_at

    def _failed(self, error: FeedError) -> None:
        self.metrics.polls.labels("error").inc()
        self.metrics.errors.labels(error.reason).inc()
        self.status.failed(datetime.now(UTC), self.pager.mark.newest, error.reason, error.detail)
        log.error(
            "poll failed (%s): %s; next poll in %g s", error.reason, error.detail, self.every_s
        )

    def _log_poll(self, report: PollReport, how: str) -> None:
        newest = self.pager.mark.newest
        log.info(
            "poll %s: %d requests, %d pages, %d readings published, %d dead letters, "
            "%d already published; newest data hour %s",
            how,
            report.requests,
            report.pages,
            report.readings,
            report.dead_letters.total(),
            report.duplicates,
            newest.isoformat() if newest else "none yet",
        )

    def _write_status(self) -> None:
        if self.status_writer is not None and not self.status_writer.write(self.status):
            self.metrics.errors.labels("status_redis").inc()
