"""Child processes that never outlive their parent: one log file each, polled readiness.

`ManagedProcess` runs one command in its own session (so a terminal Ctrl-C reaches only the
parent, which then stops children in order), writes its stdout and stderr to a log file, and
asks Linux to SIGKILL it if the parent dies (``PR_SET_PDEATHSIG``), so even a SIGKILLed
parent leaves no orphan. Every live child is also stopped at interpreter exit.

>>> import sys, tempfile, pathlib
>>> log = pathlib.Path(tempfile.mkdtemp()) / "echo.log"
>>> with ManagedProcess("echo", [sys.executable, "-c", "print('hi')"], log) as p:
...     p.wait_for(lambda: not p.alive, 10, "echo to finish", require_alive=False)
>>> "hi" in p.log_tail().splitlines()
True

Caveat: Linux sends the parent-death signal when the *thread* that started the child exits,
so start children from a thread that lives as long as they should (normally the main thread).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

PR_SET_PDEATHSIG = 1
TAIL_BYTES = 8192
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_LIVE: set[ManagedProcess] = set()


class ProcessExitedError(RuntimeError):
    """A child exited while it was expected to run (the message names its log file)."""


def _death_signal_preexec(sig: int) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child receive `sig` when the parent dies."""
    parent = os.getpid()

    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def read_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a (possibly missing) text file."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - TAIL_BYTES))
            data = f.read()
    except FileNotFoundError:
        return "(no log file)"
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, *, interval: float = 0.05
) -> None:
    """Poll `predicate` until it is true, or raise `TimeoutError` naming `what`.

    >>> wait_until(lambda: True, timeout=1, what="truth")
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class ManagedProcess:
    """One child process with a log file, a parent-death signal and a clean stop.

    Parameters
    ----------
    name
        Short label used in messages (``"worker"``, ``"redis"``).
    argv
        The command and its arguments.
    log_path
        File receiving stdout and stderr (appended to, so restarts keep history).
    env
        Full environment of the child (default: the parent's).
    grace_s
        Seconds between SIGTERM and SIGKILL in `terminate`.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        grace_s: float = 5.0,
        death_signal: int = signal.SIGKILL,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.grace_s = grace_s
        self.death_signal = death_signal
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        """Launch the command (a no-op if it is already running)."""
        if self.alive:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"=== {datetime.now(UTC).isoformat()} start {self.argv}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_death_signal_preexec(self.death_signal),  # noqa: PLW1509
            )
        _LIVE.add(self)
        return self

    @property
    def pid(self) -> int:
        """Process id of the (last) child; raises if never started."""
        return self._require().pid

    @property
    def alive(self) -> bool:
        """True while the child runs."""
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """Exit status once the child has exited (negative = killed by that signal)."""
        return None if self._popen is None else self._popen.poll()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log file."""
        return read_tail(self.log_path, lines)

    def describe_failure(self, problem: str) -> str:
        """A message naming the process, the problem, the log file and its tail."""
        return (
            f"{self.name} {problem}; see {self.log_path}\n"
            f"--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        what: str,
        *,
        interval: float = 0.05,
        require_alive: bool = True,
    ) -> None:
        """Poll `predicate` until it is true; fail fast if the child exits first.

        Raises `TimeoutError` after `timeout` seconds and `ProcessExitedError` if the child
        exits while waiting (unless `require_alive` is false); both name the log file.
        """
        deadline = time.monotonic() + timeout
        while True:
            if require_alive and not self.alive:
                code = self.returncode
                raise ProcessExitedError(self.describe_failure(f"exited ({code}) before {what}"))
            if predicate():
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(self.describe_failure(f"not ready: {what} after {timeout}s"))
            time.sleep(interval)

    def terminate(self, grace_s: float | None = None) -> int | None:
        """SIGTERM the child's process group, SIGKILL it after the grace period; reap it."""
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            _signal_group(popen.pid, signal.SIGTERM)
            try:
                popen.wait(self.grace_s if grace_s is None else grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait()
        return self._reaped(popen)

    def kill(self) -> int | None:
        """SIGKILL the child's process group at once (a crash, for fault tests); reap it."""
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            _signal_group(popen.pid, signal.SIGKILL)
            popen.wait()
        return self._reaped(popen)

    def _reaped(self, popen: subprocess.Popen[bytes]) -> int | None:
        _signal_group(popen.pid, signal.SIGKILL)  # stragglers the child left in its group
        _LIVE.discard(self)
        return popen.returncode

    def _require(self) -> subprocess.Popen[bytes]:
        if self._popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._popen

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.terminate()

    def __repr__(self) -> str:
        state = "alive" if self.alive else f"exited={self.returncode}"
        return f"ManagedProcess({self.name!r}, pid={self._popen and self._popen.pid}, {state})"


def _signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to a process group, ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@atexit.register
def stop_all() -> None:
    """Stop every child still running (registered with `atexit`)."""
    for process in list(_LIVE):
        process.terminate(grace_s=2.0)
