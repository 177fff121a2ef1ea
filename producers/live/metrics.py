"""Prometheus instruments of ``flowcast live`` (names are the contract with infra/ alerts).

Freshness is two timestamps: the start of the newest hour of data read from the API, and
when the last poll ended without error. ``time() - …`` of either in PromQL is an age.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from producers.live.api import SCHEMA_REASONS
from producers.live.http_client import RETRY_REASONS
from producers.normalise import DEAD_LETTER_REASONS

ERROR_REASONS = (
    *SCHEMA_REASONS,
    *RETRY_REASONS,
    "rate_limited",
    "http_4xx",
    "http_status",
    "window_over_cap",
    "status_redis",
)
"""Reasons of ``flowcast_feed_errors_total`` (every series exists from the start, at 0)."""
RECORD_OUTCOMES = ("published", "dead_letter", "duplicate")


class FeedMetrics:
    """The poller's instruments, in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.newest_hour = Gauge(
            "flowcast_feed_newest_data_hour_timestamp_seconds",
            "Start of the newest hour of data read from the open-data API (Unix time)",
            registry=self.registry,
        )
        self.last_success = Gauge(
            "flowcast_feed_last_success_timestamp_seconds",
            "When the last poll of the API that ended without error finished (Unix time)",
            registry=self.registry,
        )
        self.polls = Counter(
            "flowcast_feed_polls",
            "Polls of the API, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.pages = Counter(
            "flowcast_feed_pages", "Pages of records read from the API", registry=self.registry
        )
        self.records = Counter(
            "flowcast_feed_records",
            "Records read from the API: published, dead-lettered, or already published",
            ["outcome"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "flowcast_feed_dead_letters",
            "Records of the API sent to the dead-letter topic, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.errors = Counter(
            "flowcast_feed_errors",
            "Polls ended by an error (and status writes that failed), by reason",
            ["reason"],
            registry=self.registry,
        )
        self.failed_calls = Counter(
            "flowcast_feed_failed_calls",
            "API calls that failed with a retryable reason (each one retried or given up)",
            ["reason"],
            registry=self.registry,
        )
        for outcome in ("ok", "error"):
            self.polls.labels(outcome)
        for outcome in RECORD_OUTCOMES:
            self.records.labels(outcome)
        for reason in ERROR_REASONS:
            self.errors.labels(reason)
        for reason in RETRY_REASONS:
            self.failed_calls.labels(reason)
        for reason in DEAD_LETTER_REASONS:
            self.dead_letters.labels(reason)
