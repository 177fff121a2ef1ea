"""The real gateway process (``flowcast api``) logs no token and no secret: logins, WebSockets
with ``?token=``, a Bearer header and the dashboard's first message, bad tokens, a 422 on a
password, all read back from its log file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from commands.bench.api import gateway_env
from commands.embedded import free_port
from commands.processes import ManagedProcess
from commands.up import answers_200

pytestmark = pytest.mark.integration
PASSWORD = "admin-password-for-the-log-test-8c1d"


@dataclass
class Served:
    """The gateway process, where it answers, its environment (secrets) and its log."""

    base: str
    env: dict[str, str]
    process: ManagedProcess
    log_path: Path

    def log(self) -> str:
        """The whole log, once the process has stopped (flushed)."""
        self.process.terminate()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def gateway(redis_url: str, redis_client: object, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = gateway_env(redis_url, port, PASSWORD)
    env["FLOWCAST_METRICS_TOKEN"] = "a-metrics-scrape-token-of-enough-length-77f2"
    log_path = tmp_path / "gateway.log"
    argv = [sys.executable, "-m", "commands.cli", "api"]
    with ManagedProcess("gateway", argv, log_path, env=env) as process:
        base = f"127.0.0.1:{port}"
        process.wait_for(lambda: answers_200(f"http://{base}/health"), 60, "the gateway /health")
        yield Served(base, env, process, log_path)


def test_no_token_or_secret_reaches_the_gateway_log(gateway: Served) -> None:
    base, env = gateway.base, gateway.env
    http = httpx.Client(base_url=f"http://{base}", timeout=30)
    login = http.post("/auth/token", data={"username": "admin", "password": PASSWORD})
    assert login.status_code == 200
    assert login.headers["cache-control"] == "no-store"
    token = login.json()["access_token"]
    assert http.post("/auth/token", data={"username": "admin", "password": "nope"}).is_error
    weak = {"username": "x", "password": "hunter2", "role": "operator"}
    refused = http.post("/admin/users", json=weak, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 422 and "hunter2" not in refused.text
    ws_url = f"ws://{base}/ws/forecasts"
    for url, headers in (
        (f"{ws_url}?token={token}", None),
        (f"{ws_url}?sensors=4264&token={token}", None),
        (ws_url, {"Authorization": f"Bearer {token}"}),
    ):
        with connect(url, additional_headers=headers, open_timeout=10) as ws:
            assert orjson.loads(ws.recv(timeout=10))["type"] == "snapshot"
    with connect(f"{ws_url}?auth=message", open_timeout=10) as ws:  # the dashboard's way
        ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert orjson.loads(ws.recv(timeout=10))["type"] == "snapshot"
    with connect(f"{ws_url}?auth=message", open_timeout=10) as ws:
        ws.send(orjson.dumps({"type": "auth", "token": token + "x"}).decode())
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    with pytest.raises(InvalidStatus), connect(f"{ws_url}?token={token}x", open_timeout=10):
        pass
    scrape = {"Authorization": f"Bearer {env['FLOWCAST_METRICS_TOKEN']}"}
    assert http.get("/metrics", headers=scrape).status_code == 200
    http.close()
    log = gateway.log()
    assert "token=[REDACTED]" in log, "uvicorn's WebSocket line was not logged at all"
    for secret in (
        token,
        token.split(".")[2],  # the signature alone
        env["FLOWCAST_JWT_SECRET"],
        PASSWORD,
        env["FLOWCAST_METRICS_TOKEN"],
    ):
        assert secret not in log
