"""``flowcast up`` plumbing: what it launches, secrets, supervision and a clean stop.

The real worker and gateway are exercised elsewhere; here small stand-in children (a sleeper,
an HTTP server answering /health, a replay that finishes) run under the real supervisor with
the real embedded broker and Redis.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from commands.embedded import Endpoints, free_port, port_open
from commands.processes import wait_until
from commands.up import (
    ChildSpec,
    Secrets,
    banner,
    child_specs,
    gateway_url,
    make_secrets,
    replay_files,
    run_stack,
)
from flowcast.settings import Settings

FAKE_API = """
import http.server, os
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
address = (os.environ["FLOWCAST_API_HOST"], int(os.environ["FLOWCAST_API_PORT"]))
http.server.HTTPServer(address, Health).serve_forever()
"""
SLEEPER = "import os, time; print('pid', os.getpid(), flush=True); time.sleep(600)"
CRASHER = "import os, sys; print('redis at', os.environ['FLOWCAST_REDIS_URL']); sys.exit(3)"
FINISHER = "print('replayed everything')"


def py(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def child_pids(parent: int) -> set[int]:
    """Live (non-zombie) direct children of `parent`."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == parent and fields[0] not in {"Z", "X"}:
            pids.add(int(stat.parent.name))
    return pids


def stack_settings(tmp_path: Path) -> Settings:
    return Settings(
        kafka_bootstrap=None,
        redis_url=None,
        api_port=free_port(),
        state_dir=tmp_path,
        partitions=2,
        admin_password=None,
        jwt_secret=None,
    )


def test_replay_files_are_the_exports_historical_and_extract(data_dir: Path) -> None:
    names = [path.name for path in replay_files(data_dir)]

    assert len(names) == 5
    assert all(name.startswith(("export_", "historique_", "extract_")) for name in names)
    assert "referentiel-comptages-routiers.csv.gz" not in names


def test_child_specs_launch_the_cli_commands(data_dir: Path) -> None:
    files = replay_files(data_dir)

    specs = {spec.name: spec for spec in child_specs(files, 3600.0)}

    replays = [spec for name, spec in specs.items() if name.startswith("replay-")]
    assert list(specs)[:2] == ["worker", "api"] and len(specs) == 2 + len(files)
    assert specs["worker"].argv[-3:] == ("-m", "commands.cli", "worker")
    assert specs["api"].health_path == "/health"
    replayed = set()
    for spec in replays:
        argv = spec.argv
        assert argv[argv.index("--speed") + 1] == "3600"
        assert spec.may_finish
        replayed |= set(argv) & {str(path) for path in files}
    assert replayed == {str(path) for path in files}  # every file, each by one replay
    assert not specs["worker"].may_finish


def test_secrets_are_generated_only_when_unset() -> None:
    generated = make_secrets(Settings(admin_password=None, jwt_secret=None))
    again = make_secrets(Settings(admin_password=None, jwt_secret=None))
    given = make_secrets(Settings(admin_password="pw-from-env", jwt_secret="j" * 40))

    assert generated.generated_password and generated.generated_jwt
    assert generated.admin_password != again.admin_password
    assert len(generated.jwt_secret) >= 32
    assert (given.admin_password, given.jwt_secret) == ("pw-from-env", "j" * 40)
    assert not (given.generated_password or given.generated_jwt)


def test_the_banner_shows_the_generated_admin_password_but_no_other_secret() -> None:
    keys = Secrets("the-admin-password", "the-generated-jwt-secret-0123456789abc", True, True)
    endpoints = Endpoints("127.0.0.1:9092", "redis://:the-redis-password-x1@127.0.0.1:6379/0")
    text = banner(Settings(), endpoints, keys, {})
    assert "the-admin-password" in text
    assert "the-generated-jwt-secret" not in text and "the-redis-password" not in text
    assert "redis://:[REDACTED]@127.0.0.1:6379/0" in text


def test_gateway_url_uses_loopback_for_a_wildcard_bind() -> None:
    assert gateway_url(Settings(api_host="0.0.0.0", api_port=8123)) == "http://127.0.0.1:8123/"


@pytest.mark.integration
def test_a_dying_child_is_named_and_everything_stops(tmp_path: Path) -> None:
    settings = stack_settings(tmp_path)
    specs = [
        ChildSpec("worker", py(CRASHER)),
        ChildSpec("api", py(FAKE_API), health_path="/health"),
        ChildSpec("replay", py(FINISHER), may_finish=True),
    ]
    out = io.StringIO()
    before = child_pids(os.getpid())

    code = run_stack(settings, specs, console=Console(file=out, width=300))

    text = out.getvalue()
    assert code == 1
    assert "worker exited unexpectedly (3)" in text
    assert str(tmp_path / "logs" / "worker.log") in text
    redis_url = re.search(r"redis\s+(redis://\S+)", text)
    assert redis_url is not None
    assert f"redis at {redis_url.group(1)}" in text  # the child got the embedded Redis URL
    # ... with the stack's Redis password, which the console never shows
    child_log = (tmp_path / "logs" / "worker.log").read_text()
    password = re.search(r"redis://:([^@]+)@", child_log)
    assert password is not None and len(password.group(1)) >= 24
    assert password.group(1) not in text and "[REDACTED]" in redis_url.group(1)
    assert child_pids(os.getpid()) == before
    assert not port_open("127.0.0.1", settings.api_port)


RUNNER = """
import sys
from pathlib import Path
from flowcast.settings import Settings
from commands.up import ChildSpec, run_stack
api, sleeper, finisher, port, state = sys.argv[1:]
py = lambda code: (sys.executable, "-c", code)
specs = [
    ChildSpec("worker", py(sleeper)),
    ChildSpec("api", py(api), health_path="/health"),
    ChildSpec("replay", py(finisher), may_finish=True),
]
settings = Settings(kafka_bootstrap=None, redis_url=None, api_port=int(port), state_dir=Path(state))
sys.exit(run_stack(settings, specs))
"""


@pytest.mark.integration
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_stops_everything_cleanly(tmp_path: Path, stop_signal: int) -> None:
    port = free_port()
    argv = [sys.executable, "-c", RUNNER, FAKE_API, SLEEPER, FINISHER, str(port), str(tmp_path)]
    env = {**os.environ, "COLUMNS": "300"}
    up = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        lines: list[str] = []
        assert up.stdout is not None
        while not any("replay finished" in line for line in lines):
            line = up.stdout.readline().decode()
            assert line, "".join(lines)  # EOF before the replay finished: show the output
            lines.append(line)
        stack = child_pids(up.pid)
        assert len(stack) == 4  # broker, Redis, worker, gateway (the replay has finished)

        up.send_signal(stop_signal)
        rest, _ = up.communicate(timeout=60)
    finally:
        up.kill()
        up.wait()
    assert up.returncode == 0
    assert "stopping" in rest.decode()
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in stack), 10, "stack gone")
    assert not port_open("127.0.0.1", port)
