"""``flowcast bench api`` and the WebSocket fan-out benchmark, against the real gateway.

Both start (or reuse, ``FLOWCAST_REDIS_URL``) a Redis, seed it with the latest forecasts the
online core makes over the bundled real readings (written by the worker's own Redis sink), and
run ``python -m commands.cli api`` as a child process on a free loopback port.

- `run_api_bench`: client processes (httpx, HTTP/1.1 keep-alive, ``connections`` in all)
  hammer ``GET /forecasts/{sensor_id}`` (random real ids, bearer token) for ``seconds``, then
  the bare constant endpoint ``GET /health`` for ``seconds``, on the same server. Load runs in
  separate processes from the server; CPU use of server, Redis and clients is reported so the
  bottleneck shows.
- `run_ws_bench`: ``clients`` WebSocket clients on ``/ws/forecasts`` (in client processes);
  ``messages`` real forecasts PUBLISHed on the forecasts channel at a steady rate; latency =
  publish → received by a client, over every (client, message) pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis
from rich.console import Console

from commands.bench.latency import percentile
from commands.embedded import EmbeddedRedis, free_port
from commands.processes import ManagedProcess
from flowcast import redis_keys
from flowcast.records import Forecast, Reading
from flowcast.settings import Settings

FORECAST_PATH = "/forecasts/{sensor_id}"
BASELINE_PATH = "/health"
TRAFFIC_PATTERNS = ("export_*.gz", "historique_*.gz", "extract_*.gz", "api_*.json.gz")
CLK_TCK = os.sysconf("SC_CLK_TCK")
CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


# -- data: real readings → the core → the worker's Redis sink ---------------------------------
def traffic_files(data_dir: Path | None = None) -> list[Path]:
    """The bundled real count files (every format), sorted per pattern."""
    from producers.bundled import bundled_data_dir

    root = data_dir or bundled_data_dir()
    return [path for pattern in TRAFFIC_PATTERNS for path in sorted(root.glob(pattern))]


def real_forecasts(files: Sequence[Path]) -> tuple[list[Reading], list[Forecast], Any]:
    """The files' readings, every forecast the online core makes over them, and the core."""
    from commands.bench.data import real_readings
    from models.core import ForecastCore

    readings, core, forecasts = real_readings(files), ForecastCore(), []
    for reading in readings:
        step = core.process(reading)
        if step.forecast is not None:
            forecasts.append(step.forecast)
    return readings, forecasts, core


def seed_redis(redis_url: str, files: Sequence[Path], history_hours: int = 24 * 14) -> list[str]:
    """Write what a worker would after processing ``files``; the sensors with a forecast."""
    from commands.bench.data import real_readings

    return seed_readings(redis_url, real_readings(files), history_hours)[0]


def seed_readings(
    redis_url: str, readings: Sequence[Reading], history_hours: int = 24 * 14
) -> tuple[list[str], Any]:
    """Run the core over ``readings`` and write its outputs; (sensors with a forecast, core).

    Uses the worker's own batch logic and Redis sink (latest forecasts, last readings, history,
    checkpoints, evaluation), in one transaction.
    """
    import redis.asyncio as aioredis

    from models.core import ForecastCore
    from stream.batch import KafkaRecord, run_batch
    from stream.redis_sink import RedisSink

    core = ForecastCore()
    decoded: list[tuple[KafkaRecord, Reading | Any]] = [
        (KafkaRecord(r.sensor_id.encode(), r.to_json(), None, f"seed@{i}"), r)
        for i, r in enumerate(readings)
    ]
    out = run_batch(core, decoded, "bench")

    async def write() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            await RedisSink(client, history_hours).write(out, core)
        finally:
            await client.aclose()

    asyncio.run(write())
    return sorted(out.latest), core


# -- the gateway under test ---------------------------------------------------------------------
@dataclass
class Stack:
    """A running gateway on a seeded Redis, and a token for it."""

    base_url: str
    redis_url: str
    token: str
    sensors: list[str]
    gateway: ManagedProcess
    redis_pid: int | None = None
    metrics_token: str = ""


def gateway_env(
    redis_url: str, port: int, password: str, ws_clients: int | None = None
) -> dict[str, str]:
    """Environment of the gateway child: this one plus Redis, port and fresh secrets (the
    metrics scrape token is the admin password); ``ws_clients`` raises the WebSocket caps."""
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "FLOWCAST_REDIS_URL": redis_url,
        "FLOWCAST_API_HOST": "127.0.0.1",
        "FLOWCAST_API_PORT": str(port),
        "FLOWCAST_ADMIN_USER": "admin",
        "FLOWCAST_ADMIN_PASSWORD": password,
        "FLOWCAST_JWT_SECRET": secrets.token_urlsafe(32),
        "FLOWCAST_METRICS_TOKEN": password,
    }
    if ws_clients is not None:  # one bench user and address opens them all
        env["FLOWCAST_WS_MAX_PER_USER"] = env["FLOWCAST_WS_MAX_PER_ADDRESS"] = str(ws_clients)
    return env


def get_token(base_url: str, password: str) -> str:
    """A bearer token for the admin."""
    form = {"username": "admin", "password": password}
    response = httpx.post(f"{base_url}/auth/token", data=form, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def gateway_stack(
    settings: Settings, log_dir: Path, out: Console, ws_clients: int | None = None
) -> Iterator[Stack]:
    """Redis (embedded unless configured) seeded with real forecasts, and a gateway child."""
    with ExitStack() as stack:
        redis_url, redis_pid = settings.redis_url, None
        if redis_url is None:
            server = stack.enter_context(EmbeddedRedis(log_dir=log_dir))
            redis_url, redis_pid = server.url, server.pid
        sensors = existing_sensors(redis_url)
        if not sensors:
            out.print("seeding Redis: the online core over the bundled real readings…")
            sensors = seed_redis(redis_url, traffic_files(), settings.history_hours)
        port, password = free_port(), secrets.token_urlsafe(16)
        gateway = ManagedProcess(
            "gateway",
            [sys.executable, "-m", "commands.cli", "api"],
            log_dir / "gateway.log",
            env=gateway_env(redis_url, port, password, ws_clients),
        ).start()
        stack.callback(gateway.terminate)
        base_url = f"http://127.0.0.1:{port}"
        gateway.wait_for(lambda: _answers(base_url + "/health"), 60, "the gateway /health")
        token = get_token(base_url, password)
        yield Stack(base_url, redis_url, token, sensors, gateway, redis_pid, password)


def existing_sensors(redis_url: str) -> list[str]:
    """Sensors that already have a latest forecast (a configured Redis is not re-seeded)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = client.hkeys(redis_keys.LATEST)
        return sorted(k.decode() if isinstance(k, bytes) else str(k) for k in keys)
    finally:
        client.close()


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds so far of a process and its live descendants (0 if unknown).

    Descendants count so that a gateway running ``api_workers`` processes is measured whole.
    """
    if pid is None:
        return 0.0
    total = 0.0
    for one in (pid, *descendants(pid)):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (Linux ``/proc``)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                children = [int(c) for c in task.read_text().split()]
                found += children
                frontier += children
    return found


# -- HTTP load --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadJob:
    """One client process's share of a phase."""

    base_url: str
    token: str
    paths: tuple[str, ...]
    connections: int
    start_at: float  # wall clock (time.time), shared by every client process
    stop_at: float
    seed: int
    client: str = "raw"  # "raw" (minimal keep-alive client) or "httpx"


@dataclass
class LoadStats:
    """What one client process measured inside the window."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_s: float = 0.0


class RawConnection:
    """A minimal HTTP/1.1 keep-alive GET client on one socket (a cheap load generator).

    Only what the gateway's JSON answers need: status line and ``content-length`` bodies.
    """

    def __init__(self, base_url: str, token: str) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self.head = f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> bool:
        """GET ``path``; True on a 200 (a broken connection is reopened next time)."""
        try:
            if self.streams is None:
                self.streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.streams
            writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = CONTENT_LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            return head[9:12] == b"200"
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await self.close()
            return False

    async def close(self) -> None:
        """Close the socket, if open."""
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class HttpxGetter:
    """GETs through a shared ``httpx.AsyncClient`` (its pool keeps connections alive)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, path: str) -> bool:
        """GET ``path``; True on a 200."""
        try:
            return (await self.client.get(path)).status_code == 200
        except httpx.HTTPError:
            return False


async def _one_connection(
    getter: RawConnection | HttpxGetter, job: LoadJob, stats: LoadStats, index: int
) -> None:
    pick = random.Random(job.seed * 100_003 + index).choice
    await getter.get(pick(job.paths))  # open the keep-alive connection before the window
    await asyncio.sleep(max(0.0, job.start_at - time.time()))
    while (now := time.time()) < job.stop_at:
        began = time.perf_counter()
        ok = await getter.get(pick(job.paths))
        if time.time() > job.stop_at or now < job.start_at:
            continue
        stats.latencies_ms.append((time.perf_counter() - began) * 1000)
        stats.errors += not ok


async def _hammer(job: LoadJob) -> LoadStats:
    limits = httpx.Limits(max_connections=job.connections, max_keepalive_connections=None)
    headers = {"Authorization": f"Bearer {job.token}"}
    async with httpx.AsyncClient(
        base_url=job.base_url, headers=headers, limits=limits, timeout=30.0
    ) as client:
        getters: list[RawConnection | HttpxGetter] = [
            RawConnection(job.base_url, job.token) if job.client == "raw" else HttpxGetter(client)
            for _ in range(job.connections)
        ]
        shares = [LoadStats() for _ in getters]
        cpu = time.process_time()
        await asyncio.gather(
            *(
                _one_connection(g, job, s, i)
                for i, (g, s) in enumerate(zip(getters, shares, strict=True))
            )
        )
        cpu = time.process_time() - cpu
        for getter in getters:
            if isinstance(getter, RawConnection):
                await getter.close()
    return LoadStats(
        [x for share in shares for x in share.latencies_ms], sum(s.errors for s in shares), cpu
    )


def load_worker(job: LoadJob) -> LoadStats:
    """Entry point of a client process (uvloop when installed)."""
    try:
        import uvloop

        return uvloop.run(_hammer(job))
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        return asyncio.run(_hammer(job))


def split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as possible (no zero parts).

    >>> split(50, 3)
    [17, 17, 16]
    """
    parts = max(1, min(parts, total))
    return [total // parts + (i < total % parts) for i in range(parts)]


@dataclass(frozen=True)
class LoadPlan:
    """How to load the gateway: connections per client process, window, client kind."""

    conns: list[int]
    seconds: float
    client: str = "raw"


def run_phase(pool: Pool, stack: Stack, paths: Sequence[str], plan: LoadPlan) -> dict[str, Any]:
    """One load phase over every client process; its figures."""
    start_at, seconds = time.time() + 2.0, plan.seconds
    jobs = [
        LoadJob(
            stack.base_url,
            stack.token,
            tuple(paths),
            n,
            start_at,
            start_at + seconds,
            i,
            plan.client,
        )
        for i, n in enumerate(plan.conns)
    ]
    pending = pool.map_async(load_worker, jobs)
    time.sleep(max(0.0, start_at - time.time()))
    server0, redis0 = cpu_seconds(stack.gateway.pid), cpu_seconds(stack.redis_pid)
    time.sleep(max(0.0, start_at + seconds - time.time()))
    server1, redis1 = cpu_seconds(stack.gateway.pid), cpu_seconds(stack.redis_pid)
    results: list[LoadStats] = pending.get(timeout=seconds + 120)
    latencies = [x for r in results for x in r.latencies_ms]
    return phase_summary(latencies, sum(r.errors for r in results), seconds) | {
        "cpu_pct": {
            "server": round(100 * (server1 - server0) / seconds, 1),
            "redis": round(100 * (redis1 - redis0) / seconds, 1),
            "clients": round(100 * sum(r.cpu_s for r in results) / seconds, 1),
        }
    }


def phase_summary(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    """rps and latency percentiles of one phase (``latencies`` in ms, non-empty)."""
    if not latencies:
        raise RuntimeError("no request completed inside the measured window")
    return {
        "rps": round(len(latencies) / seconds, 1),
        "requests": len(latencies),
        "errors": errors,
        **{f"p{q}_ms": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
    }


def run_api_bench(
    settings: Settings,
    *,
    seconds: float,
    connections: int,
    json_path: Path,
    client_processes: int = 1,
    client: str = "raw",
) -> dict[str, Any]:
    """Run both phases on one gateway, write the JSON result (contract keys first), return it.

    ``client``: ``"raw"`` (a minimal keep-alive client, cheap enough that one process loads
    the server fully) or ``"httpx"`` (``httpx.AsyncClient``, ~1 ms of client CPU a request).
    """
    out = Console(stderr=True)
    plan = LoadPlan(split(connections, client_processes), seconds, client)
    with (
        tempfile.TemporaryDirectory(prefix="flowcast-bench-api-") as tmp,
        gateway_stack(settings, Path(tmp), out) as stack,
        multiprocessing.get_context("spawn").Pool(len(plan.conns)) as pool,
    ):
        paths = [FORECAST_PATH.format(sensor_id=s) for s in stack.sensors]
        out.print(
            f"GET {FORECAST_PATH}: {seconds:g} s, {connections} connections, {client} client "
            f"in {len(plan.conns)} process(es), {len(paths)} real sensors"
        )
        endpoint = run_phase(pool, stack, paths, plan)
        out.print(f"GET {BASELINE_PATH} (baseline): {seconds:g} s")
        baseline = run_phase(pool, stack, [BASELINE_PATH], plan)
    extras = {"seconds": seconds, "connections": connections, "client": client}
    extras |= {"client_processes": len(plan.conns), "sensors": len(paths)}
    result = api_result(endpoint, baseline, **extras)
    write_json(json_path, result, out)
    return result


def api_result(endpoint: dict[str, Any], baseline: dict[str, Any], **extras: Any) -> dict[str, Any]:
    """The ``bench api`` JSON: the contract keys, then details."""
    return {
        "rps": endpoint["rps"],
        "p50_ms": endpoint["p50_ms"],
        "p99_ms": endpoint["p99_ms"],
        "errors": endpoint["errors"] + baseline["errors"],
        "baseline_rps": baseline["rps"],
        "ratio_to_baseline": round(endpoint["rps"] / baseline["rps"], 3),
        "endpoint": FORECAST_PATH,
        "baseline_endpoint": BASELINE_PATH,
        **extras,
        "cpu_count": os.cpu_count(),
        "phases": {"endpoint": endpoint, "baseline": baseline},
    }


def write_json(path: Path, result: dict[str, Any], out: Console) -> None:
    """Write ``result`` (indented) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    out.print_json(orjson.dumps(result).decode())


# -- WebSocket fan-out ------------------------------------------------------------------------
@dataclass(frozen=True)
class WsJob:
    """One client process's share of WebSocket clients."""

    url: str
    clients: int
    messages: int
    until: float  # wall clock after which clients give up waiting


def message_key(data: dict[str, Any]) -> str:
    """What identifies a published forecast on the client side."""
    return f"{data.get('sensor_id')}|{data.get('ts')}"


async def _ws_client(job: WsJob, gate: asyncio.Semaphore) -> list[tuple[str, float]]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    received: list[tuple[str, float]] = []
    try:
        async with gate:
            ws = await connect(job.url, open_timeout=60, max_size=2**24, ping_interval=None)
    except (WebSocketException, OSError, TimeoutError):
        return received  # never connected: all its messages count as lost
    try:
        while len(received) < job.messages and (left := job.until - time.time()) > 0:
            raw = await asyncio.wait_for(ws.recv(), left)
            frame, at = orjson.loads(raw), time.time()
            for message in frame["messages"] if frame.get("type") == "batch" else [frame]:
                if message.get("type") == "forecast":
                    received.append((message_key(message["data"]), at))
    except (WebSocketException, TimeoutError, OSError):
        pass  # what did not arrive counts as lost
    finally:
        await ws.close()
    return received


async def _ws_share(job: WsJob) -> list[tuple[str, float]]:
    gate = asyncio.Semaphore(32)  # connect a few at a time: the handshakes queue otherwise
    results = await asyncio.gather(*(_ws_client(job, gate) for _ in range(job.clients)))
    return [item for received in results for item in received]


def ws_worker(job: WsJob) -> list[tuple[str, float]]:
    """Entry point of a WebSocket client process: (message key, receive time) pairs."""
    import uvloop

    return uvloop.run(_ws_share(job))


def connected_clients(base_url: str, metrics_token: str) -> int:
    """The gateway's ``flowcast_ws_clients`` gauge."""
    headers = {"Authorization": f"Bearer {metrics_token}"}
    text = httpx.get(f"{base_url}/metrics", headers=headers, timeout=5).text
    for line in text.splitlines():
        if line.startswith("flowcast_ws_clients "):
            return int(float(line.split()[1]))
    return 0


def pool_children() -> list[Any]:
    """This process's live children that are pool workers (the client processes)."""
    return [p for p in multiprocessing.active_children() if p.pid is not None]


def cpu_of(pids: dict[str, list[int | None]]) -> dict[str, float]:
    """CPU seconds so far of each named group of processes."""
    return {name: sum(cpu_seconds(pid) for pid in group) for name, group in pids.items()}


def publish_paced(redis_url: str, forecasts: Sequence[Forecast], rate: float) -> dict[str, float]:
    """PUBLISH each forecast at ``rate`` per second; key → publish time."""
    client, sent = redis.Redis.from_url(redis_url), {}
    started = time.time()
    try:
        for i, forecast in enumerate(forecasts):
            time.sleep(max(0.0, started + i / rate - time.time()))
            sent[message_key(forecast.to_dict())] = time.time()
            client.publish(redis_keys.FORECASTS_CHANNEL, forecast.to_json())
    finally:
        client.close()
    return sent


def distinct_forecasts(count: int) -> list[Forecast]:
    """``count`` real forecasts with distinct (sensor, hour), from one bundled export."""
    files = traffic_files()
    _, forecasts, _ = real_forecasts(files[:1])
    if len(forecasts) < count:
        raise ValueError(f"only {len(forecasts)} real forecasts available")
    return forecasts[-count:]


def run_ws_bench(
    settings: Settings,
    *,
    clients: int,
    messages: int,
    json_path: Path,
    rate: float = 5.0,
    client_processes: int = 2,
) -> dict[str, Any]:
    """Fan-out latency of ``messages`` forecasts to ``clients`` WebSocket clients."""
    out = Console(stderr=True)
    shares = split(clients, client_processes)
    to_send = distinct_forecasts(messages)
    with (
        tempfile.TemporaryDirectory(prefix="flowcast-bench-ws-") as tmp,
        gateway_stack(settings, Path(tmp), out, ws_clients=clients) as stack,
        multiprocessing.get_context("spawn").Pool(len(shares)) as pool,
    ):
        url = stack.base_url.replace("http", "ws", 1) + f"/ws/forecasts?token={stack.token}"
        until = time.time() + 120 + messages / rate
        pending = pool.map_async(ws_worker, [WsJob(url, n, messages, until) for n in shares])
        began = time.perf_counter()
        stack.gateway.wait_for(
            lambda: connected_clients(stack.base_url, stack.metrics_token) >= clients,
            120,
            f"{clients} WebSocket clients",
        )
        connect_s = time.perf_counter() - began
        out.print(f"{clients} clients connected in {connect_s:.1f} s; publishing {messages}")
        pids = {"server": [stack.gateway.pid], "clients": [p.pid for p in pool_children()]}
        before, started = cpu_of(pids), time.perf_counter()
        sent = publish_paced(stack.redis_url, to_send, rate)
        used, took = cpu_of(pids), time.perf_counter() - started
        received = [
            pair for share in pending.get(timeout=until - time.time() + 60) for pair in share
        ]
    result = ws_result(sent, received, clients=clients, rate=rate)
    result |= {"connect_seconds": round(connect_s, 2), "client_processes": len(shares)}
    result["cpu_pct_while_publishing"] = {
        k: round(100 * (used[k] - before[k]) / took, 1) for k in used
    }
    write_json(json_path, result, out)
    return result


def ws_result(
    sent: dict[str, float], received: list[tuple[str, float]], *, clients: int, rate: float
) -> dict[str, Any]:
    """Delivery figures over every (client, message) pair."""
    latencies = [(at - sent[key]) * 1000 for key, at in received if key in sent]
    expected = clients * len(sent)
    summary = {
        "clients": clients,
        "messages": len(sent),
        "publish_rate_per_s": rate,
        "expected": expected,
        "delivered": len(latencies),
        "lost": expected - len(latencies),
    }
    if latencies:
        summary |= {f"p{q}_ms": round(percentile(latencies, q), 2) for q in (50, 95, 99)}
        summary["max_ms"] = round(max(latencies), 2)
    return summary
