"""The replay loop without Kafka: read → normalise → filter → order/dedupe → pace → sink.

Dead letters go to the sink as they are read; readings only once every file has been read
and put in global event-time order. Every record read ends up in exactly one bucket:
published, deduplicated, filtered or dead-lettered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flowcast.records import DeadLetter, Reading
from producers.filters import ReplayFilter
from producers.normalise import ReadCounts, iter_normalised
from producers.ordering import DEFAULT_CHUNK_SIZE, OrderCounts, order_and_dedupe
from producers.pacing import Pacer
from producers.perturb import Perturbation, perturb
from producers.sources.definition import SourceDefinition

Sink = Callable[[Reading | DeadLetter], None]


class ReplayObserver:
    """Hooks for progress display; the default does nothing."""

    def read(self, count: int) -> None:
        """``count`` records have been read so far."""

    def sorted(self, readings: int) -> None:
        """Reading is over; ``readings`` remain to replay (duplicates included)."""

    def sent(self, count: int, clock: datetime) -> None:
        """``count`` readings were sent; the simulated clock is at ``clock``."""


@dataclass(frozen=True)
class Resume:
    """How many readings and dead letters an earlier run of this replay already delivered."""

    readings: int = 0
    dead_letters: int = 0


@dataclass
class ReplayStats:
    """Where every record read went (``resumed``: published by an earlier run, skipped)."""

    read: int = 0
    published: int = 0
    resumed: int = 0
    deduplicated: int = 0
    filtered: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)

    @property
    def accounted(self) -> int:
        """published + resumed + deduplicated + filtered + dead-lettered: equals ``read``."""
        return (
            self.published
            + self.resumed
            + self.deduplicated
            + self.filtered
            + self.dead_lettered.total()
        )


def _first_stage(
    items: Iterable[Reading | DeadLetter],
    sink: Sink,
    window: ReplayFilter,
    stats: ReplayStats,
    observer: ReplayObserver,
    skip_dead_letters: int = 0,
) -> Iterator[Reading]:
    """Send dead letters on (but the first ``skip_dead_letters``), drop readings outside
    sensors/start, pass the rest."""
    dead_seen = 0
    for item in items:
        stats.read += 1
        if stats.read % 10_000 == 0:
            observer.read(stats.read)
        if isinstance(item, DeadLetter):
            dead_seen += 1
            if dead_seen > skip_dead_letters:
                sink(item)
        elif window.accepts(item):
            yield item
        else:
            stats.filtered += 1
    observer.read(stats.read)


def _paced(
    readings: Iterator[Reading],
    sink: Sink,
    window: ReplayFilter,
    pacer: Pacer,
    stats: ReplayStats,
    observer: ReplayObserver,
    skip: int = 0,
) -> None:
    """Anchor ``--days`` on the first reading if no start was given, skip the first ``skip``
    (delivered by an earlier run, not paced), pace and send the rest."""
    anchored: ReplayFilter | None = None
    for reading in readings:
        if anchored is None:
            anchored = window.anchored(reading)
        if not anchored.accepts(reading):
            stats.filtered += 1
            continue
        if stats.resumed < skip:
            stats.resumed += 1
            continue
        pacer.wait(reading.ts.timestamp())
        sink(reading)
        stats.published += 1
        observer.sent(stats.published, reading.ts)


def replay(
    paths: Iterable[Path],
    sink: Sink,
    *,
    window: ReplayFilter | None = None,
    pacer: Pacer | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    observer: ReplayObserver | None = None,
    resume: Resume | None = None,
    perturbations: Sequence[Perturbation] = (),
    definition: SourceDefinition | None = None,
) -> ReplayStats:
    """Replay ``paths`` into ``sink`` in event-time order; returns the accounting.

    With ``resume``, the readings and dead letters an earlier run delivered are not sent again.
    ``perturbations`` (drift injection, `producers.perturb`) change readings before they are sent.
    ``definition``: the files' source definition (None: built-in Paris formats).
    """
    resume = resume or Resume()
    window = window or ReplayFilter()
    pacer = pacer or Pacer(None)
    observer = observer or ReplayObserver()
    stats = ReplayStats()
    read_counts = ReadCounts()
    order_counts = OrderCounts()
    items = iter_normalised(paths, read_counts, definition)
    kept = _first_stage(items, sink, window, stats, observer, resume.dead_letters)
    ordered = perturb(
        order_and_dedupe(kept, chunk_size=chunk_size, counts=order_counts), perturbations
    )
    first = next(ordered, None)
    observer.sorted(order_counts.readings)
    if first is not None:
        _paced(_chain(first, ordered), sink, window, pacer, stats, observer, resume.readings)
    stats.deduplicated = order_counts.duplicates
    stats.dead_lettered = read_counts.dead_letters
    return stats


def _chain(first: Reading, rest: Iterator[Reading]) -> Iterator[Reading]:
    yield first
    yield from rest
