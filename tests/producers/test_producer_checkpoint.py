"""A replay's checkpoint: saved atomically, tied to its inputs, resumed without re-sending."""

from __future__ import annotations

from pathlib import Path

from commands.replay import _saver
from flowcast.records import DeadLetter, Reading
from producers.checkpoint import ReplayCheckpoint, fingerprint, lost_records
from producers.filters import ReplayFilter
from producers.publisher import PublishCounts
from producers.replay_core import Resume, replay

DATA = Path(__file__).resolve().parents[2] / "data" / "paris"
FILES = [DATA / "historique_2022_st-antoine_376.csv.gz", DATA / "export_2022_sts-peres_191.csv.gz"]


def sent(resume: Resume | None = None) -> tuple[list[Reading], list[DeadLetter], int]:
    readings: list[Reading] = []
    letters: list[DeadLetter] = []

    def sink(item: Reading | DeadLetter) -> None:
        (readings if isinstance(item, Reading) else letters).append(item)  # type: ignore[arg-type]

    stats = replay(FILES, sink, resume=resume)
    assert stats.accounted == stats.read
    return readings, letters, stats.resumed


def test_a_resumed_replay_sends_exactly_the_rest() -> None:
    readings, letters, _ = sent()
    rest, rest_letters, resumed = sent(Resume(readings=1234, dead_letters=1))
    assert resumed == 1234
    assert rest == readings[1234:]
    assert rest_letters == letters[1:]


def test_checkpoint_round_trip_and_other_inputs_start_afresh(tmp_path: Path) -> None:
    key = fingerprint(FILES, ReplayFilter(), "readings")
    saved = ReplayCheckpoint(tmp_path / "cp.json", key, 10, 2, {0: 5, 3: 7})
    saved.save()
    assert ReplayCheckpoint.load(saved.path, key) == saved
    other = fingerprint(FILES[:1], ReplayFilter(), "readings")
    assert ReplayCheckpoint.load(saved.path, other).readings == 0
    assert fingerprint(FILES, ReplayFilter(days=3), "readings") != key
    perturbed = fingerprint(FILES, ReplayFilter(), "readings", ["zero:sensors=191:from=2022-06-01"])
    assert perturbed != key
    saved.path.write_text("{not json")
    assert ReplayCheckpoint.load(saved.path, key).readings == 0


def test_lost_records_compares_partition_ends() -> None:
    assert not lost_records({0: 5, 1: 9}, {0: 5, 1: 12, 2: 1})
    assert lost_records({0: 5, 1: 9}, {0: 5, 1: 8})
    assert lost_records({0: 5}, {})


class UnreachableBroker:
    """A `TopicEnds` whose broker does not answer."""

    def read(self) -> dict[int, int]:
        raise ConnectionError("broker unreachable")


def test_a_save_that_cannot_read_the_broker_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    key = fingerprint(FILES, ReplayFilter(), "readings")
    checkpoint = ReplayCheckpoint(tmp_path / "cp.json", key, 10, 0, {0: 5})
    checkpoint.save()
    save = _saver(checkpoint, Resume(10, 0), UnreachableBroker())  # type: ignore[arg-type]
    assert save is not None
    save(PublishCounts(readings=40, dead_letters=1))  # no exception: the replay goes on
    assert ReplayCheckpoint.load(checkpoint.path, key) == ReplayCheckpoint(
        checkpoint.path, key, 10, 0, {0: 5}
    )
