"""A replay's own checkpoint of its source position: resume where the broker last acknowledged.

The file (small JSON, written atomically after every fully acknowledged flush) records how many
readings and dead letters of this replay — the same inputs, filters and topic, in the same
deterministic event-time order — the broker has acknowledged. Running ``flowcast replay`` again
with the same ``--checkpoint`` skips them; different inputs start afresh.

Each save also records where every partition of the readings topic ended. A broker that lost
records it acknowledged (the embedded one keeps nothing across a restart) shows a partition
ending before that: what was acknowledged may never have reached a worker, so the replay starts
again from its first record and the workers skip, by their per-sensor checkpoints in Redis,
every hour they already learned. (Offsets, not record counts, are compared: some brokers,
Tansu among them, do not number records one by one.)

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "replay.json"
>>> saved = ReplayCheckpoint(path, "abc", readings=5000, dead_letters=3)
>>> saved.save()
>>> ReplayCheckpoint.load(path, "abc").readings, ReplayCheckpoint.load(path, "other").readings
(5000, 0)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from producers.filters import ReplayFilter


def fingerprint(
    paths: Sequence[Path],
    window: ReplayFilter,
    topic: str,
    perturb: Sequence[str] = (),
    source: str | None = None,
) -> str:
    """Identity of a replay: each input's path, size and mtime, the filters, the injected
    perturbations, the topic and the source definition (as JSON) if any."""
    files = []
    for path in paths:
        stat = path.stat()
        files.append([str(path.resolve()), stat.st_size, stat.st_mtime_ns])
    sensors = sorted(window.sensors) if window.sensors is not None else None
    start = window.start.isoformat() if window.start else None
    identity = {
        "files": files,
        "start": start,
        "days": window.days,
        "sensors": sensors,
        "perturb": list(perturb),
        "topic": topic,
    }
    if source is not None:  # absent for built-in formats: their checkpoints keep their identity
        identity["source"] = source
    return hashlib.sha256(orjson.dumps(identity)).hexdigest()


@dataclass
class ReplayCheckpoint:
    """Readings and dead letters of one replay acknowledged so far, saved at ``path``."""

    path: Path
    fingerprint: str
    readings: int = 0
    dead_letters: int = 0
    topic_ends: dict[int, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, fingerprint: str) -> ReplayCheckpoint:
        """The saved position of this replay, or a fresh one (missing, unreadable or other)."""
        fresh = cls(path, fingerprint)
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return fresh
        if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
            return fresh
        readings, dead = data.get("readings"), data.get("dead_letters")
        if not isinstance(readings, int) or not isinstance(dead, int) or min(readings, dead) < 0:
            return fresh
        ends = data.get("topic_ends")
        if not isinstance(ends, dict) or not all(isinstance(v, int) for v in ends.values()):
            return fresh
        return cls(path, fingerprint, readings, dead, {int(p): v for p, v in ends.items()})

    def save(self) -> None:
        """Write the checkpoint atomically (a crash leaves the old or the new file, whole)."""
        data = {
            "fingerprint": self.fingerprint,
            "readings": self.readings,
            "dead_letters": self.dead_letters,
            "topic_ends": {str(p): end for p, end in sorted(self.topic_ends.items())},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            handle.write(orjson.dumps(data))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def rewound(self) -> ReplayCheckpoint:
        """The same replay from its first record."""
        return ReplayCheckpoint(self.path, self.fingerprint)


class TopicEnds:
    """The end offset of each partition of a topic, read through one consumer kept open."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        timeout_s: float = 10.0,
        security: Mapping[str, Any] | None = None,
    ) -> None:
        from kafka import KafkaConsumer

        self.topic = topic
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id="flowcast-replay-checkpoint",
            bootstrap_timeout_ms=int(timeout_s * 1000),
            **(security or {}),
        )

    def read(self) -> dict[int, int]:
        """partition → end offset (empty if the topic does not exist)."""
        from kafka import TopicPartition

        partitions = self._consumer.partitions_for_topic(self.topic) or set()
        ends = self._consumer.end_offsets([TopicPartition(self.topic, p) for p in partitions])
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    def close(self) -> None:
        self._consumer.close()


def lost_records(saved: dict[int, int], now: dict[int, int]) -> bool:
    """True if a partition ends before where it ended when the checkpoint was saved: the
    broker lost records it had acknowledged (a log never shrinks from its end).

    >>> lost_records({0: 10, 1: 4}, {0: 12, 1: 4}), lost_records({0: 10}, {})
    (False, True)
    """
    return any(now.get(partition, 0) < end for partition, end in saved.items())
