"""One honest pass of the online core over readings in event-time order (pure, in-process).

Each reading is fed to `ForecastCore`, which scores every forecast against the later
observation (1-hour delayed labels) before learning from it. Where the readings come from
(files, perturbations) is the caller's business: ``flowcast evaluate`` (`commands.evaluate`)
reads and orders files, then hands the readings here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from flowcast.records import Reading, hour_index
from models.candidates import CANDIDATE_SETS
from models.core import ForecastCore, Step
from models.recovery import RecoveryWatch

WEEK = timedelta(days=7)
PROGRESS_EVERY = 5000
PeriodHook = Callable[[ForecastCore, int], None]  # (core, index of the period just ended)
ProgressHook = Callable[[int, float], None]  # (readings processed, seconds inside the core)


def backtest(
    readings: Iterable[Reading],
    *,
    score_from: datetime | None = None,
    score_to: datetime | None = None,
    candidates: str = "default",
    on_period: PeriodHook | None = None,
    period: timedelta = WEEK,
    watches: Sequence[RecoveryWatch] = (),
    adaptive: bool = True,
    on_progress: ProgressHook | None = None,
) -> dict[str, Any]:
    """Run the pass and return the report (see DESIGN.md for its contract).

    ``watches`` collect the served errors and alerts around injected changes (see
    `models.recovery`). ``adaptive``: drift handling on (the default) or off.

    ``on_period`` (optional) is called with the core at the end of every ``period`` of event
    time (counted from the first reading, empty periods skipped) and once after the last one.
    ``on_progress`` is called after the first reading, every `PROGRESS_EVERY` readings and
    at the end.
    """
    core = ForecastCore(
        score_from, score_to, candidates=CANDIDATE_SETS[candidates], adaptive=adaptive
    )
    stream = iter(readings)
    if on_period is not None:
        stream = _with_periods(stream, core, on_period, period)
    started = time.perf_counter()
    records, core_seconds = _feed(core, stream, list(watches), on_progress)
    seconds = time.perf_counter() - started
    report = core.evaluation_report(records=records, seconds=seconds)
    report["core_records_per_s"] = round(records / core_seconds, 1) if core_seconds else 0.0
    report["candidate_set"] = candidates
    report["score_window"] = {
        "from": score_from.isoformat() if score_from else None,
        "to": score_to.isoformat() if score_to else None,
    }
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
    watches: list[RecoveryWatch],
    on_progress: ProgressHook | None,
) -> tuple[int, float]:
    records, core_seconds = 0, 0.0
    process = core.process
    for reading in readings:
        tick = time.perf_counter()
        step = process(reading)
        core_seconds += time.perf_counter() - tick
        if watches:
            _watch(watches, reading, step)
        records += 1
        if on_progress is not None and (records == 1 or records % PROGRESS_EVERY == 0):
            on_progress(records, core_seconds)
    if on_progress is not None:
        on_progress(records, core_seconds)
    return records, core_seconds
