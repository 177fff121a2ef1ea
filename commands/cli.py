"""The ``flowcast`` command line: one console script, one sub-command per job.

Each command parses its options, builds the `Settings` once and hands them to the module that
does the work; every import beyond typer happens inside the command that needs it, so
``flowcast --help`` (and a mistyped option) answers at once.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from flowcast.settings import Settings

app = typer.Typer(
    help="Flowcast: streaming next-hour traffic forecasts for the Paris road counters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks that write JSON results.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
sources_app = typer.Typer(
    help="Source definitions: read other cities' counts files (see README).",
    no_args_is_help=True,
)
app.add_typer(sources_app, name="sources")


def get_settings() -> Settings:
    """The process settings (pydantic-settings is imported only by commands that run)."""
    from flowcast.settings import get_settings as process_settings

    return process_settings()


PathsArg = Annotated[
    list[Path],
    typer.Argument(
        help="OpenData files (portal CSV export, historical CSV, API JSON; plain or .gz)",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]


SourceOpt = Annotated[
    Path | None,
    typer.Option(
        "--source",
        help="TOML source definition for files not in a built-in (Paris) format: columns, "
        "layout, cadence, timezone (see README, 'Bring your own city')",
        dir_okay=False,
    ),
]


def _fail(message: str) -> typer.Exit:
    """Print one clear line on stderr; the command exits with code 2 (bad input)."""
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {message}", soft_wrap=True)
    return typer.Exit(2)


PerturbOpt = Annotated[
    list[str] | None,
    typer.Option(
        help="inject drift (repeatable), e.g. scale:sensors=4264:from=2022-06-01:factor=0.5, "
        "freeze|zero:sensors=191:from=DATE:hours=12, shift:sensors=191:from=DATE:hours=2"
    ),
]


@app.command()
def up(
    speed: Annotated[float, typer.Option(help="simulated seconds per real second")] = 3600.0,
    live: Annotated[
        str | None,
        typer.Option(
            "--live",
            metavar="BASE",
            help="feed the stack from the open-data API at BASE (e.g. https://opendata.paris.fr) "
            "with `flowcast live` instead of replaying the bundled data",
        ),
    ] = None,
    every: Annotated[
        float | None,
        typer.Option(min=0.1, help="with --live: seconds between polls (default: 600)"),
    ] = None,
) -> None:
    """Start the embedded stack (broker, Redis, worker, gateway) and replay the bundled data,
    or poll the live open-data API (--live)."""
    from commands.up import run_up

    settings = get_settings()
    if live is not None:
        run_up(settings, speed=speed, live=live, every=every or settings.live_every_s)
    else:
        run_up(settings, speed=speed)


@app.command()
def replay(
    paths: PathsArg,
    speed: Annotated[
        str, typer.Option(help="'max', or simulated seconds per real second (3600 = 1 h/s)")
    ] = "max",
    start: Annotated[
        str | None, typer.Option(help="skip readings before this date (YYYY-MM-DD, UTC)")
    ] = None,
    days: Annotated[
        int | None, typer.Option(min=1, help="replay this many days from --start")
    ] = None,
    sensors: Annotated[
        str | None, typer.Option(help="comma-separated sensor ids to keep (default: all)")
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="JSON file of the delivered position; a re-run with it resumes there"),
    ] = None,
    perturb: PerturbOpt = None,
    source: SourceOpt = None,
) -> None:
    """Replay OpenData records into Kafka as simulated days."""
    from commands.replay import run_replay

    raise typer.Exit(
        run_replay(
            get_settings(),
            paths,
            speed=speed,
            start=date.fromisoformat(start) if start else None,
            days=days,
            sensors=frozenset(s.strip() for s in sensors.split(",") if s.strip())
            if sensors
            else None,
            checkpoint=checkpoint,
            perturb=perturb or [],
            source=source,
        )
    )


@app.command()
def live(
    url: Annotated[
        str | None,
        typer.Option(
            help="base URL of the Explore API v2.1 (default: FLOWCAST_LIVE_URL, "
            "https://opendata.paris.fr)"
        ),
    ] = None,
    every: Annotated[
        float | None,
        typer.Option(min=0.1, help="seconds between polls (default: FLOWCAST_LIVE_EVERY_S, 600)"),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="first hour to read, ISO 8601 (UTC without an offset), for a feed "
            "with no saved mark (default: FLOWCAST_LIVE_SINCE, else 3 hours ago); a saved mark "
            "resumes instead"
        ),
    ] = None,
) -> None:
    """Poll the city's open-data API for new hourly records and publish them to `readings`.

    Resumable: its mark lives in Kafka; a restart publishes nothing twice. Ctrl-C stops after
    the current page.
    """
    from commands.live import run_live
    from producers.live.loop import LiveOptions, parse_since

    settings = get_settings()
    text = since or settings.live_since
    try:
        first = parse_since(text) if text else None
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: {exc}", param_hint="--since") from None
    options = LiveOptions(url or settings.live_url, every or settings.live_every_s, first)
    raise typer.Exit(run_live(settings, options))


@app.command()
def worker(
    track: Annotated[
        bool | None,
        typer.Option(
            "--track/--no-track", help="log to MLflow (default: FLOWCAST_WORKER_TRACKING)"
        ),
    ] = None,
) -> None:
    """Run one stream worker (configured by FLOWCAST_* environment variables)."""
    from stream.worker import run_worker

    settings = get_settings()
    run_worker(settings, track=settings.worker_tracking if track is None else track)


@app.command()
def api() -> None:
    """Run one gateway (REST, WebSocket, dashboard) on FLOWCAST_API_PORT."""
    from api.server import run_api

    run_api(get_settings())


@app.command()
def evaluate(
    paths: PathsArg,
    report: Annotated[Path, typer.Option(help="where to write the JSON report")],
    score_from: Annotated[
        str | None, typer.Option(help="score forecasts for hours from this date (UTC)")
    ] = None,
    score_to: Annotated[
        str | None, typer.Option(help="score forecasts for hours before this date (UTC)")
    ] = None,
    candidates: Annotated[
        str, typer.Option(help="candidate set: 'default', or 'all' (adds the Hoeffding tree)")
    ] = "default",
    track: Annotated[
        bool,
        typer.Option(
            "--track/--no-track", help="record the run in MLflow and register a core version"
        ),
    ] = True,
    perturb: PerturbOpt = None,
    drift_handling: Annotated[
        bool, typer.Option(help="start challengers on confirmed drift (off: detect only)")
    ] = True,
    source: SourceOpt = None,
) -> None:
    """Run the online core in-process over files with honest 1-hour delayed labels."""
    from commands.evaluate import run_evaluate
    from producers.formats import UnknownFormatError
    from producers.perturb_spec import parse_perturbations
    from producers.sources import DefinitionError, load_definition

    try:
        definition = load_definition(source) if source is not None else None
        run_evaluate(
            paths,
            report,
            score_from=score_from,
            score_to=score_to,
            candidates=candidates,
            track=track,
            settings=get_settings(),
            perturbations=parse_perturbations(perturb),
            adaptive=drift_handling,
            definition=definition,
        )
    except (DefinitionError, UnknownFormatError) as exc:
        raise _fail(str(exc)) from None


@sources_app.command("check")
def sources_check(
    path: Annotated[Path, typer.Argument(help="the counts file to check (CSV, plain or .gz)")],
    source: SourceOpt = None,
    rows: Annotated[
        int, typer.Option(min=1, help="read at most this many rows of the file")
    ] = 50_000,
    seconds: Annotated[
        float, typer.Option(min=0.1, help="stop reading after this many seconds")
    ] = 10.0,
) -> None:
    """Show how a file parses under a source definition (sensors, time range, cadence, gaps,
    first readings, dead letters) from a sample: the first --rows rows or --seconds seconds."""
    from producers.sources.check_command import run_sources_check

    raise typer.Exit(run_sources_check(path, source, max_rows=rows, max_seconds=seconds))


@bench_app.command("sources")
def bench_sources(
    seconds: Annotated[float, typer.Option(min=0.1, help="time per reader")] = 3.0,
    json_path: Annotated[Path, typer.Option("--json", help="where to write the result")] = Path(
        "bench-sources.json"
    ),
) -> None:
    """Hourly readings/s from each bundled layout (long 5-min, wide 15-min, hourly series)
    against the Paris reader, in one run."""
    from rich.console import Console

    from commands.bench.sources import run_sources_bench

    Console().print_json(data=run_sources_bench(seconds=seconds, json_path=json_path))


@bench_app.command("pipeline")
def bench_pipeline(
    records: Annotated[int, typer.Option(min=100, help="how many real readings to push")] = 50_000,
    json_path: Annotated[Path, typer.Option("--json", help="where to write the result")] = Path(
        "bench-pipeline.json"
    ),
    workers: Annotated[int, typer.Option(min=1, help="stream workers in the group")] = 1,
) -> None:
    """End-to-end benchmark: broker → worker → Redis, against the in-process core."""
    from commands.bench.pipeline import run_pipeline_bench

    run_pipeline_bench(get_settings(), records=records, json_path=json_path, workers=workers)


@bench_app.command("core")
def bench_core(
    json_path: Annotated[Path, typer.Option("--json", help="where to write the result")] = Path(
        "bench-core.json"
    ),
    records: Annotated[
        int | None,
        typer.Option(min=1000, help="readings per run (default: every bundled real reading)"),
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="runs of each; the best is reported")] = 5,
) -> None:
    """The whole core in-process against a bare River loop, same run, same readings."""
    from commands.bench.core import run_core_bench

    run_core_bench(records=records, runs=runs, json_path=json_path)


@bench_app.command("api")
def bench_api(
    seconds: Annotated[float, typer.Option(min=1, help="duration of each phase")] = 10.0,
    connections: Annotated[int, typer.Option(min=1, help="concurrent HTTP connections")] = 50,
    json_path: Annotated[Path, typer.Option("--json", help="where to write the result")] = Path(
        "bench-api.json"
    ),
) -> None:
    """Gateway load benchmark on loopback (latest forecast vs a bare constant endpoint)."""
    from commands.bench.api import run_api_bench

    run_api_bench(get_settings(), seconds=seconds, connections=connections, json_path=json_path)


@bench_app.command("ws")
def bench_ws(
    clients: Annotated[int, typer.Option(min=1, help="WebSocket clients")] = 1000,
    messages: Annotated[int, typer.Option(min=1, help="forecasts to publish")] = 50,
    rate: Annotated[float, typer.Option(min=0.1, help="published messages per second")] = 5.0,
    json_path: Annotated[Path, typer.Option("--json", help="where to write the result")] = Path(
        "bench-ws.json"
    ),
) -> None:
    """WebSocket fan-out benchmark: publish → every client, latency percentiles."""
    from commands.bench.api import run_ws_bench

    run_ws_bench(get_settings(), clients=clients, messages=messages, rate=rate, json_path=json_path)


@bench_app.command("login")
def bench_login(
    seconds: Annotated[float, typer.Option(min=1, help="duration of the flood")] = 10.0,
    connections: Annotated[int, typer.Option(min=1, help="concurrent flooding clients")] = 32,
    json_path: Annotated[Path, typer.Option("--json", help="where to write the result")] = Path(
        "bench-login.json"
    ),
) -> None:
    """A legitimate login's latency during a flood of random logins (and without, same run)."""
    from commands.bench.login import run_login_bench

    run_login_bench(get_settings(), seconds=seconds, connections=connections, json_path=json_path)


if __name__ == "__main__":  # pragma: no cover
    app()
