"""Pure logic of the live feed: queries, answers, the mark, Retry-After, the 10,000 cap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bundled_files import API, DATA
from live_records import api_sample

from flowcast.records import Reading
from producers.live.api import (
    MAX_OFFSET_WINDOW,
    Page,
    SchemaError,
    check_schema,
    discovery_query,
    parse_page,
    window_query,
)
from producers.live.http_client import parse_retry_after, user_agent
from producers.live.mark import FeedMark, LogOffsets, MarkError, Position
from producers.live.pager import Item, Pager
from producers.normalise import iter_normalised, normalise_api_record
from producers.timestamps import LocalTimeResolver

H0 = datetime(2026, 6, 20, 22, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_queries_follow_the_contract() -> None:
    page = window_query(H0, limit=100, offset=9_900)
    assert page == {
        "where": 't_1h >= "2026-06-20T22:00:00+00:00" and t_1h < "2026-06-20T23:00:00+00:00"',
        "order_by": "t_1h",
        "limit": 100,
        "offset": 9_900,
    }
    assert discovery_query(H0)["where"] == 't_1h >= "2026-06-20T22:00:00+00:00"'
    with pytest.raises(ValueError, match="10000"):
        window_query(H0, limit=100, offset=9_901)
    with pytest.raises(ValueError, match="limit"):
        window_query(H0, limit=101, offset=0)


def test_the_api_reader_and_the_file_reader_make_the_same_readings() -> None:
    resolver = LocalTimeResolver()
    live = [
        normalise_api_record(r, "live:x", f"#{i}", resolver) for i, r in enumerate(api_sample())
    ]
    from_file = list(iter_normalised([DATA / API]))
    assert len(live) == len(from_file) == 100
    for got, want in zip(live, from_file, strict=True):
        assert isinstance(got, Reading) and isinstance(want, Reading)
        assert got == replace(want, source="live:x")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not_json"),
        (b"null", "not_an_object"),
        (b'{"total_count": 3}', "results_missing"),
        (b'{"total_count": true, "results": []}', "total_count_missing"),
        (b'{"total_count": -1, "results": []}', "total_count_missing"),
    ],
)
def test_an_answer_of_another_shape_is_refused_whole(body: bytes, reason: str) -> None:
    with pytest.raises(SchemaError) as caught:
        parse_page(body)
    assert caught.value.reason == reason


def test_a_field_missing_from_every_record_is_a_schema_change_not_a_dead_letter() -> None:
    records = [dict(r) for r in api_sample()[:5]]
    check_schema([*records[:4], {**records[4]} | {"q": None}])  # a null flow is data
    check_schema(
        [{k: v for k, v in r.items() if k != "q"} if i == 0 else r for i, r in enumerate(records)]
    )  # one record: a dead letter later
    with pytest.raises(SchemaError, match="q absent from all 5 records") as caught:
        check_schema([{("debit" if k == "q" else k): v for k, v in r.items()} for r in records])
    assert caught.value.reason == "missing_field"
    with pytest.raises(SchemaError) as caught:
        check_schema(["a", 1, None])
    assert caught.value.reason == "records_not_objects"
    check_schema(
        [
            {
                "identifiant_arc": "1",
                "date_et_heure_de_comptage": "x",
                "debit_horaire": 1,
                "taux_d_occupation": 1,
                "etat_trafic": "",
                "etat_arc": "",
            }
        ]
    )


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 6, 21, 12, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Sun, 21 Jun 2026 12:01:00 GMT", now) == 60.0
    assert parse_retry_after("Sun, 21 Jun 2026 11:00:00 GMT", now) == 0.0  # already past
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after("later", now) is None and parse_retry_after(None, now) is None


def test_the_user_agent_names_the_product_version_and_contact() -> None:
    assert user_agent("mailto:ops@example.org") == "Flowcast/0.1.0 (+mailto:ops@example.org)"


def mark_with_hours() -> FeedMark:
    mark = FeedMark.fresh("https://x/records", H0 - 5 * HOUR, {"readings": {0: 1}}, 2)
    for i, hour in enumerate((H0 - 2 * HOUR, H0 - HOUR, H0)):
        mark.touch(hour, {"readings": {0: 10 + i, 1: 30 - i}, "deadletter": {0: i}})
        mark.saw_data(hour)
    mark.hours[H0 - HOUR].total = 42
    mark.position = Position(H0, 40)
    return mark


def test_the_mark_round_trips_without_its_keys() -> None:
    mark = mark_with_hours()
    mark.published(H0, {"4264", "191"})
    loaded = FeedMark.from_json(mark.to_json(), "https://x/records")
    assert loaded == mark and loaded.hours[H0].keys == set()  # keys come back from the topics
    with pytest.raises(MarkError, match="not of"):
        FeedMark.from_json(mark.to_json(), "https://other/records")
    for damaged in (b"{", b'{"version": 9}', mark.to_json().replace(b'"total":42', b'"total":"x"')):
        with pytest.raises(MarkError):
            FeedMark.from_json(damaged, "https://x/records")


def test_old_hours_fall_off_and_the_rebuild_starts_at_the_oldest_kept() -> None:
    mark = mark_with_hours()
    assert mark.kept_hours() == [H0 - 2 * HOUR, H0 - HOUR, H0]
    assert mark.rebuild_from() == {"readings": {0: 10, 1: 28}, "deadletter": {0: 0}}
    mark.touch(H0 + HOUR, {"readings": {0: 99, 1: 99}, "deadletter": {0: 99}})
    mark.saw_data(H0 + HOUR)
    assert mark.kept_hours() == [H0 - HOUR, H0, H0 + HOUR]
    assert mark.rebuild_from() == {"readings": {0: 11, 1: 28}, "deadletter": {0: 1}}
    assert mark.discovery_start() == H0 + 2 * HOUR
    assert not mark.absorb(H0 - 3 * HOUR, "4264", {})  # too old to keep
    assert mark.absorb(H0 + 2 * HOUR, "4264", {}) and mark.newest == H0 + 2 * HOUR


class SyntheticHugeHour:
    """A pure in-memory API whose one hour holds 12,000 records (synthetic, for the cap)."""

    def __init__(self) -> None:
        self.queries: list[Mapping[str, str | int]] = []
        self.sent: list[Item] = []

    def fetch(self, query: Mapping[str, str | int]) -> Page:
        self.queries.append(query)
        offset, limit = int(query["offset"]), int(query["limit"])
        if limit == 1:  # looking for the next hour
            found = not any(q["limit"] == 100 for q in self.queries)
            return Page(12_000 if found else 0, [self.record(0)] if found else [])
        return Page(12_000, [self.record(offset + i) for i in range(limit)])

    @staticmethod
    def record(index: int) -> dict[str, Any]:
        return {
            "iu_ac": str(index),
            "t_1h": H0.isoformat(),
            "q": 1.0,
            "k": 1.0,
            "etat_trafic": "Fluide",
            "etat_barre": "Ouvert",
        }

    def publish(self, items: Sequence[Item]) -> None:
        self.sent.extend(items)

    def log_ends(self) -> LogOffsets:
        return {}

    def commit(self, mark: FeedMark, *, final: bool) -> None:
        pass

    def stopping(self) -> bool:
        return False


def test_an_hour_over_the_api_cap_is_read_up_to_it_and_reported() -> None:
    api = SyntheticHugeHour()
    pager = Pager(FeedMark.fresh("f", H0, {}), api, source="live:x", page_size=100)
    report = pager.poll()
    offsets = [int(q["offset"]) + int(q["limit"]) for q in api.queries]
    assert max(offsets) == MAX_OFFSET_WINDOW and report.over_cap == 1
    assert len(api.sent) == MAX_OFFSET_WINDOW == report.readings
