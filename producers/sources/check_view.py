"""Rich tables for ``flowcast sources check`` (see `producers.sources.check`)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flowcast.records import hour_start
from producers.sources.check import CheckSummary

MAX_SENSORS_SHOWN = 30
PARIS = ZoneInfo("Europe/Paris")


def _when(hour: int) -> str:
    return hour_start(hour).strftime("%Y-%m-%d %H:%M")


def _local(ts: datetime, zone: ZoneInfo) -> str:
    return ts.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def describe_source(summary: CheckSummary) -> str:
    builtin = summary.builtin
    if summary.definition is None and builtin is not None:
        b = builtin.definition
        return (
            f"{b.name}, built-in (detected from the content: {builtin.described}), "
            f"{b.layout}, hourly, calendar {b.calendar_text}"
        )
    d = summary.definition
    if d is None:
        return "built-in Paris format (detected from the content), hourly, Europe/Paris|FR|"
    shape = f"{d.layout}, {d.interval_minutes}-min values"
    if d.intervals_per_hour > 1:
        shape += (
            f" → hourly {d.aggregate} (an hour needs ≥ {d.min_complete:.0%} of its "
            f"{d.intervals_per_hour} intervals)"
        )
    return f"{d.name} ({shape}), calendar {d.calendar_text}"


def _heading(summary: CheckSummary) -> Text:
    sample = "the whole file" if summary.stopped_by is None else summary.stopped_by
    counts = summary.counts
    text = Text()
    text.append(f"{summary.path}\n", style="bold")
    text.append(f"source: {describe_source(summary)}\n")
    text.append(
        f"sample: {sample} — {counts.read:,} rows → {counts.readings:,} hourly readings, "
        f"{counts.dead_letters.total():,} dead letters, in {summary.seconds:.2f} s"
    )
    span = summary.span
    if span is not None:
        text.append(f"\ntime range (UTC): {_when(span[0])} → {_when(span[1])}")
    return text


def sensors_table(summary: CheckSummary) -> Table:
    table = Table(title=f"Sensors ({len(summary.sensors):,})", title_justify="left")
    for column in ("sensor id", "readings", "with flow", "incomplete", "first (UTC)",
                   "last (UTC)", "cadence", "missing hours", "longest gap"):  # fmt: skip
        table.add_column(column, justify="left" if column == "sensor id" else "right")
    ordered = sorted(summary.sensors.values(), key=lambda s: s.sensor_id)
    for sensor in ordered[:MAX_SENSORS_SHOWN]:
        table.add_row(
            sensor.sensor_id, f"{sensor.readings:,}", f"{sensor.with_flow:,}",
            f"{sensor.incomplete:,}", _when(sensor.first), _when(sensor.last),
            f"{sensor.cadence_hours} h" if sensor.cadence_hours else "—",
            f"{sensor.missing_hours:,}", f"{sensor.longest_gap:,} h",
        )  # fmt: skip
    if len(ordered) > MAX_SENSORS_SHOWN:
        table.caption = f"… and {len(ordered) - MAX_SENSORS_SHOWN:,} more sensors"
    return table


def readings_table(summary: CheckSummary) -> Table:
    zone = summary.definition.zone if summary.definition else PARIS
    table = Table(title="First normalised readings", title_justify="left")
    for column in ("sensor id", "hour (UTC)", "local hour", "flow (veh/h)", "calendar", "note"):
        table.add_column(column, justify="right" if column == "flow (veh/h)" else "left")
    for reading in summary.first_readings:
        note = reading.source.partition("|")[2]
        flow = "—" if reading.flow is None else f"{reading.flow:,.0f}"
        table.add_row(
            reading.sensor_id, reading.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            _local(reading.ts, zone), flow, reading.calendar or "Paris", note,
        )  # fmt: skip
    return table


def problems_table(summary: CheckSummary) -> Table:
    table = Table(title="Dead letters and dropped values", title_justify="left")
    for column in ("reason", "count", "first example"):
        table.add_column(column, justify="right" if column == "count" else "left")
    counts = summary.counts
    for reason, count in sorted(counts.dead_letters.items()):
        example = summary.examples.get(reason)
        where = f"{example.position}: {example.detail}" if example else ""
        table.add_row(f"dead letter: {reason}", f"{count:,}", where)
    for reason, count in sorted(counts.dropped.items()):
        table.add_row(f"dropped value: {reason}", f"{count:,}", "")
    duplicates = sum(s.duplicates for s in summary.sensors.values())
    if duplicates:
        table.add_row("duplicate hour (the first with a flow is kept)", f"{duplicates:,}", "")
    if counts.incomplete_hours:
        table.add_row("hour with too few intervals (no flow)", f"{counts.incomplete_hours:,}", "")
    if not table.rows:
        table.add_row("none", "0", "")
    return table


def check_report(summary: CheckSummary) -> RenderableType:
    """Everything ``sources check`` prints."""
    return Group(
        _heading(summary), sensors_table(summary), readings_table(summary),
        problems_table(summary),
    )  # fmt: skip
