"""``flowcast replay``: files → Kafka as simulated days, with progress and a summary.

Uses ``settings.kafka_bootstrap`` when set; otherwise starts a temporary embedded broker for
the run (and says so). Exit codes: 0 done, 1 broker/delivery failure, 2 bad input.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from rich.console import Console

from flowcast.kafka_auth import client_kwargs
from flowcast.settings import Settings
from producers.checkpoint import ReplayCheckpoint, TopicEnds, fingerprint, lost_records
from producers.filters import ReplayFilter
from producers.formats import UnknownFormatError, is_referential_file, iter_raw_records
from producers.normalise import iter_normalised
from producers.pacing import Pacer, parse_speed
from producers.perturb import Perturbation
from producers.perturb_spec import parse_perturbations
from producers.publisher import (
    DEFAULT_DEADLINE_S,
    ProducerFactory,
    PublishCounts,
    Publisher,
    PublishError,
    broker_retrying,
    make_kafka_producer,
)
from producers.read_counts import ReadCounts
from producers.replay_core import ReplayStats, Resume, replay
from producers.replay_view import ProgressObserver, make_progress, summary_table
from producers.sources.definition import SourceDefinition, load_definition

log = logging.getLogger(__name__)
EXIT_OK = 0
EXIT_DELIVERY = 1
EXIT_INPUT = 2
CHECKPOINT_EVERY_S = 1.0


@contextmanager
def kafka_bootstrap(settings: Settings, console: Console) -> Iterator[str]:
    """The configured broker, or a temporary embedded one for the duration of the run."""
    if settings.kafka_bootstrap:
        yield settings.kafka_bootstrap
        return
    from commands.embedded import EmbeddedKafka

    console.print("FLOWCAST_KAFKA_BOOTSTRAP is not set: starting a temporary embedded broker")
    with EmbeddedKafka() as broker:
        console.print(f"embedded broker on {broker.bootstrap} (stopped when the replay ends)")
        yield broker.bootstrap


def create_topics(
    settings: Settings, bootstrap: str, console: Console, deadline_s: float = DEFAULT_DEADLINE_S
) -> None:
    """Create the topics (with their partitions), waiting for an unreachable broker."""
    from flowcast.kafka_admin import ensure_topics

    try:
        for attempt in broker_retrying(bootstrap, deadline_s, console.print):
            with attempt:
                ensure_topics(bootstrap, settings)
    except Exception as exc:
        raise PublishError(
            f"could not create topics on Kafka broker at {bootstrap} within {deadline_s:.0f} s: "
            f"{exc}"
        ) from exc


def counts_files(
    paths: Sequence[Path], console: Console, definition: SourceDefinition | None = None
) -> list[Path]:
    """The files to replay: the sensor referential (geometry, no counts) is skipped with a
    word, since a shell glob over an export folder picks it up too (built-in formats only)."""
    if definition is not None:
        return list(paths)
    kept = []
    for path in paths:
        if is_referential_file(path):
            console.print(f"[yellow]skipped[/yellow] {path}: the sensor referential, not counts")
        else:
            kept.append(path)
    if not kept:
        raise ValueError("no counts file to replay (only the sensor referential was given)")
    return kept


def check_inputs(paths: Sequence[Path], definition: SourceDefinition | None = None) -> None:
    """Fail fast, before any broker work, on a file that is not a counts file (or whose
    header does not match the source definition)."""
    for path in paths:
        if definition is None:
            next(iter_raw_records(path), None)
        else:
            next(iter_normalised([path], ReadCounts(), definition), None)


def replay_to_kafka(
    settings: Settings,
    paths: Sequence[Path],
    bootstrap: str,
    *,
    window: ReplayFilter,
    pacer: Pacer,
    console: Console,
    deadline_s: float = DEFAULT_DEADLINE_S,
    factory: ProducerFactory | None = None,
    checkpoint: ReplayCheckpoint | None = None,
    perturbations: Sequence[Perturbation] = (),
    topic_ends: TopicEnds | None = None,
    definition: SourceDefinition | None = None,
) -> tuple[ReplayStats, int]:
    """Replay into the broker at ``bootstrap``; returns the accounting and dead letters sent.

    With ``checkpoint``, what it records as delivered is skipped, and it is saved after every
    acknowledged flush (at least every `CHECKPOINT_EVERY_S` seconds while records flow).
    """
    resume = Resume(checkpoint.readings, checkpoint.dead_letters) if checkpoint else Resume()
    publisher = Publisher(
        bootstrap,
        readings_topic=settings.readings_topic,
        deadletter_topic=settings.deadletter_topic,
        deadline_s=deadline_s,
        factory=factory or functools.partial(make_kafka_producer, security=client_kwargs(settings)),
        notify=console.print,
        on_flushed=_saver(checkpoint, resume, topic_ends),
        flush_interval_s=CHECKPOINT_EVERY_S if checkpoint else None,
    )
    with make_progress(console) as progress, publisher:
        observer = ProgressObserver(progress)
        stats = replay(
            paths,
            publisher.publish,
            window=window,
            pacer=pacer,
            observer=observer,
            resume=resume,
            perturbations=perturbations,
            definition=definition,
        )
        observer.finish(stats)
    if publisher.counts.readings != stats.published:
        raise PublishError(
            f"{stats.published} readings sent but {publisher.counts.readings} acknowledged"
        )
    return stats, publisher.counts.dead_letters


def _saver(
    checkpoint: ReplayCheckpoint | None, resume: Resume, topic_ends: TopicEnds | None
) -> Callable[[PublishCounts], None] | None:
    """Save ``checkpoint`` with the delivered counts (added to what an earlier run did) and
    where the readings topic ends now."""
    if checkpoint is None:
        return None

    def save(counts: PublishCounts) -> None:
        """Skipped (the file keeps the previous, earlier position) if the broker's ends cannot
        be read or the file written: a resume then re-sends a little, which workers skip."""
        try:
            ends = topic_ends.read() if topic_ends is not None else checkpoint.topic_ends
            checkpoint.readings = resume.readings + counts.readings
            checkpoint.dead_letters = resume.dead_letters + counts.dead_letters
            checkpoint.topic_ends = ends
            checkpoint.save()
        except Exception as exc:  # a broker hiccup or a full disk must not end the replay
            log.warning("checkpoint not saved this time (%r); the previous one stands", exc)

    return save


def open_checkpoint(
    path: Path, settings: Settings, paths: Sequence[Path], window: ReplayFilter,
    topic_ends: TopicEnds, console: Console, perturb: Sequence[str] = (),
    source: str | None = None,
) -> ReplayCheckpoint:  # fmt: skip
    """This replay's checkpoint at ``path``, rewound if the broker lost records it had
    acknowledged (a partition of the readings topic now ends before it did)."""
    identity = fingerprint(paths, window, settings.readings_topic, perturb, source)
    checkpoint = ReplayCheckpoint.load(path, identity)
    if not checkpoint.readings and not checkpoint.dead_letters:
        return checkpoint
    if lost_records(checkpoint.topic_ends, topic_ends.read()):
        console.print(
            f"the broker lost records of {settings.readings_topic} it had acknowledged "
            "(restarted empty?): replaying from the start (workers skip the hours they "
            "already learned)"
        )
        return checkpoint.rewound()
    console.print(f"resuming after {checkpoint.readings:,} readings delivered earlier ({path})")
    return checkpoint


@contextmanager
def checkpoint_position(
    path: Path | None, settings: Settings, paths: Sequence[Path], window: ReplayFilter,
    bootstrap: str, console: Console, perturb: Sequence[str] = (),
    source: str | None = None,
) -> Iterator[tuple[ReplayCheckpoint | None, TopicEnds | None]]:  # fmt: skip
    """The checkpoint at ``path`` (see `open_checkpoint`) and the reader of the readings
    topic's end offsets that its saves use; ``(None, None)`` without a path.

    `PublishError` if the broker cannot tell where the topic ends (the replay then stops
    with a clear message instead of guessing where to resume)."""
    if path is None:
        yield None, None
        return
    try:
        ends = TopicEnds(bootstrap, settings.readings_topic, security=client_kwargs(settings))
    except Exception as exc:
        raise PublishError(f"cannot read where {settings.readings_topic} ends: {exc!r}") from exc
    try:
        try:
            checkpoint = open_checkpoint(
                path, settings, paths, window, ends, console, perturb, source
            )
        except Exception as exc:
            raise PublishError(f"cannot open the checkpoint {path}: {exc!r}") from exc
        yield checkpoint, ends
    finally:
        ends.close()


def run_replay(
    settings: Settings,
    paths: Sequence[Path],
    *,
    speed: str,
    start: date | None,
    days: int | None,
    sensors: frozenset[str] | None,
    checkpoint: Path | None = None,
    perturb: Sequence[str] = (),
    source: Path | None = None,
) -> int:
    """Entry point of ``flowcast replay``; returns the process exit code.

    With ``checkpoint`` (a JSON file) a replay re-run with the same inputs resumes after what
    the broker acknowledged (see `producers.checkpoint`). ``source``: a TOML source
    definition for files not in a built-in format.
    """
    console = Console(stderr=True)
    try:
        definition = load_definition(source) if source is not None else None
        pacer = Pacer(parse_speed(speed))
        paths = counts_files(paths, console, definition)
        check_inputs(paths, definition)
        perturbations = parse_perturbations(perturb)
    except (ValueError, OSError) as exc:  # UnknownFormatError, DefinitionError: ValueErrors
        console.print(f"[red]cannot replay:[/red] {exc}")
        return EXIT_INPUT
    window = ReplayFilter(start=start, days=days, sensors=sensors)
    try:
        with kafka_bootstrap(settings, console) as bootstrap:
            create_topics(settings, bootstrap, console)
            identity = definition.model_dump_json() if definition else None
            with checkpoint_position(
                checkpoint, settings, paths, window, bootstrap, console, perturb, identity
            ) as (position, ends):
                stats, dead_sent = replay_to_kafka(
                    settings,
                    paths,
                    bootstrap,
                    window=window,
                    pacer=pacer,
                    console=console,
                    checkpoint=position,
                    perturbations=perturbations,
                    topic_ends=ends,
                    definition=definition,
                )
    except PublishError as exc:
        console.print(f"[red]replay failed:[/red] {exc}")
        return EXIT_DELIVERY
    except UnknownFormatError as exc:
        console.print(f"[red]cannot replay:[/red] {exc}")
        return EXIT_INPUT
    console.print(summary_table(stats, dead_sent))
    if stats.accounted != stats.read:
        raise AssertionError(f"records unaccounted for: {stats.accounted} != {stats.read} read")
    return EXIT_OK
