"""What the replay shows: a rich progress bar (records/s, simulated clock) and a summary."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from flowcast.records import format_utc
from producers.replay_core import ReplayObserver, ReplayStats


class RateColumn(ProgressColumn):
    """Records per second of a task."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rec/s" if speed else "– rec/s", style="cyan")


class ProgressObserver(ReplayObserver):
    """Drives two tasks: reading (+ sorting) the files, then sending in event-time order."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._read_task = progress.add_task("reading", total=None, clock="")
        self._send_task = progress.add_task("replaying", total=None, clock="", visible=False)
        self._last_sent = 0
        self._read = 0
        self._clock: datetime | None = None

    def read(self, count: int) -> None:
        self._read = count
        self.progress.update(self._read_task, completed=count)

    def sorted(self, readings: int) -> None:
        self.progress.update(self._read_task, total=self._read, completed=self._read)
        self.progress.update(self._send_task, total=readings, visible=True)

    def sent(self, count: int, clock: datetime) -> None:
        self._clock = clock
        if count - self._last_sent >= 500 or count == 1:
            self._last_sent = count
            self.progress.update(self._send_task, completed=count, clock=format_utc(clock))

    def finish(self, stats: ReplayStats) -> None:
        """Show the final count on the replay bar."""
        clock = format_utc(self._clock) if self._clock else ""
        self.progress.update(self._send_task, completed=stats.published, clock=clock)


def make_progress(console: Console) -> Progress:
    """Bar with count, rate, elapsed time and the simulated clock."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("sim {task.fields[clock]}"),
        console=console,
        transient=False,
    )


def summary_table(stats: ReplayStats, dead_letters_published: int) -> Table:
    """read / published / deduplicated / filtered / dead-lettered (per reason) + invariant."""
    table = Table(title="replay summary", show_header=True)
    table.add_column("records")
    table.add_column("count", justify="right")
    table.add_row("read", f"{stats.read:,}")
    table.add_row("published", f"{stats.published:,}")
    table.add_row("deduplicated", f"{stats.deduplicated:,}")
    table.add_row("filtered", f"{stats.filtered:,}")
    table.add_row("dead-lettered", f"{stats.dead_lettered.total():,}")
    for reason, count in sorted(stats.dead_lettered.items()):
        table.add_row(f"  {reason}", f"{count:,}")
    table.add_row("  (sent to dead-letter topic)", f"{dead_letters_published:,}")
    ok = stats.accounted == stats.read
    table.add_row(
        "published + deduplicated + filtered + dead-lettered",
        Text(f"{stats.accounted:,} {'=' if ok else '≠'} read", style="green" if ok else "red"),
    )
    return table
