"""Readings from files: every valid reading of a set of files, in event-time order, counted.

Files are read and validated by `producers.normalise` (bad records are counted, not fatal),
then ordered by event time and de-duplicated by `producers.ordering`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowcast.records import Reading
from producers.normalise import ReadCounts, iter_normalised
from producers.ordering import OrderCounts, order_and_dedupe
from producers.sources.definition import SourceDefinition


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
            "incomplete_hours": self.read.incomplete_hours,
            "dropped_values": dict(self.read.dropped),
        }


def ordered_readings(
    paths: Sequence[Path], counts: InputCounts, definition: SourceDefinition | None = None
) -> Iterator[Reading]:
    """Every valid reading of the files (read with ``definition``, or in a built-in Paris
    format), in event-time order, duplicates removed."""
    items = iter_normalised(paths, counts.read, definition)
    readings = (item for item in items if isinstance(item, Reading))
    return order_and_dedupe(readings, counts=counts.order)
