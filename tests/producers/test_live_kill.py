"""``flowcast live`` SIGKILLed mid-hour and restarted: Kafka gets exactly what it gets unkilled.

Two runs of the real command (subprocesses) against the same story, each on its own topics
and its own local API: 9 real hours (reshaped extract records, `live_records`; 38 or 56 arcs
an hour, pages of 20), served in two phases as the portal does — first hours 1-7 and the first
half of hour 8 (one record of hour 7 held back), then the rest of hour 8, hour 9 and the late
record of hour 7. The reference run is never killed; the other is SIGKILLed in the middle of
an hour in each phase (while the API holds the request for a page after the first) and
restarted. Both topics must hold the same readings, by (sensor, hour), each once.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from live_api import Query, RecordsApi, serving
from live_harness import SINCE, expected_readings, keys_of, published_readings
from live_records import as_served, by_hour, reshaped_hours
from prometheus_client.parser import text_string_to_metric_families

from commands.embedded import free_port
from commands.processes import ManagedProcess
from flowcast import redis_keys as keys
from flowcast.kafka_admin import ensure_topics, unique_topic_settings
from flowcast.records import Reading
from flowcast.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.faults]
HOURS = by_hour(reshaped_hours())
ORDER = list(HOURS)[:9]
WAIT_S = 90.0


def phases() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the API shows first, and what appears later (late and in pieces)."""
    first = [r for hour in ORDER[:7] for r in HOURS[hour]]
    late = first.pop()  # the last record of hour 7 appears only later
    half = len(HOURS[ORDER[7]]) // 2
    first += HOURS[ORDER[7]][:half]
    return first, [*HOURS[ORDER[7]][half:], *HOURS[ORDER[8]], late]


def page_of(hour: datetime, offset: int) -> Callable[[Query], bool]:
    """The request for the page at ``offset`` of ``hour``'s window."""
    stamp = f'"{hour.astimezone(UTC).isoformat()}"'
    return lambda q: (
        q.get("offset") == str(offset) and q["where"].startswith(f"t_1h >= {stamp} and")
    )


class KillSwitch:
    """Holds the planned request until the test has SIGKILLed the poller that sent it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._when: Callable[[Query], bool] | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()

    def arm(self, when: Callable[[Query], bool]) -> None:
        self.arrived.clear()
        self.release.clear()
        with self._lock:
            self._when = when

    def hold(self, query: Query) -> None:
        with self._lock:
            if self._when is None or not self._when(query):
                return
            self._when = None
        self.arrived.set()
        self.release.wait(WAIT_S)


class Run:
    """One story: a local API, topics, and the ``flowcast live`` process(es) polling it."""

    def __init__(self, base: Settings, tmp_path: Path, name: str) -> None:
        self.settings = unique_topic_settings(base, f"live-{name}")
        assert self.settings.kafka_bootstrap
        ensure_topics(self.settings.kafka_bootstrap, self.settings)
        self.api, self.switch = RecordsApi(), KillSwitch()
        self.api.hold = self.switch.hold
        self.log = tmp_path / f"live-{name}.log"
        self.metrics_port = free_port()
        self.process: ManagedProcess | None = None

    def start(self, url: str) -> ManagedProcess:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "FLOWCAST_KAFKA_BOOTSTRAP": str(self.settings.kafka_bootstrap),
            "FLOWCAST_REDIS_URL": str(self.settings.redis_url),
            "FLOWCAST_READINGS_TOPIC": self.settings.readings_topic,
            "FLOWCAST_DEADLETTER_TOPIC": self.settings.deadletter_topic,
            "FLOWCAST_FORECASTS_TOPIC": self.settings.forecasts_topic,
            "FLOWCAST_LIVE_PAGE_SIZE": "20",
            "FLOWCAST_LIVE_LOOKBACK_HOURS": "2",
            "FLOWCAST_LIVE_METRICS_PORT": str(self.metrics_port),
        }
        argv = [sys.executable, "-m", "commands.cli", "live", "--url", url, "--every", "0.2",
                "--since", SINCE.isoformat()]  # fmt: skip
        self.process = ManagedProcess("live", argv, self.log, env=env).start()
        return self.process

    def idle_polls_after(self, mark: int) -> int:
        return sum(r.found_nothing_new for r in self.api.requests()[mark:])

    def settle(self) -> None:
        """Wait until two polls in a row found nothing new (the first one's commit is done)."""
        assert self.process is not None
        mark = len(self.api.requests())
        self.process.wait_for(lambda: self.idle_polls_after(mark) >= 2, WAIT_S, "two idle polls")

    def kill_at(self, url: str) -> None:
        """Let the poller reach the planned request, SIGKILL it there, start a new one."""
        assert self.process is not None
        self.process.wait_for(self.switch.arrived.is_set, WAIT_S, "the planned request")
        assert self.process.kill() == -9
        self.switch.release.set()
        self.start(url)

    def story(self, kill: bool) -> list[Reading]:
        first, later = phases()
        assert len(HOURS[ORDER[4]]) > 20 and len(HOURS[ORDER[7]]) > 40
        self.api.publish(as_served(first))
        with serving(self.api) as url:
            try:
                if kill:
                    self.switch.arm(page_of(ORDER[4], 20))  # hour 5, second page
                self.start(url)
                if kill:
                    self.kill_at(url)
                self.settle()
                if kill:  # hour 8 read again as it fills: third page (armed before it shows)
                    self.switch.arm(page_of(ORDER[7], 40))
                self.api.publish(as_served(later))
                if kill:
                    self.kill_at(url)
                self.settle()
                self.check_freshness()
                assert self.process is not None
                assert self.process.terminate(grace_s=20) == 0, self.process.log_tail()
            finally:
                if self.process is not None:
                    self.process.kill()
        return published_readings(self.settings)

    def check_freshness(self) -> None:
        newest = ORDER[-1].astimezone(UTC)
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
        assert samples["flowcast_feed_newest_data_hour_timestamp_seconds"] == newest.timestamp()
        assert samples["flowcast_feed_last_success_timestamp_seconds"] > 0
        client = redis.Redis.from_url(str(self.settings.redis_url))
        try:
            status = orjson.loads(client.get(keys.FEED_STATUS) or b"{}")
        finally:
            client.close()
        assert status["newest_data_hour"] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_poller_killed_mid_hour_publishes_exactly_what_an_unkilled_one_does(
    fresh_topics: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    reference = Run(fresh_topics, tmp_path, "reference").story(kill=False)
    killed_run = Run(fresh_topics, tmp_path, "killed")
    killed = killed_run.story(kill=True)

    expected = expected_readings([r for hour in ORDER for r in HOURS[hour]])
    for readings in (reference, killed):
        counts = keys_of(readings)
        assert set(counts) == set(expected), "a reading missing or extra"
        assert max(counts.values()) == 1, "a reading published twice"
    by_key = {(r.sensor_id, r.ts): replace(r, source="") for r in reference}
    assert {(r.sensor_id, r.ts): replace(r, source="") for r in killed} == by_key
    log = killed_run.log.read_text()
    assert log.count("=== ") == 3 and "records already published found in the topics" in log
