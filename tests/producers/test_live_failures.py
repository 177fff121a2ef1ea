"""What the live feed does when the API misbehaves, and when it dies between ack and commit.

The API serves the first four reshaped real hours (`live_records`); faults are injected in
the local server (`live_api.Fault`). Every test ends with the exact readings in Kafka: each
(sensor, hour) once, none missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from live_api import Fault, RecordsApi, serving
from live_harness import expected_readings, keys_of, open_feed, published_readings
from live_records import as_served, by_hour, reshaped_hours

from flowcast.settings import Settings
from producers.live.loop import LiveIO
from producers.live.mark import FeedMark

pytestmark = pytest.mark.integration
HOURS = by_hour(reshaped_hours())
SERVED = [record for hour in list(HOURS)[:4] for record in HOURS[hour]]


@pytest.fixture
def api() -> RecordsApi:
    server = RecordsApi()
    server.publish(as_served(SERVED))
    return server


@pytest.fixture
def url(api: RecordsApi) -> Iterator[str]:
    with serving(api) as base:
        yield base


def assert_exactly_served(settings: Settings, records: list[dict[str, Any]] = SERVED) -> None:
    counts = keys_of(published_readings(settings))
    assert set(counts) == set(expected_readings(records)), "readings missing or extra"
    assert max(counts.values()) == 1, "a reading was published twice"


def test_429_storm_waits_as_long_as_retry_after_says(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    back_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    api.fail(Fault(times=2, status=429, headers={"Retry-After": "1"}))
    api.fail(Fault(times=1, status=429, headers={"Retry-After": format_datetime(back_at, True)}))
    with open_feed(fresh_topics, url) as feed:
        report = feed.pager.poll()

    log = api.requests()
    limited = [i for i, logged in enumerate(log) if logged.status == 429]
    assert limited == [0, 1, 2] and log[3].status == 200
    assert log[1].at - log[0].at >= 1.0 and log[2].at - log[1].at >= 1.0  # "1" second
    assert log[3].wall >= back_at.timestamp() - 0.01  # the HTTP date
    assert log[3].query == log[0].query  # the same page asked again, nothing skipped
    assert feed.failed_calls("http_429") == 3 and report.readings == len(expected_readings(SERVED))
    assert_exactly_served(fresh_topics)


def test_a_retry_after_beyond_the_deadline_ends_the_poll_until_then(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    api.fail(Fault(times=1, status=429, headers={"Retry-After": "3600"}))
    with open_feed(fresh_topics, url) as feed:
        started = time.monotonic()
        retry_at = feed.loop.poll_once()
        assert time.monotonic() - started < 5, "it waited instead of giving the poll up"
        assert retry_at is not None
        assert 3590 < (retry_at - datetime.now(UTC)).total_seconds() <= 3600
        assert len(api.requests()) == 1  # one call, no hammering
        assert feed.errors("rate_limited") == 1
        error = feed.loop.status.last_error
        assert error is not None and error["reason"] == "rate_limited"
        assert feed.loop.poll_once() is None  # the next poll (here at once) succeeds
    assert_exactly_served(fresh_topics)


def test_5xx_storm_is_retried_with_backoff(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    for status in (500, 502, 503):
        api.fail(Fault(times=2, status=status, body=b"<html>upstream error</html>"))
    with open_feed(fresh_topics, url) as feed:
        report = feed.pager.poll()
    assert feed.failed_calls("http_5xx") == 6
    assert [logged.status for logged in api.requests()[:7]] == [500] * 2 + [502] * 2 + [503] * 2 + [
        200
    ]
    assert report.readings == len(expected_readings(SERVED))
    assert_exactly_served(fresh_topics)


def test_5xx_beyond_the_deadline_fails_the_poll_and_loses_nothing(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    storm = [True]
    api.fail(Fault(times=10_000, status=503, when=lambda q: storm[0] and q["offset"] == "20"))
    with open_feed(fresh_topics, url, retry_deadline_s=0.5) as feed:
        assert feed.loop.poll_once() is None
        assert feed.errors("http_5xx") == 1 and feed.failed_calls("http_5xx") >= 2
        assert keys_of(published_readings(fresh_topics)).total() == 20  # the first page
        storm[0] = False
        feed.loop.poll_once()
        assert feed.metrics.polls.labels("ok")._value.get() == 1
    assert_exactly_served(fresh_topics)


def test_a_slow_answer_times_out_and_is_asked_again(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    api.fail(Fault(times=1, delay=3.0, when=lambda q: q.get("offset") == "20"))
    with open_feed(fresh_topics, url, timeout_s=0.5) as feed:
        feed.pager.poll()
    assert feed.failed_calls("timeout") == 1
    slow = [i for i, logged in enumerate(api.requests()) if logged.query.get("offset") == "20"]
    log = api.requests()
    assert log[slow[0]].query == log[slow[0] + 1].query  # asked again at once, same page
    assert log[slow[0] + 1].at - log[slow[0]].at < 2.0  # after the 0.5 s timeout, not 3 s
    assert_exactly_served(fresh_topics)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><body>Maintenance</body></html>", "not_json"),
        (b'{"total_count": 4, "records": []}', "results_missing"),
        (b'{"results": []}', "total_count_missing"),
        (b'[{"iu_ac": "1"}]', "not_an_object"),
    ],
)
def test_an_answer_in_another_shape_is_a_counted_error(
    api: RecordsApi, url: str, fresh_topics: Settings, body: bytes, reason: str
) -> None:
    api.fail(Fault(times=1, status=200, body=body, when=lambda q: q.get("offset") == "20"))
    with open_feed(fresh_topics, url) as feed:
        assert feed.loop.poll_once() is None
        assert feed.errors(reason) == 1 and feed.metrics.polls.labels("error")._value.get() == 1
        error = feed.loop.status.last_error
        assert error is not None and error["reason"] == reason
        feed.loop.poll_once()  # the next poll reads on from the page that failed
        assert feed.metrics.polls.labels("ok")._value.get() == 1
    assert_exactly_served(fresh_topics)


def test_a_renamed_field_stops_at_that_hour_with_a_clear_error(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    hours = list(HOURS)
    renamed = [
        {("debit" if key == "q" else key): value for key, value in record.items()}
        for record in HOURS[hours[4]]
    ]
    api.publish(as_served(renamed))
    with open_feed(fresh_topics, url) as feed:
        assert feed.loop.poll_once() is None
        assert feed.errors("missing_field") == 1
        error = feed.loop.status.last_error
        assert error is not None and "q absent from all" in error["message"]
        assert feed.pager.mark.newest == hours[3].astimezone(UTC)  # not past the bad hour
    assert_exactly_served(fresh_topics)  # the four good hours, nothing of the renamed one


class SimulatedDeathError(Exception):
    """The process 'dies' after the broker acknowledged a page, before the mark is saved."""


class DiesBeforeSecondSave(LiveIO):
    saves = 0

    def commit(self, mark: FeedMark, *, final: bool) -> None:
        self.publisher.flush()  # everything sent so far is acknowledged…
        DiesBeforeSecondSave.saves += 1
        if DiesBeforeSecondSave.saves == 2:
            raise SimulatedDeathError  # …and the mark of it is never saved
        self.state.save(mark)


def test_a_death_between_ack_and_commit_publishes_nothing_twice(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    with (
        pytest.raises(SimulatedDeathError),
        open_feed(fresh_topics, url, io_factory=DiesBeforeSecondSave) as feed,
    ):
        feed.pager.poll()
    before = keys_of(published_readings(fresh_topics)).total()
    assert 0 < before < len(expected_readings(SERVED))
    with open_feed(fresh_topics, url) as feed:
        assert len(feed.pager.mark.hours) >= 1
        report = feed.pager.poll()
    assert report.readings == len(expected_readings(SERVED)) - before
    assert report.duplicates > 0  # pages of the dead run were read again and skipped
    assert_exactly_served(fresh_topics)


def test_a_restart_resumes_from_the_mark_without_reading_everything_again(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    with open_feed(fresh_topics, url) as feed:
        feed.pager.poll()
    asked = len(api.requests())
    with open_feed(fresh_topics, url) as feed:
        report = feed.pager.poll()
    assert report.readings == 0 and report.pages == 0
    assert len(api.requests()) - asked == report.requests == 3 + 1  # count checks, one look
    assert_exactly_served(fresh_topics)


def test_a_refused_query_is_not_retried(api: RecordsApi, url: str, fresh_topics: Settings) -> None:
    api.fail(Fault(times=1, status=404, body=b'{"error": "dataset not found"}'))
    with open_feed(fresh_topics, url) as feed:
        assert feed.loop.poll_once() is None
        assert feed.errors("http_4xx") == 1 and len(api.requests()) == 1
        error = feed.loop.status.last_error
        assert error is not None and "404" in error["message"]
