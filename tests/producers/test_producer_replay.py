"""Replay without a broker: pacing, filters, accounting, and the publisher with a fake producer.

The fake producer stands in for kafka-python's; the real-broker test lives with the
integration fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path

import orjson
import pytest
from bundled_files import API, DATA, EXPORTS, HISTORICAL, REFERENTIAL, raw_csv_rows
from rich.console import Console

from commands.replay import EXIT_INPUT, replay_to_kafka, run_replay
from flowcast.records import DeadLetter, Reading
from flowcast.settings import Settings
from producers.filters import ReplayFilter
from producers.pacing import Pacer, due_after, parse_speed
from producers.publisher import Publisher, PublishError, publish_all
from producers.replay_core import Sink, replay
from producers.replay_view import summary_table


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_parse_speed() -> None:
    assert parse_speed("max") is None
    assert parse_speed("MAX") is None
    assert parse_speed("3600") == 3600.0
    for bad in ("0", "-1", "fast", "inf", "nan"):
        with pytest.raises(ValueError, match="--speed"):
            parse_speed(bad)


def test_pacer_spaces_events_by_simulated_time() -> None:
    clock = FakeClock()
    pacer = Pacer(3600.0, clock=clock, sleep=clock.sleep)
    for hour in (0, 0, 1, 3):
        pacer.wait(1_000_000.0 + hour * 3600)
    assert clock.sleeps == [1.0, 2.0]  # one traffic hour per wall second
    assert due_after(7200.0, 0.0, None) == 0.0


def test_pacer_does_not_sleep_when_behind_or_at_max_speed() -> None:
    clock = FakeClock()
    pacer = Pacer(3600.0, clock=clock, sleep=clock.sleep)
    pacer.wait(0.0)
    clock.now += 10.0  # sending took longer than the simulated gap
    pacer.wait(3600.0)
    assert clock.sleeps == []
    fast = Pacer(None, clock=clock, sleep=clock.sleep)
    assert fast.wait(0.0) == fast.wait(1e9) == 0.0


def _sink() -> tuple[list[Reading | DeadLetter], Sink]:
    items: list[Reading | DeadLetter] = []
    return items, items.append


def test_replay_accounts_for_every_record() -> None:
    items, sink = _sink()
    paths = [DATA / HISTORICAL, DATA / API, DATA / HISTORICAL]  # the same file twice
    stats = replay(paths, sink)
    rows = 2 * len(raw_csv_rows(HISTORICAL)[1]) + 100
    assert stats.read == rows
    assert stats.dead_lettered == {"nonexistent_local_time": 2}
    valid = len(raw_csv_rows(HISTORICAL)[1]) - 1  # all but the March gap hour
    assert stats.deduplicated == valid  # the second copy adds nothing
    assert stats.published == valid + 100
    assert stats.published + stats.deduplicated + stats.filtered + 2 == rows
    readings = [i for i in items if isinstance(i, Reading)]
    assert len(readings) == stats.published
    keys = [(r.ts, r.sensor_id) for r in readings]
    assert keys == sorted(set(keys))


def test_replay_filters_by_sensor_start_and_days() -> None:
    items, sink = _sink()
    window = ReplayFilter(start=date(2022, 3, 1), days=2, sensors=frozenset({"4264", "191"}))
    paths = [DATA / name for name in EXPORTS]
    stats = replay(paths, sink, window=window)
    readings = [i for i in items if isinstance(i, Reading)]
    # independent: rows whose offset timestamp falls on 2022-03-01 or 03-02 UTC
    expected = 0
    for name in (EXPORTS[0], EXPORTS[2]):
        header, rows = raw_csv_rows(name)
        for row in rows:
            ts = datetime.fromisoformat(row[header.index("Date et heure de comptage")])
            expected += date(2022, 3, 1) <= ts.astimezone(UTC).date() <= date(2022, 3, 2)
    assert expected > 0
    assert stats.published == len(readings) == expected
    assert {r.sensor_id for r in readings} == {"4264", "191"}
    assert stats.filtered == stats.read - expected


def test_days_without_start_counts_from_the_first_reading() -> None:
    items, sink = _sink()
    stats = replay([DATA / HISTORICAL], sink, window=ReplayFilter(days=1))
    readings = [i for i in items if isinstance(i, Reading)]
    first_day = readings[0].ts.date()
    assert all(r.ts.date() == first_day for r in readings)
    # the file starts 2022-01-01 01:00 local = 00:00 UTC: 24 hours of that UTC day
    assert first_day == date(2022, 1, 1)
    assert stats.published == 24


@dataclass
class FakeFuture:
    ok: bool
    is_done: bool = True
    exception: BaseException | None = None

    def succeeded(self) -> bool:
        return self.ok


@dataclass
class FakeProducer:
    """Fails the first ``failures`` sends, then acknowledges everything."""

    failures: int = 0
    sent: list[tuple[str, bytes | None, bytes, int | None]] = field(default_factory=list)
    closed: bool = False

    def send(
        self, topic: str, *, value: bytes, key: bytes | None, timestamp_ms: int | None
    ) -> FakeFuture:
        if self.failures > 0:
            self.failures -= 1
            return FakeFuture(ok=False, exception=TimeoutError("no ack"))
        self.sent.append((topic, key, value, timestamp_ms))
        return FakeFuture(ok=True)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


def test_publisher_resends_failed_sends_and_counts_acknowledged() -> None:
    producer = FakeProducer(failures=3)
    clock = FakeClock()
    messages: list[str] = []
    items = [r for r in replay_items(DATA / HISTORICAL)][:10]
    counts = publish_all(
        items,
        "broker:9092",
        readings_topic="readings",
        deadletter_topic="dead",
        factory=lambda _: producer,
        notify=messages.append,
        sleep=clock.sleep,
    )
    assert counts.readings + counts.dead_letters == 10
    assert counts.resent == 3
    assert len(producer.sent) == 10
    assert producer.closed
    assert any("broker:9092" in m for m in messages)


def replay_items(path: Path) -> list[Reading | DeadLetter]:
    items, sink = _sink()
    replay([path], sink)
    return items


def test_publisher_waits_for_an_unreachable_broker_then_connects() -> None:
    attempts: list[str] = []
    messages: list[str] = []
    clock = FakeClock()

    def factory(bootstrap: str) -> FakeProducer:
        attempts.append(bootstrap)
        if len(attempts) < 3:
            raise ConnectionError("refused")
        return FakeProducer()

    publisher = Publisher(
        "10.0.0.1:9092",
        readings_topic="r",
        deadletter_topic="d",
        factory=factory,
        notify=messages.append,
        sleep=clock.sleep,
    )
    with publisher:
        pass
    assert len(attempts) == 3
    assert len(messages) == 2
    assert all("10.0.0.1:9092 unreachable" in m for m in messages)
    assert clock.sleeps[1] > clock.sleeps[0]  # exponential backoff


def test_publisher_gives_up_after_the_deadline() -> None:
    def factory(_: str) -> FakeProducer:
        raise ConnectionError("refused")

    publisher = Publisher(
        "10.0.0.1:9092",
        readings_topic="r",
        deadletter_topic="d",
        factory=factory,
        notify=lambda _: None,
        deadline_s=0.0,
    )
    with pytest.raises(PublishError, match=r"10\.0\.0\.1:9092 still unreachable"), publisher:
        pass


def test_replay_to_kafka_sends_keys_timestamps_and_dead_letters() -> None:
    producer = FakeProducer()
    settings = Settings(readings_topic="t-readings", deadletter_topic="t-dead")
    console = Console(file=StringIO(), width=120)
    stats, dead_sent = replay_to_kafka(
        settings,
        [DATA / HISTORICAL],
        "fake:1",
        window=ReplayFilter(),
        pacer=Pacer(None),
        console=console,
        factory=lambda _: producer,
    )
    readings = [s for s in producer.sent if s[0] == "t-readings"]
    dead = [s for s in producer.sent if s[0] == "t-dead"]
    assert len(readings) == stats.published == len(raw_csv_rows(HISTORICAL)[1]) - 1
    assert dead_sent == len(dead) == 1
    _topic, key, value, timestamp_ms = readings[0]
    reading = Reading.from_json(value)
    assert key == reading.sensor_id.encode() == b"376"
    assert timestamp_ms == int(reading.ts.timestamp() * 1000)
    assert orjson.loads(dead[0][2])["reason"] == "nonexistent_local_time"
    table = StringIO()
    Console(file=table, width=120).print(summary_table(stats, dead_sent))
    assert f"{stats.read:,} = read" in table.getvalue()
    assert "nonexistent_local_time" in table.getvalue()


def test_run_replay_refuses_bad_input_before_any_broker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:1")
    code = run_replay(
        settings, [DATA / REFERENTIAL], speed="max", start=None, days=None, sensors=None
    )
    assert code == EXIT_INPUT
    assert "sensor referential" in capsys.readouterr().err
    code = run_replay(settings, [DATA / API], speed="warp", start=None, days=None, sensors=None)
    assert code == EXIT_INPUT
