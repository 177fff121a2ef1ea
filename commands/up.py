"""``flowcast up``: the whole system on one machine, fed with the bundled real data.

A thin adapter: embedded (or configured) broker and Redis, the topics, then one stream worker,
one gateway and a replay of ``data/paris`` as child processes, each with its own log file.
Ctrl-C (or SIGTERM/SIGHUP) stops everything in reverse order; a child that dies unexpectedly
stops the stack with a message naming it and its log. Children also die with this process.

Secrets: the embedded Redis gets a password drawn for this stack, which the children receive
in ``FLOWCAST_REDIS_URL``; the JWT secret is drawn too when unset. Neither is ever printed
(the banner and failure messages go through `flowcast.redaction`); only a generated admin
password is shown, since it is how the person at the console logs in.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console

from commands.embedded import Endpoints, port_open, services
from commands.processes import ManagedProcess, ProcessExitedError
from flowcast import redaction
from flowcast.kafka_admin import ensure_topics
from flowcast.settings import Settings
from producers.bundled import bundled_data_dir

REPLAY_PATTERNS = ("export_*.gz", "historique_*.gz", "extract_*.gz")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
SUPERVISE_INTERVAL_S = 0.5
CHILD_GRACE_S = 10.0  # a Faust worker commits offsets and closes its producer on SIGTERM


@dataclass(frozen=True)
class ChildSpec:
    """One child process of the stack: its name (and log file stem) and command."""

    name: str
    argv: tuple[str, ...]
    health_path: str | None = None  # HTTP path on the gateway port that must answer 200
    may_finish: bool = False  # exiting with status 0 is normal (the replay)


@dataclass(frozen=True)
class Secrets:
    """The admin password and JWT secret the children get, and whether we generated them."""

    admin_password: str
    jwt_secret: str
    generated_password: bool
    generated_jwt: bool


def replay_files(data_dir: Path) -> list[Path]:
    """The portal exports, historical and extract files to replay (sorted, per pattern)."""
    files = [path for pattern in REPLAY_PATTERNS for path in sorted(data_dir.glob(pattern))]
    if not files:
        raise FileNotFoundError(f"no {', '.join(REPLAY_PATTERNS)} files in {data_dir}")
    return files


def child_specs(files: Sequence[Path], speed: float) -> list[ChildSpec]:
    """Worker, gateway and replay commands, in start order.

    Each file is replayed by its own process, all at the same speed: the bundled files cover
    different years (2021 to 2024), so the dashboard shows every sensor from the first minute
    instead of waiting simulated years for the later files. Their sensors do not overlap.
    """
    cli = (sys.executable, "-m", "commands.cli")
    replays = [
        ChildSpec(
            f"replay-{path.name.split('.')[0]}",
            (*cli, "replay", str(path), "--speed", format(speed, "g")),
            may_finish=True,
        )
        for path in files
    ]
    return [
        ChildSpec("worker", (*cli, "worker")),
        ChildSpec("api", (*cli, "api"), health_path="/health"),
        *replays,
    ]


def live_specs(url: str, every: float) -> list[ChildSpec]:
    """Worker, gateway and the live feed (`flowcast live`) instead of the replays."""
    cli = (sys.executable, "-m", "commands.cli")
    return [
        ChildSpec("worker", (*cli, "worker")),
        ChildSpec("api", (*cli, "api"), health_path="/health"),
        ChildSpec("live", (*cli, "live", "--url", url, "--every", format(every, "g"))),
    ]


def make_secrets(settings: Settings) -> Secrets:
    """The configured admin password and JWT secret, generating those that are unset."""
    return Secrets(
        admin_password=settings.admin_password or secrets.token_urlsafe(12),
        jwt_secret=settings.jwt_secret or secrets.token_urlsafe(32),
        generated_password=not settings.admin_password,
        generated_jwt=not settings.jwt_secret,
    )


def child_env(settings: Settings, endpoints: Endpoints, keys: Secrets) -> dict[str, str]:
    """This process's environment plus where the services are and the secrets."""
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "FLOWCAST_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "FLOWCAST_REDIS_URL": endpoints.redis_url,
        "FLOWCAST_API_HOST": settings.api_host,
        "FLOWCAST_API_PORT": str(settings.api_port),
        "FLOWCAST_ADMIN_USER": settings.admin_user,
        "FLOWCAST_ADMIN_PASSWORD": keys.admin_password,
        "FLOWCAST_JWT_SECRET": keys.jwt_secret,
    }


def gateway_host(settings: Settings) -> str:
    """The host to reach the gateway at from this machine (loopback for a wildcard bind)."""
    return "127.0.0.1" if settings.api_host in {"0.0.0.0", "", "::"} else settings.api_host


def gateway_url(settings: Settings, path: str = "/") -> str:
    """URL of the gateway as seen from this machine."""
    return f"http://{gateway_host(settings)}:{settings.api_port}{path}"


def answers_200(url: str) -> bool:
    """True when GET `url` answers 200."""
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def run_up(
    settings: Settings, speed: float, *, live: str | None = None, every: float = 600.0
) -> None:
    """Start the stack, replay the bundled data at `speed` (or, with `live`, poll the API at
    that base URL every `every` seconds), serve until Ctrl-C."""
    if live is not None:
        specs = live_specs(live, every)
    else:
        specs = child_specs(replay_files(bundled_data_dir()), speed)
    code = run_stack(settings, specs)
    if code:
        raise SystemExit(code)


def run_stack(
    settings: Settings,
    specs: Sequence[ChildSpec],
    *,
    log_dir: Path | None = None,
    ready_timeout: float = 120.0,
    console: Console | None = None,
) -> int:
    """Run services and `specs` until interrupted (0) or until something fails (1)."""
    out = console or Console()
    logs = (log_dir or settings.state_dir / "logs").resolve()
    stack = contextlib.ExitStack()
    try:
        with _stop_signals_interrupt():
            _start(stack, settings, specs, logs, ready_timeout, out)
        return 0
    except KeyboardInterrupt:
        out.print("[bold]stopping…[/]")
        return 0
    except (ProcessExitedError, TimeoutError, OSError) as failure:
        out.print("flowcast up failed:", style="bold red")
        out.print(redaction.redact(str(failure)), markup=False, highlight=False)
        return 1
    finally:
        with _interrupts_ignored():
            stack.close()
        out.print("stopped; no process left running.")


def _start(
    stack: contextlib.ExitStack,
    settings: Settings,
    specs: Sequence[ChildSpec],
    logs: Path,
    ready_timeout: float,
    out: Console,
) -> None:
    if port_open(gateway_host(settings), settings.api_port):
        raise OSError(f"port {settings.api_port} is already in use: set FLOWCAST_API_PORT")
    out.print(f"starting services (logs in {logs}) …")
    endpoints = stack.enter_context(services(settings, logs))
    ensure_topics(endpoints.kafka_bootstrap, settings)
    keys = make_secrets(settings)
    for secret in (keys.jwt_secret, *settings.secrets()):
        redaction.register_secret(secret)
    env = child_env(settings, endpoints, keys)
    children = {
        spec.name: _launch(stack, spec, env, logs, settings, ready_timeout) for spec in specs
    }
    out.print(banner(settings, endpoints, keys, children))
    supervise(children, {spec.name for spec in specs if spec.may_finish}, out)


def _launch(
    stack: contextlib.ExitStack,
    spec: ChildSpec,
    env: Mapping[str, str],
    logs: Path,
    settings: Settings,
    ready_timeout: float,
) -> ManagedProcess:
    log = logs / f"{spec.name}.log"
    child = ManagedProcess(spec.name, spec.argv, log, env=env, grace_s=CHILD_GRACE_S)
    stack.enter_context(child)
    if spec.health_path is not None:
        url = gateway_url(settings, spec.health_path)
        child.wait_for(lambda: answers_200(url), ready_timeout, f"GET {url} answered 200")
    return child


def supervise(children: Mapping[str, ManagedProcess], may_finish: set[str], out: Console) -> None:
    """Watch the children forever; raise `ProcessExitedError` when one dies unexpectedly."""
    finished: set[str] = set()
    while True:
        for name, child in children.items():
            code = child.returncode
            if code is None or name in finished:
                continue
            if code != 0 or name not in may_finish:
                raise ProcessExitedError(child.describe_failure(f"exited unexpectedly ({code})"))
            finished.add(name)
            out.print(f"{name} finished; still serving. Ctrl-C stops everything.")
        time.sleep(SUPERVISE_INTERVAL_S)


def banner(
    settings: Settings,
    endpoints: Endpoints,
    keys: Secrets,
    children: Mapping[str, ManagedProcess],
) -> str:
    """What a person needs to use the running stack: the admin password only when generated
    (to log in); never the JWT secret nor the Redis password (the children have them)."""
    password = keys.admin_password if keys.generated_password else "(FLOWCAST_ADMIN_PASSWORD)"
    jwt = "generated for this run" if keys.generated_jwt else "from FLOWCAST_JWT_SECRET"
    logs = {**endpoints.logs, **{name: child.log_path for name, child in children.items()}}
    lines = [
        "[bold green]Flowcast is up[/]",
        f"  dashboard   {gateway_url(settings)}",
        f"  admin       user [bold]{settings.admin_user}[/]  password [bold]{password}[/]",
        f"  JWT secret  {jwt} (not shown)",
        f"  kafka       {endpoints.kafka_bootstrap}",
        f"  redis       {redaction.redact(endpoints.redis_url)}",
        *(f"  log         {name:<7} {path}" for name, path in logs.items()),
        "  Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt, like Ctrl-C, for a clean stop."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """Let the orderly shutdown finish even if Ctrl-C is pressed again."""
    stop = (signal.SIGINT, *STOP_SIGNALS)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in stop}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
