"""The live feed against a local API on a real socket, publishing to the real broker.

Served: 33 hours of real records — the recorded API hour (100 arcs) and 32 hours of the
69-arc extract reshaped as API records (`live_records`). Pages of 20 records, so most hours
take several pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from live_api import RecordsApi, serving
from live_harness import (
    expected_readings,
    keys_of,
    open_feed,
    published_dead_letters,
    published_readings,
    same_values,
)
from live_records import api_sample, as_served, by_hour, reshaped_hours

from flowcast.settings import Settings
from producers.live.api import MAX_LIMIT, MAX_OFFSET_WINDOW
from producers.normalise import iter_normalised

pytestmark = pytest.mark.integration
ALL = (*reshaped_hours(), *api_sample())


@pytest.fixture
def api() -> RecordsApi:
    return RecordsApi()


@pytest.fixture
def url(api: RecordsApi) -> Iterator[str]:
    with serving(api) as base:
        yield base


def test_paging_across_hours_publishes_every_record_once(
    api: RecordsApi, url: str, fresh_topics: Settings, data_dir
) -> None:
    api.publish(as_served(ALL))
    with open_feed(fresh_topics, url) as feed:
        report = feed.pager.poll()
        again = feed.pager.poll()

    expected = expected_readings(ALL)
    readings = published_readings(fresh_topics)
    counts = keys_of(readings)
    assert set(counts) == set(expected) and max(counts.values()) == 1
    assert all(same_values(r, expected[(r.sensor_id, r.ts)]) for r in readings)
    assert report.readings == len(expected) == 1360 and report.duplicates == 0
    # each sensor's hours arrive in t_1h order (one partition per sensor keeps the order)
    per_sensor: dict[str, list[datetime]] = {}
    for reading in readings:
        per_sensor.setdefault(reading.sensor_id, []).append(reading.ts)
    assert all(hours == sorted(hours) for hours in per_sensor.values())
    # the recorded hour reads the same through the API path and the file reader
    from_file = {
        (r.sensor_id, r.ts): r
        for r in iter_normalised([data_dir / "api_v2.1_records_2026-06-21.json.gz"])
    }
    assert (
        all(
            same_values(r, from_file[(r.sensor_id, r.ts)])
            for r in readings
            if (r.sensor_id, r.ts) in from_file
        )
        and len(from_file) == 100
    )
    # every query was one the real API accepts
    assert not api.refused
    for logged in api.requests():
        limit, offset = int(logged.query["limit"]), int(logged.query["offset"])
        assert limit <= MAX_LIMIT and offset + limit <= MAX_OFFSET_WINDOW
        assert logged.query["order_by"] == "t_1h" and "t_1h" in logged.query["where"]
    # a second poll finds nothing new: one count check per kept hour, one look for a new hour
    assert again.readings == 0 and again.pages == 0
    assert again.requests == again.skipped_windows + 1 == 1 + 1  # 2023 hours fell off


def test_an_hour_that_fills_late_and_in_pieces_is_published_once(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    hours = by_hour(reshaped_hours())
    ordered = list(hours)
    last, before = ordered[-1], ordered[-2]
    early = [r for hour in ordered[:-1] for r in hours[hour]]
    late_for_before = early.pop()  # the last record of the hour before the last one
    assert late_for_before["t_1h"] == hours[before][-1]["t_1h"]
    first_half, second_half = hours[last][:25], hours[last][25:]
    api.publish(as_served([*early, *first_half]))
    with open_feed(fresh_topics, url) as feed:
        feed.pager.poll()
        assert keys_of(published_readings(fresh_topics)).total() == len(early) + 25
        api.publish(as_served([*second_half, late_for_before]))
        report = feed.pager.poll()
        settled = feed.pager.poll()

    counts = keys_of(published_readings(fresh_topics))
    assert set(counts) == set(expected_readings(reshaped_hours())) and max(counts.values()) == 1
    assert report.readings == len(second_half) + 1
    assert report.duplicates == 25 + len(hours[before]) - 1  # re-read, not re-published
    assert settled.readings == 0 and settled.pages == 0


def test_a_partly_malformed_page_publishes_the_good_and_dead_letters_the_bad(
    api: RecordsApi, url: str, fresh_topics: Settings
) -> None:
    hours = by_hour(reshaped_hours())
    first = next(iter(hours))
    good = hours[first]
    bad = [
        {**good[0], "iu_ac": "6811", "q": "beaucoup"},  # bad_number
        {**good[1], "iu_ac": None},  # missing_sensor_id
        {**good[2], "iu_ac": "9999", "k": 250.0},  # absurd_occupancy
        {**good[3], "iu_ac": "9998", "t_1h": "2023-10-03T01:30:00+02:00"},  # not_on_the_hour
    ]
    mixed = [good[0], bad[0], *good[1:10], bad[1], bad[2], *good[10:], bad[3]]
    api.publish(as_served(mixed))
    from live_api import Served

    api.publish([Served(first, "not a record")])  # wrong_type
    with open_feed(fresh_topics, url, page_size=10) as feed:
        report = feed.pager.poll()
        again = feed.pager.poll()

    readings = published_readings(fresh_topics)
    assert keys_of(readings) == {(r.sensor_id, r.ts): 1 for r in expected_readings(good).values()}
    dead = published_dead_letters(fresh_topics)
    reasons = sorted(d["reason"] for d in dead)
    assert reasons == sorted(
        ["bad_number", "missing_sensor_id", "absurd_occupancy", "not_on_the_hour", "wrong_type"]
    )
    assert all(d["source"].startswith("live:127.0.0.1") and "#" in d["position"] for d in dead)
    assert report.dead_letters.total() == 5 and again.dead_letters.total() == 0
    assert feed.metrics.dead_letters.labels("bad_number")._value.get() == 0  # loop not used
    assert first + timedelta(hours=1) > max(r.ts for r in readings)
