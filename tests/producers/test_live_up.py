"""``flowcast up --live BASE``: the whole embedded stack fed by ``flowcast live``.

The stack (broker, Redis, worker, gateway, live feed) runs as ``flowcast up`` runs it, against
a local API on a real socket serving real records (the reshaped extract hours and the
recorded API hour, `live_records`). The gateway must end up serving forecasts for the sensors
of the newest hour and the feed's freshness at ``GET /feed``; SIGTERM stops everything.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_api import RecordsApi, serving
from live_records import api_sample, as_served, reshaped_hours

from commands.embedded import free_port
from commands.processes import ManagedProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASSWORD = "up-live-admin-password"
NEWEST = "2026-06-20T22:00:00Z"  # the recorded API hour, 2026-06-21 00:00 Paris


@pytest.fixture
def api_url() -> Iterator[str]:
    api = RecordsApi()
    api.publish(as_served([*reshaped_hours(), *api_sample()]))
    with serving(api) as url:
        yield url


def get(base: str, path: str, token: str) -> Any:
    response = httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    return response.json() if response.status_code == 200 else None


def test_up_live_serves_forecasts_from_the_api(api_url: str, tmp_path: Path) -> None:
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("FLOWCAST_")}
    env = {
        **inherited,  # embedded broker and Redis
        "FLOWCAST_API_PORT": str(port),
        "FLOWCAST_ADMIN_PASSWORD": PASSWORD,
        "FLOWCAST_STATE_DIR": str(tmp_path),
        "FLOWCAST_PARTITIONS": "2",
        "FLOWCAST_WORKER_TRACKING": "false",
        "FLOWCAST_LIVE_SINCE": "2023-10-02T23:00:00Z",
        "COLUMNS": "300",
    }
    argv = [sys.executable, "-m", "commands.cli", "up", "--live", api_url, "--every", "1"]
    base = f"http://127.0.0.1:{port}"
    with ManagedProcess("up", argv, tmp_path / "up.log", env=env, grace_s=60) as up:
        up.wait_for(lambda: "Flowcast is up" in up.log_tail(80), 120, "the stack's banner")
        form = {"username": "admin", "password": PASSWORD}
        token = httpx.post(base + "/auth/token", data=form, timeout=10).json()["access_token"]

        def fed() -> bool:
            feed = get(base, "/feed", token)
            return feed is not None and feed["newest_data_hour"] == NEWEST

        up.wait_for(fed, 120, f"GET /feed showing the newest data hour {NEWEST}")
        sample = {record["iu_ac"] for record in api_sample()}

        def forecasts_of_the_newest_hour() -> bool:
            latest = get(base, "/forecasts/latest", token) or []
            rows = latest["forecasts"] if isinstance(latest, dict) else latest
            return any(f["sensor_id"] in sample and f["observed_ts"] == NEWEST for f in rows)

        up.wait_for(forecasts_of_the_newest_hour, 120, "a forecast from the newest API hour")
        assert up.terminate(grace_s=60) == 0
    log = (tmp_path / "logs" / "live.log").read_text()
    assert "poll done" in log and "1360 readings published" in log.replace(",", "")
