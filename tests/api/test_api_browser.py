"""The dashboard in a real headless Chromium (Debian's, driven by Python playwright).

A real gateway (``python -m commands.cli api``) runs on the session Redis, seeded with what the
online core makes of real bundled readings; the test signs in through the form, waits for the
map, then PUBLISHes the next real forecast of a sensor and watches the page update live.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from commands.bench.api import gateway_env, seed_readings
from commands.bench.data import real_readings
from commands.embedded import free_port
from commands.processes import ManagedProcess
from flowcast import redis_keys as keys
from flowcast.records import Forecast, Reading

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WATCHED = "4264"  # Champs-Élysées: its last real reading is held back, then sent live
TIMEOUT_MS = 20_000


def chromium_path() -> str:
    """Debian's chromium; fail in CI, skip elsewhere, when it is not installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium not installed: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass
class Live:
    """A seeded gateway, its admin password, and the held-back reading and its core."""

    base_url: str
    password: str
    held_back: Reading
    core: object
    log_path: Path


def held_back_split(data_dir: Path) -> tuple[list[Reading], Reading]:
    """Real readings of the watched sensor and the 69-arc extract, minus WATCHED's last one."""
    files = [*data_dir.glob(f"export_*_{WATCHED}.csv.gz"), *data_dir.glob("extract_*.csv.gz")]
    readings = real_readings(sorted(files))
    last = max(i for i, r in enumerate(readings) if r.sensor_id == WATCHED and r.flow)
    return readings[:last] + readings[last + 1 :], readings[last]


@pytest.fixture
def live(
    redis_url: str, redis_client: redis.Redis, data_dir: Path, tmp_path: Path
) -> Iterator[Live]:
    readings, held_back = held_back_split(data_dir)
    sensors, core = seed_readings(redis_url, readings)
    assert WATCHED in sensors and len(sensors) > 50
    port, password = free_port(), secrets.token_urlsafe(12)
    gateway = ManagedProcess(
        "gateway",
        [sys.executable, "-m", "commands.cli", "api"],
        tmp_path / "gateway.log",
        env=gateway_env(redis_url, port, password),
    ).start()
    try:
        base = f"http://127.0.0.1:{port}"
        gateway.wait_for(lambda: _answers(base + "/health"), 60, "the gateway /health")
        yield Live(base, password, held_back, core, tmp_path / "gateway.log")
    finally:
        gateway.terminate()


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def next_forecast(live: Live) -> Forecast:
    """What the core forecasts once it sees the held-back reading (a real new forecast)."""
    step = live.core.process(live.held_back)  # type: ignore[attr-defined]
    assert step.forecast is not None
    forecast: Forecast = step.forecast
    return forecast


def publish(redis_client: redis.Redis, forecast: Forecast, reading: Reading) -> None:
    """What a worker does: LATEST and LAST_READING updated, then the PUBLISH."""
    redis_client.hset(keys.LATEST, forecast.sensor_id, forecast.to_json())
    redis_client.hset(keys.LAST_READING, reading.sensor_id, reading.to_json())
    assert redis_client.publish(keys.FORECASTS_CHANNEL, forecast.to_json()) >= 1


def test_dashboard_shows_live_forecasts(live: Live, redis_client: redis.Redis) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_path()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live.base_url + "/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", live.password)
            page.click("#login button[type=submit]")

            conn = page.locator("#conn")
            expect(conn).to_have_text("live", timeout=TIMEOUT_MS)
            expect(page.locator("#login")).to_be_hidden()
            expect(conn).to_have_class("conn on")
            on_map = page.locator("#map circle.has-forecast")
            expect(on_map).not_to_have_count(0, timeout=TIMEOUT_MS)
            unplaced = page.locator("#unplaced a").count()
            assert on_map.count() + unplaced == redis_client.hlen(keys.LATEST)
            page.locator(f'#map circle[data-id="{WATCHED}"]').click()
            panel = page.locator("#panel")
            expect(panel).to_contain_text(f"id {WATCHED}", timeout=TIMEOUT_MS)
            expect(page.locator("#chart polyline.observed")).to_have_count(1)
            page.evaluate("window.__noReload = true")

            forecast = next_forecast(live)
            publish(redis_client, forecast, live.held_back)
            shown = forecast.to_dict()
            flow = page.locator("#forecast-flow")
            expect(flow).to_have_text(f"{round(forecast.flow)} veh/h", timeout=TIMEOUT_MS)
            expect(page.locator("#forecast-ts")).to_have_attribute(
                "datetime", shown["ts"], timeout=TIMEOUT_MS
            )
            expect(page.locator("#updates li").first).to_contain_text(WATCHED)
            state = live.held_back.traffic_state.value
            expect(page.locator(f'#map circle[data-id="{WATCHED}"]')).to_have_class(
                re.compile(rf"\b{state}\b"), timeout=TIMEOUT_MS
            )
            assert page.evaluate("window.__noReload") is True, "the page reloaded"
            expect(conn).to_have_text("live")
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            assert errors == [], errors
            token = page.evaluate("sessionStorage.getItem('flowcast-token')")
            assert token and token not in live.log_path.read_text(encoding="utf-8")
            assert "/ws/forecasts?auth=message" in live.log_path.read_text(encoding="utf-8")
        finally:
            browser.close()
