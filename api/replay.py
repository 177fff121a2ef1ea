"""Start and stop one ``flowcast replay`` subprocess on behalf of an admin.

Only files inside the data directory can be replayed (an admin API is not a file browser).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from producers.bundled import bundled_data_dir


class ReplayError(ValueError):
    """A replay request that cannot be honoured (bad path, already running...)."""


@dataclass(frozen=True, slots=True)
class ReplayStatus:
    """Whether a replay runs, its pid, and the exit code of the last one."""

    running: bool
    pid: int | None
    returncode: int | None


class ReplayManager:
    """At most one replay child at a time."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._data_dir = data_dir
        self._proc: asyncio.subprocess.Process | None = None

    def status(self) -> ReplayStatus:
        """The current state."""
        proc = self._proc
        if proc is None:
            return ReplayStatus(False, None, None)
        return ReplayStatus(proc.returncode is None, proc.pid, proc.returncode)

    @property
    def data_dir(self) -> Path:
        """The directory replays may read (default: the bundled data)."""
        return (self._data_dir or bundled_data_dir()).resolve()

    def resolve(self, names: list[str]) -> list[Path]:
        """Data files named relative to the data directory; the whole directory if none."""
        try:
            data_dir = self.data_dir
        except FileNotFoundError as exc:
            raise ReplayError(f"no data directory on this gateway: {exc}") from None
        if not names:
            return sorted(p for p in data_dir.iterdir() if p.is_file())
        paths = [(data_dir / n).resolve() for n in names]
        for name, path in zip(names, paths, strict=True):
            if not path.is_relative_to(data_dir) or not path.is_file():
                raise ReplayError(f"no data file {name!r} in the data directory")
        return paths

    async def start(self, names: list[str], speed: str, env: dict[str, str]) -> ReplayStatus:
        """Launch ``flowcast replay`` over the files (environment ``env`` added)."""
        if self.status().running:
            raise ReplayError("a replay is already running; stop it first")
        paths = self.resolve(names)
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "commands.cli",
            "replay",
            *map(str, paths),
            "--speed",
            speed,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
        )
        return self.status()

    async def stop(self, grace_s: float = 5.0) -> ReplayStatus:
        """Terminate the running replay (kill after ``grace_s``); no-op if none."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), grace_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        return self.status()
