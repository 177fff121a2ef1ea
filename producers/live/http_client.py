"""The httpx adapter of the records endpoint: a polite, patient client of someone else's API.

- a timeout on every call (connect, read, write, pool);
- 5xx answers, timeouts and network errors are retried with exponential backoff and full
  jitter (tenacity), up to a deadline per call;
- a 429 is retried after the ``Retry-After`` the API sent (seconds or an HTTP date), or with
  backoff if it sent none; past the deadline it is a `RateLimitedError` carrying the time the
  API named, and the next poll waits for it;
- other 4xx (a query the API refuses) are not retried: a `FeedError` that says what came back;
- a ``User-Agent`` naming the product, its version and a contact URL (``live_contact_url``);
- every wait is interruptible: a stop request ends it at once (`StoppedError`).

>>> parse_retry_after("120", datetime(2026, 6, 21, tzinfo=UTC))
120.0
>>> parse_retry_after("Sun, 21 Jun 2026 00:00:30 GMT", datetime(2026, 6, 21, tzinfo=UTC))
30.0
>>> parse_retry_after("soon", datetime(2026, 6, 21, tzinfo=UTC)) is None
True
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_before_delay,
    wait_random_exponential,
)

import flowcast
from flowcast.settings import Settings
from producers.live.api import Page, parse_page, records_url
from producers.live.errors import FeedError, RateLimitedError, StoppedError

log = logging.getLogger(__name__)
RETRY_REASONS = ("http_429", "http_5xx", "timeout", "network")
"""Failures retried within a call (metric labels)."""


def user_agent(contact_url: str | None) -> str:
    """``Flowcast/0.1.0 (+https://…)``: who is calling, and where to reach its operator.

    >>> user_agent("https://example.org/ops"), user_agent(None)
    ('Flowcast/0.1.0 (+https://example.org/ops)', 'Flowcast/0.1.0')
    """
    product = f"Flowcast/{flowcast.__version__}"
    return f"{product} (+{contact_url})" if contact_url else product


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay or HTTP date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


class _RetryableError(Exception):
    def __init__(self, reason: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after


class ApiClient:
    """Fetches pages of the records endpoint under ``base_url``; a context manager."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        retry_max_wait_s: float,
        retry_deadline_s: float,
        contact_url: str | None = None,
        stop: threading.Event | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.url = records_url(base_url)
        self.timeout_s = timeout_s
        self.retry_deadline_s = retry_deadline_s
        self._backoff = wait_random_exponential(multiplier=0.5, max=retry_max_wait_s)
        self._stop = stop or threading.Event()
        self._on_failure = on_failure or (lambda reason: None)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": user_agent(contact_url), "Accept": "application/json"},
            follow_redirects=True,
        )

    @classmethod
    def from_settings(
        cls,
        base_url: str,
        settings: Settings,
        *,
        stop: threading.Event | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> ApiClient:
        """A client with the ``live_*`` timeouts, backoff and contact URL of ``settings``."""
        return cls(
            base_url,
            timeout_s=settings.live_timeout_s,
            retry_max_wait_s=settings.live_retry_max_wait_s,
            retry_deadline_s=settings.live_retry_deadline_s,
            contact_url=settings.live_contact_url,
            stop=stop,
            on_failure=on_failure,
        )

    def close(self) -> None:
        self._client.close()

    def fetch(self, query: Mapping[str, str | int]) -> Page:
        """One page; retried as the module says. Raises `FeedError` or `StoppedError`."""
        retrying = Retrying(
            retry=retry_if_exception_type(_RetryableError),
            wait=self._wait,
            stop=stop_before_delay(self.retry_deadline_s),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(query)
        except _RetryableError as failure:
            raise self._give_up(failure, retrying.statistics) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _attempt(self, query: Mapping[str, str | int]) -> Page:
        try:
            response = self._client.get(self.url, params=dict(query))
        except httpx.TimeoutException as exc:
            self._failed("timeout")
            raise _RetryableError(
                "timeout", f"no answer within {self.timeout_s:g} s ({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            self._failed("network")
            raise _RetryableError("network", f"{type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status == httpx.codes.TOO_MANY_REQUESTS:
            self._failed("http_429")
            header = response.headers.get("Retry-After")
            wait = parse_retry_after(header, datetime.now(UTC))
            raise _RetryableError("http_429", f"rate limited (Retry-After: {header})", wait)
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            self._failed("http_5xx")
            raise _RetryableError("http_5xx", f"{status} {_excerpt(response)}")
        if not response.is_success:
            raise FeedError(
                "http_4xx" if status >= 400 else "http_status",
                f"{status} for {self.url}: {_excerpt(response)}",
            )
        return parse_page(response.content)

    def _failed(self, reason: str) -> None:
        self._on_failure(reason)

    def _wait(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _RetryableError) and failure.retry_after is not None:
            return failure.retry_after
        return float(self._backoff(state))

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise StoppedError("stop requested while waiting to retry")

    def _log_retry(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        wait = state.upcoming_sleep
        log.warning(
            "API call failed (%s); attempt %d, retrying in %.1f s",
            failure,
            state.attempt_number,
            wait,
        )

    def _give_up(self, failure: _RetryableError, statistics: dict[str, object]) -> FeedError:
        attempts = statistics.get("attempt_number", "?")
        detail = f"{failure.detail}; gave up after {attempts} attempts"
        if failure.reason == "http_429":
            wait = failure.retry_after if failure.retry_after is not None else 0.0
            return RateLimitedError(detail, datetime.now(UTC) + timedelta(seconds=wait))
        return FeedError(failure.reason, detail)


def _excerpt(response: httpx.Response, size: int = 200) -> str:
    text = response.text[:size].replace("\n", " ")
    return repr(text) if text else "(empty body)"
