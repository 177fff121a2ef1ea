"""``flowcast bench login``: a legitimate login's latency during a login flood, on the real gateway.

Starts (or reuses, ``FLOWCAST_REDIS_URL``) a Redis and ``python -m commands.cli api`` on a
free loopback port, then, in one run:

1. reference: the admin logs in ``REFERENCE_LOGINS`` times with nothing else going on, and
   ``GET /health`` (a constant endpoint) is timed;
2. flood: ``connections`` concurrent clients post random usernames and passwords for
   ``seconds`` from another loopback address (``127.0.0.2``: the gateway sees another
   client; a process of its own), while the admin logs in every ``LEGIT_EVERY_S`` from
   ``127.0.0.1`` and ``/health`` is timed again.

The result gives the flood's rate and outcomes (the gateway's own login counters: how many
were hashed, how many refused before hashing) beside the legitimate logins' latency and the
reference measured in the same run. On a small machine the flood process takes CPU from the
gateway too, which the figures include.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from commands.bench.api import gateway_env, write_json
from commands.bench.latency import percentile
from commands.embedded import EmbeddedRedis, free_port
from commands.processes import ManagedProcess
from flowcast.settings import Settings

FLOOD_ADDRESS = "127.0.0.2"
LEGIT_ADDRESS = "127.0.0.1"
REFERENCE_LOGINS = 10
LEGIT_EVERY_S = 0.25


@dataclass
class Gateway:
    """A gateway child on a free port, the admin's password and the scrape token."""

    base_url: str
    password: str
    process: ManagedProcess


@contextmanager
def login_gateway(settings: Settings, log_dir: Path) -> Iterator[Gateway]:
    """Redis (embedded unless configured) and a gateway child with a fresh admin."""
    with ExitStack() as stack:
        redis_url = settings.redis_url
        if redis_url is None:
            redis_url = stack.enter_context(EmbeddedRedis(log_dir=log_dir)).url
        port, password = free_port(), secrets.token_urlsafe(16)
        process = ManagedProcess(
            "gateway",
            [sys.executable, "-m", "commands.cli", "api"],
            log_dir / "gateway.log",
            env=gateway_env(redis_url, port, password),
        ).start()
        stack.callback(process.terminate)
        base_url = f"http://127.0.0.1:{port}"
        process.wait_for(lambda: _answers(base_url + "/health"), 60, "the gateway /health")
        yield Gateway(base_url, password, process)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def summary_ms(values: list[float]) -> dict[str, float | int]:
    """p50 / p95 / max in milliseconds, and how many."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "max": 0.0, "n": 0}
    ms = [v * 1000 for v in values]
    return {
        "p50": round(percentile(ms, 50), 1),
        "p95": round(percentile(ms, 95), 1),
        "max": round(max(ms), 1),
        "n": len(ms),
    }


async def _timed(client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> tuple[int, float]:
    started = time.perf_counter()
    response = await client.request(method, path, **kw)
    return response.status_code, time.perf_counter() - started


async def _legit(client: httpx.AsyncClient, password: str, until: float) -> list[tuple[int, float]]:
    results = []
    form = {"username": "admin", "password": password}
    while time.monotonic() < until:
        results.append(await _timed(client, "POST", "/auth/token", data=form))
        await asyncio.sleep(LEGIT_EVERY_S)
    return results


async def _health(client: httpx.AsyncClient, until: float) -> list[float]:
    took = []
    while time.monotonic() < until:
        took.append((await _timed(client, "GET", "/health"))[1])
        await asyncio.sleep(0.05)
    return took


async def _flooder(client: httpx.AsyncClient, until: float, codes: Counter[int]) -> None:
    while time.monotonic() < until:
        form = {"username": secrets.token_hex(6), "password": secrets.token_hex(8)}
        try:
            response = await client.post("/auth/token", data=form)
        except httpx.HTTPError:
            codes[0] += 1
            continue
        codes[response.status_code] += 1


def login_counts(base_url: str, token: str) -> dict[str, int]:
    """The gateway's ``flowcast_login_attempts_total`` by outcome."""
    text = httpx.get(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).text
    counts = {}
    for line in text.splitlines():
        if line.startswith('flowcast_login_attempts_total{outcome="'):
            outcome = line.split('"')[1]
            counts[outcome] = int(float(line.rsplit(" ", 1)[1]))
    return counts


async def _flood(base_url: str, until: float, connections: int) -> dict[int, int]:
    codes: Counter[int] = Counter()
    transport = httpx.AsyncHTTPTransport(local_address=FLOOD_ADDRESS)
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(
        base_url=base_url, transport=transport, timeout=60, limits=limits
    ) as flood:
        await asyncio.gather(*(_flooder(flood, until, codes) for _ in range(connections)))
    return dict(codes)


def flood_process(base_url: str, seconds: float, connections: int) -> tuple[dict[int, int], float]:
    """The flood, in a process of its own (so that it does not slow the measuring client):
    status code → count, and how long it ran."""
    started = time.perf_counter()
    codes = asyncio.run(_flood(base_url, time.monotonic() + seconds, connections))
    return codes, time.perf_counter() - started


async def _measure(base_url: str, password: str, seconds: float, flood: Any) -> dict[str, Any]:
    """Reference logins and /health, then the same while ``flood`` (a pending result) runs."""
    transport = httpx.AsyncHTTPTransport(local_address=LEGIT_ADDRESS)
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=60) as legit:
        form = {"username": "admin", "password": password}
        reference = [
            await _timed(legit, "POST", "/auth/token", data=form) for _ in range(REFERENCE_LOGINS)
        ]
        health_reference = await _health(legit, time.monotonic() + 1.0)
        until = time.monotonic() + seconds
        flood.start(until)
        during, health = await asyncio.gather(_legit(legit, password, until), _health(legit, until))
    return {
        "reference": reference,
        "health_reference": health_reference,
        "during": during,
        "health": health,
    }


class _Flood:
    """The flood process, started when the measuring client is ready."""

    def __init__(self, pool: Any, base_url: str, connections: int) -> None:
        self.pool, self.base_url, self.connections = pool, base_url, connections
        self.pending: Any = None

    def start(self, until: float) -> None:
        seconds = max(0.5, until - time.monotonic())
        args = (self.base_url, seconds, self.connections)
        self.pending = self.pool.apply_async(flood_process, args)

    def result(self) -> tuple[dict[int, int], float]:
        codes, took = self.pending.get(timeout=120)
        return codes, took


def run_login_bench(
    settings: Settings, *, seconds: float, connections: int, json_path: Path
) -> dict[str, Any]:
    """Flood the login for ``seconds`` with ``connections`` clients; write the JSON result."""
    out = Console(stderr=True)
    with (
        tempfile.TemporaryDirectory(prefix="flowcast-bench-login-") as tmp,
        login_gateway(settings, Path(tmp)) as gateway,
        multiprocessing.get_context("spawn").Pool(1) as pool,
    ):
        out.print(f"flooding /auth/token for {seconds:g} s with {connections} clients …")
        flood = _Flood(pool, gateway.base_url, connections)
        run = asyncio.run(_measure(gateway.base_url, gateway.password, seconds, flood))
        run["codes"], run["took"] = flood.result()
        counts = login_counts(gateway.base_url, gateway.password)
    result = login_result(run, counts, seconds=seconds, connections=connections)
    write_json(json_path, result, out)
    return result


def login_result(
    run: dict[str, Any], counts: dict[str, int], *, seconds: float, connections: int
) -> dict[str, Any]:
    """The JSON result of one run (see the module docstring)."""
    codes: dict[int, int] = run["codes"]
    attempts = sum(codes.values())
    during = run["during"]
    legit = summary_ms([t for status, t in during if status == 200])
    reference = summary_ms([t for status, t in run["reference"] if status == 200])
    return {
        "seconds": seconds,
        "connections": connections,
        "flood": {
            "attempts": attempts,
            "attempts_per_s": round(attempts / run["took"], 1),
            "by_status": {str(code): n for code, n in sorted(codes.items())},
            "gateway_outcomes": counts,
        },
        "legit_login_ms": legit,
        "legit_refused": sum(1 for status, _ in during if status != 200),
        "reference_login_ms": reference,
        "legit_p50_ratio_to_reference": (
            round(legit["p50"] / reference["p50"], 2) if reference["p50"] else None
        ),
        "health_ms": summary_ms(run["health"]),
        "reference_health_ms": summary_ms(run["health_reference"]),
    }
