"""What reading files produced (the plausibility bounds every reader checks are the kernel's:
`flowcast.bounds`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ReadCounts:
    """What reading the files produced: records (rows) read, readings, dead letters per
    reason; for defined sources also hours with too few intervals (readings with no flow) and
    intervals dropped per reason (``nonexistent_local_time`` cells of a wide row,
    ``duplicate_interval``)."""

    read: int = 0
    readings: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    incomplete_hours: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
