"""``flowcast evaluate``: read files, run one honest pass of the core, write the report.

The files are read, validated, ordered and de-duplicated by `producers.files`, optionally
perturbed (`producers.perturb`), and handed to the pure pass `models.backtest.backtest`.
The report is written (and its summary printed) before anything is logged to MLflow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flowcast.records import hour_index
from flowcast.settings import Settings, get_settings
from models.recovery import RecoveryWatch
from models.report_view import summary_table
from producers.files import InputCounts, ordered_readings
from producers.perturb import Perturbation, perturb

if TYPE_CHECKING:
    from models.backtest import PeriodHook, ProgressHook
    from models.tracking import TrackedEvaluation, WeeklyErrors
    from producers.sources.definition import SourceDefinition


def parse_day(text: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (or a full ISO timestamp) as an aware UTC datetime."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def evaluate_files(
    paths: Sequence[Path],
    *,
    score_from: datetime | None = None,
    score_to: datetime | None = None,
    candidates: str = "default",
    console: Console | None = None,
    on_period: PeriodHook | None = None,
    perturbations: Sequence[Perturbation] = (),
    adaptive: bool = True,
    definition: SourceDefinition | None = None,
) -> dict[str, Any]:
    """The report of one pass over the files (see DESIGN.md for its contract).

    ``definition``: the files' source definition (None: built-in Paris formats); the report's
    ``input`` then also counts the hours with too few intervals and the dropped values.

    ``perturbations`` (drift injection, `producers.perturb`) change the readings before the
    core sees them; the report then holds a ``recovery`` block per perturbation (see
    `models.recovery`). ``on_period``: see `models.backtest.backtest`.
    """
    from models.backtest import backtest  # River: seconds to import, only when needed

    counts = InputCounts()
    readings = perturb(ordered_readings(paths, counts, definition), perturbations)
    watches = [RecoveryWatch(hour_index(p.start), p.sensors) for p in perturbations]
    with _progress_bar(console or Console(stderr=True), counts) as on_progress:
        report = backtest(
            readings,
            score_from=score_from,
            score_to=score_to,
            candidates=candidates,
            on_period=on_period,
            watches=watches,
            adaptive=adaptive,
            on_progress=on_progress,
        )
    report["input"] = counts.as_dict()
    report["source"] = definition.model_dump(mode="json") if definition else "paris (built-in)"
    if perturbations:
        report["recovery"] = [
            {"perturbation": _describe(p), "adaptive": adaptive, "sensors": w.summary()}
            for p, w in zip(perturbations, watches, strict=True)
        ]
    return report


@contextlib.contextmanager
def _progress_bar(console: Console, counts: InputCounts) -> Iterator[ProgressHook]:
    """``reading files`` until the first reading, then ``forecasting`` N of M at a rate."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("reading files", total=None, rate="")
        done = 0

        def update(records: int, core_seconds: float) -> None:
            nonlocal done
            if records == 1:
                progress.update(task, description="forecasting", total=counts.order.readings)
            rate = f"{records / core_seconds:,.0f} readings/s" if core_seconds else ""
            progress.update(task, completed=records, rate=rate)
            done = records

        yield update
        progress.update(task, completed=done, total=max(done, 1))


def _describe(p: Perturbation) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "sensors": sorted(p.sensors),
        "from": p.start.isoformat(),
        "factor": p.factor,
        "hours": p.hours,
    }


def run_evaluate(
    paths: Sequence[Path],
    report_path: Path,
    *,
    score_from: str | None = None,
    score_to: str | None = None,
    candidates: str = "default",
    track: bool = True,
    settings: Settings | None = None,
    perturbations: Sequence[Perturbation] = (),
    adaptive: bool = True,
    definition: SourceDefinition | None = None,
) -> TrackedEvaluation | None:
    """The CLI command: evaluate, write the JSON report, print a summary table.

    With ``track`` (the default) the run is then recorded in MLflow and registered as a
    ``flowcast-core`` version (see `models.tracking`), which is returned; ``settings`` give
    the tracking store (default: the process settings). MLflow is imported only then, after
    the report is written; a tracking failure is reported and the command still succeeds.
    """
    console = Console(stderr=True)
    weekly = None
    if track:
        from models.tracking import WeeklyErrors

        weekly = WeeklyErrors()
    report = evaluate_files(
        paths,
        score_from=parse_day(score_from),
        score_to=parse_day(score_to),
        candidates=candidates,
        console=console,
        on_period=weekly,
        perturbations=perturbations,
        adaptive=adaptive,
        definition=definition,
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    console.print(summary_table(report))
    console.print(f"report written to {report_path}")
    if weekly is None:
        return None
    return _track(report, paths, weekly, settings or get_settings(), console)


def _track(
    report: dict[str, Any],
    paths: Sequence[Path],
    weekly: WeeklyErrors,
    settings: Settings,
    console: Console,
) -> TrackedEvaluation | None:
    """Record the run in MLflow behind a progress line; say where it went (or why not)."""
    from models.tracking import target_from_settings, track_evaluation

    target = target_from_settings(settings)
    try:
        with console.status(f"recording the run in MLflow ({target.uri}) …"):
            tracked = track_evaluation(report, paths, weekly, target)
    except Exception as exc:  # the report is written: tracking must not fail the command
        console.print(f"[yellow]MLflow tracking to {target.uri} failed: {exc}[/yellow]")
        return None
    console.print(
        f"tracked run {tracked.run_id} in {tracked.tracking_uri}; flowcast-core version "
        f"{tracked.version} is {tracked.alias}: {tracked.reason}"
    )
    return tracked
