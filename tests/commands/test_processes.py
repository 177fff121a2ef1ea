"""ManagedProcess: log file, polled readiness with clear errors, SIGTERM then SIGKILL."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from commands.processes import ManagedProcess, ProcessExitedError, wait_until


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_output_goes_to_the_log_file(tmp_path: Path) -> None:
    with ManagedProcess("echo", python("print('hello log')"), tmp_path / "echo.log") as proc:
        proc.wait_for(lambda: not proc.alive, 10, "exit", require_alive=False)
    assert proc.returncode == 0
    assert "hello log" in (tmp_path / "echo.log").read_text().splitlines()


def test_wait_for_timeout_names_the_log_and_shows_its_tail(tmp_path: Path) -> None:
    log = tmp_path / "sleeper.log"
    code = "import time; print('still booting', flush=True); time.sleep(60)"
    with ManagedProcess("sleeper", python(code), log) as proc:
        wait_until(lambda: "still booting" in log.read_text().splitlines(), 10, "first output")
        with pytest.raises(TimeoutError) as failure:
            proc.wait_for(lambda: False, 0.2, "never")
    assert str(log) in str(failure.value)
    assert "still booting" in str(failure.value).splitlines()


def test_wait_for_fails_fast_when_the_child_exits(tmp_path: Path) -> None:
    code = "import sys; print('bad config'); sys.exit(3)"
    with (
        ManagedProcess("crasher", python(code), tmp_path / "c.log") as proc,
        pytest.raises(ProcessExitedError, match=r"crasher exited \(3\)"),
    ):
        proc.wait_for(lambda: False, 30, "ready")


def test_terminate_escalates_to_sigkill(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "print('armed', flush=True); time.sleep(60)"
    )
    proc = ManagedProcess("stubborn", python(code), log, grace_s=0.3).start()
    wait_until(lambda: "armed" in log.read_text().splitlines(), 10, "handler installed")

    assert proc.terminate() == -signal.SIGKILL
    assert not proc.alive


def test_terminate_is_graceful_first(tmp_path: Path) -> None:
    proc = ManagedProcess("polite", python("import time; time.sleep(60)"), tmp_path / "p.log")
    proc.start()

    assert proc.terminate() == -signal.SIGTERM


def test_kill_is_immediate_and_repeatable(tmp_path: Path) -> None:
    proc = ManagedProcess("victim", python("import time; time.sleep(60)"), tmp_path / "v.log")
    proc.start()

    assert proc.kill() == -signal.SIGKILL
    assert proc.kill() == -signal.SIGKILL
    assert proc.terminate() == -signal.SIGKILL


def test_env_is_passed(tmp_path: Path) -> None:
    code = "import os; print(os.environ['FLOWCAST_PROBE'])"
    log = tmp_path / "env.log"
    with ManagedProcess("env", python(code), log, env={"FLOWCAST_PROBE": "yes-42"}) as proc:
        proc.wait_for(lambda: not proc.alive, 10, "exit", require_alive=False)
    assert "yes-42" in log.read_text().splitlines()


def test_pid_before_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="never started"):
        _ = ManagedProcess("idle", python("pass"), tmp_path / "i.log").pid
