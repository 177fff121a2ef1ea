"""Constants, record builders and request helpers shared by the gateway tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn

from api.catalog import Place
from commands.embedded import free_port
from commands.processes import wait_until
from flowcast.records import ArcState, Forecast, Reading, TrafficState

ADMIN_PASSWORD = "admin-password-for-tests"
OPERATOR_PASSWORD = "operator-password-1"
T0 = datetime(2022, 6, 17, 14, tzinfo=UTC)
PLACES = {
    "4264": Place("4264", "AV_Champs_Elysees", 48.8705, 2.3064),
    "5671": Place("5671", "Convention", 48.8386, 2.2932),
    "191": Place("191", "Sts_Peres", 48.8555, 2.3310),
    "9999": Place("9999", "Far_away", 45.0, 5.0),
}


def make_forecast(sensor_id: str, ts: datetime = T0, flow: float = 500.0) -> Forecast:
    """A Forecast record for ``ts`` (observed one hour before)."""
    return Forecast(
        sensor_id=sensor_id,
        ts=ts,
        observed_ts=ts - timedelta(hours=1),
        flow=flow,
        flow_low=flow * 0.8,
        flow_high=flow * 1.2,
        model="test-model",
        model_version="1",
        produced_at=datetime.now(UTC).replace(microsecond=0),
    )


def make_reading(
    sensor_id: str, ts: datetime = T0, flow: float | None = 480.0, state: str = "fluid"
) -> Reading:
    """A Reading record."""
    return Reading(sensor_id, ts, flow, 12.5, TrafficState(state), ArcState.OPEN, "tests")


def login(client: Any, username: str, password: str) -> str:
    """A bearer token, asserting the login succeeded."""
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def auth(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[int]:
    """``app`` served by a real uvicorn server in a thread, on a free loopback port (yielded)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 20, "uvicorn to start")
        yield port
    finally:
        server.should_exit = True
        thread.join(15)
