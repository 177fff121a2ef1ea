"""``flowcast evaluate``: the online core in-process over real files, one honest pass.

Files are read and validated by `producers` (bad records are counted, not fatal), ordered by
event time and de-duplicated, then fed one by one to `ForecastCore`, which scores every
forecast against the later observation (1-hour delayed labels) before learning from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flowcast.records import Reading, hour_index
from flowcast.settings import Settings, get_settings
from models.candidates import CANDIDATE_SETS
from models.core import ForecastCore, Step
from models.costs import measure_costs
from models.perturb import Perturbation, perturb
from models.recovery import RecoveryWatch
from models.report_view import summary_table
from models.tracking import TrackedEvaluation, WeeklyErrors, track_and_print
from producers.normalise import ReadCounts, iter_normalised
from producers.ordering import OrderCounts, order_and_dedupe

COST_SAMPLE = 20_000
WEEK = timedelta(days=7)
PeriodHook = Callable[[ForecastCore, int], None]  # (core, index of the period just ended)


@dataclass
class InputCounts:
    """What reading the files gave: rows, dead letters by reason, duplicates removed."""

    read: ReadCounts = field(default_factory=ReadCounts)
    order: OrderCounts = field(default_factory=OrderCounts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.read.read,
            "readings": self.read.readings,
            "duplicates": self.order.duplicates,
            "dead_letters": dict(self.read.dead_letters),
        }


def parse_day(text: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (or a full ISO timestamp) as an aware UTC datetime."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ordered_readings(paths: Sequence[Path], counts: InputCounts) -> Iterator[Reading]:
    """Every valid reading of the files, in event-time order, duplicates removed."""
    items = iter_normalised(paths, counts.read)
    readings = (item for item in items if isinstance(item, Reading))
    return order_and_dedupe(readings, counts=counts.order)


def evaluate(
    paths: Sequence[Path],
    *,
    score_from: datetime | None = None,
    score_to: datetime | None = None,
    candidates: str = "default",
    console: Console | None = None,
    on_period: PeriodHook | None = None,
    period: timedelta = WEEK,
    perturbations: Sequence[Perturbation] = (),
    adaptive: bool = True,
) -> dict[str, Any]:
    """Run the pass and return the report (see DESIGN.md for its contract).

    ``perturbations`` (drift injection, `models.perturb`) change the readings before the
    core sees them; the report then holds a ``recovery`` block per perturbation (see
    `models.recovery`). ``adaptive``: drift handling on (the default) or off.

    ``on_period`` (optional) is called with the core at the end of every ``period`` of event
    time (counted from the first reading, empty periods skipped) and once after the last one.
    """
    console = console or Console(stderr=True)
    counts = InputCounts()
    core = ForecastCore(
        score_from, score_to, candidates=CANDIDATE_SETS[candidates], adaptive=adaptive
    )
    readings = perturb(ordered_readings(paths, counts), perturbations)
    watches = [RecoveryWatch(hour_index(p.start), p.sensors) for p in perturbations]
    if on_period is not None:
        readings = _with_periods(readings, core, on_period, period)
    started = time.perf_counter()
    records, core_seconds = _feed(core, readings, counts, console, watches)
    seconds = time.perf_counter() - started
    report = core.evaluation_report(records=records, seconds=seconds)
    report["core_records_per_s"] = round(records / core_seconds, 1) if core_seconds else 0.0
    report["input"] = counts.as_dict()
    report["candidate_set"] = candidates
    report["score_window"] = {
        "from": score_from.isoformat() if score_from else None,
        "to": score_to.isoformat() if score_to else None,
    }
    if perturbations:
        report["recovery"] = [
            {"perturbation": _describe(p), "adaptive": adaptive, "sensors": w.summary()}
            for p, w in zip(perturbations, watches, strict=True)
        ]
    report["costs_us_per_reading"] = (
        {} if perturbations else measure_costs(ordered_readings(paths, InputCounts()), COST_SAMPLE)
    )
    return report


def _with_periods(
    readings: Iterator[Reading], core: ForecastCore, hook: PeriodHook, period: timedelta
) -> Iterator[Reading]:
    """Pass ``readings`` through, calling ``hook`` whenever one falls in a later period.

    The consumer processes each reading before asking for the next, so the hook sees the
    core exactly at the period boundary; the cost is one datetime comparison per reading.
    """
    start: datetime | None = None
    index, end = 0, datetime.max.replace(tzinfo=UTC)
    for reading in readings:
        if start is None:
            start, end = reading.ts, reading.ts + period
        elif reading.ts >= end:
            hook(core, index)
            index = (reading.ts - start) // period
            end = start + period * (index + 1)
        yield reading
    if start is not None:
        hook(core, index)


def _describe(p: Perturbation) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "sensors": sorted(p.sensors),
        "from": p.start.isoformat(),
        "factor": p.factor,
        "hours": p.hours,
    }


def _watch(watches: list[RecoveryWatch], reading: Reading, step: Step) -> None:
    sensor = reading.sensor_id
    for watch in watches:
        if step.scored is not None and reading.flow is not None:
            hour = hour_index(reading.ts)
            watch.add(sensor, hour, abs(reading.flow - step.scored.flow), reading.flow)
        if step.alerts:
            watch.add_alerts(sensor, step.alerts)


def _feed(
    core: ForecastCore,
    readings: Iterator[Reading],
    counts: InputCounts,
    console: Console,
    watches: list[RecoveryWatch] | None = None,
) -> tuple[int, float]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("reading files", total=None, rate="")
        records, core_seconds = 0, 0.0
        process = core.process
        for reading in readings:
            if records == 0:
                progress.update(task, description="forecasting", total=counts.order.readings)
            tick = time.perf_counter()
            step = process(reading)
            core_seconds += time.perf_counter() - tick
            if watches:
                _watch(watches, reading, step)
            records += 1
            if records % 5000 == 0:
                rate = f"{records / core_seconds:,.0f} readings/s" if core_seconds else ""
                progress.update(task, completed=records, rate=rate)
        progress.update(task, completed=records, total=max(records, 1))
    return records, core_seconds


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
) -> TrackedEvaluation | None:
    """The CLI command: evaluate, write the JSON report, print a summary table.

    With ``track`` (the default) the run is also recorded in MLflow and registered as a
    ``flowcast-core`` version (see `models.tracking`), which is returned; ``settings`` give
    the tracking store (default: the process settings).
    """
    console = Console(stderr=True)
    weekly = WeeklyErrors() if track else None
    report = evaluate(
        paths,
        score_from=parse_day(score_from),
        score_to=parse_day(score_to),
        candidates=candidates,
        console=console,
        on_period=weekly,
        perturbations=perturbations,
        adaptive=adaptive,
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    console.print(summary_table(report))
    console.print(f"report written to {report_path}")
    if weekly is None:
        return None
    return track_and_print(report, paths, weekly, settings or get_settings(), console)
