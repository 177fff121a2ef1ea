"""The live feed's high-water mark: what was read, what was published, where to resume.

An hour of the API fills late and in pieces, so the mark is not one timestamp. It keeps:

- ``newest``: the newest hour of which records were read;
- ``hours``: every hour from ``newest - lookback`` to ``newest``. Each is read again on every
  poll unless the API's ``total_count`` for it is the one of its last complete read, and each
  knows the records of it already published (``keys``: the sensor id of a reading, ``#digest``
  of a dead letter), so a record seen twice is published once: the dedupe by (sensor, hour) is
  bounded to ``lookback + 1`` hours (about 13,000 keys for Paris with the default 3 hours);
- ``position``: the next page of a window left unfinished (a stop or a kill mid-hour);
- ``log_from``: per hour, where the readings and dead-letter topics ended before its first
  record was published. The keys themselves are not saved: on a restart they are rebuilt
  from the topics, read from the oldest kept hour's ``log_from`` (`rebuild_from`). What the
  broker acknowledged is then known exactly, even when the process died between the broker's
  acknowledgement and the commit of the mark.

Records of an hour older than ``newest - lookback`` that appear later still are not read.

>>> from datetime import UTC, datetime
>>> mark = FeedMark.fresh("https://example.org", datetime(2026, 6, 20, 22, tzinfo=UTC), {})
>>> mark.discovery_start().isoformat()
'2026-06-20T22:00:00+00:00'
>>> FeedMark.from_json(mark.to_json(), "https://example.org") == mark
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from flowcast.records import DeadLetter, Reading, format_utc, parse_utc
from producers.live.api import HOUR

VERSION = 1
READINGS = "readings"
DEAD_LETTERS = "deadletter"
LogOffsets = dict[str, dict[int, int]]
"""``{"readings": {partition: offset}, "deadletter": {…}}``: positions in the two topics."""


class MarkError(ValueError):
    """A saved mark that cannot be read (another version, or damaged)."""


@dataclass
class HourMark:
    """One hour of the mark: its count at the last complete read, its published records."""

    log_from: LogOffsets
    total: int | None = None
    keys: set[str] = field(default_factory=set, compare=False)


@dataclass(frozen=True)
class Position:
    """The next page of an unfinished hour window."""

    hour: datetime
    offset: int


@dataclass
class FeedMark:
    """The state of one feed (one API base URL), saved after what it describes was published."""

    feed: str
    since: datetime
    lookback_hours: int = 3
    newest: datetime | None = None
    hours: dict[datetime, HourMark] = field(default_factory=dict)
    position: Position | None = None
    log_floor: LogOffsets = field(default_factory=dict)

    @classmethod
    def fresh(
        cls, feed: str, since: datetime, log_floor: LogOffsets, lookback_hours: int = 3
    ) -> FeedMark:
        """A mark that has read nothing yet, from ``since`` (an hour start, UTC)."""
        return cls(feed, since, lookback_hours, log_floor=log_floor)

    # --- reading the API -------------------------------------------------------------------

    def discovery_start(self) -> datetime:
        """Where the next unread hour is looked for: after every kept hour, else ``since``."""
        known = [*self.hours, *([self.newest] if self.newest else [])]
        return max(known) + HOUR if known else self.since

    def kept_hours(self) -> list[datetime]:
        """The hours read again on each poll, oldest first."""
        return sorted(self.hours)

    def touch(self, hour: datetime, log_ends: LogOffsets) -> HourMark:
        """The entry of ``hour``, created with where the topics end now if it is new."""
        entry = self.hours.get(hour)
        if entry is None:
            entry = self.hours[hour] = HourMark(log_from=log_ends)
        return entry

    def resume_offset(self, hour: datetime) -> int:
        """The page offset to read ``hour`` from (an unfinished window), else 0."""
        return self.position.offset if self.position and self.position.hour == hour else 0

    def is_published(self, hour: datetime, key: str) -> bool:
        entry = self.hours.get(hour)
        return entry is not None and key in entry.keys

    def published(self, hour: datetime, keys: set[str]) -> None:
        """Record keys of ``hour`` the broker acknowledged."""
        self.hours[hour].keys.update(keys)

    def saw_data(self, hour: datetime) -> None:
        """Records of ``hour`` were read: it may become the newest; older hours fall off."""
        if self.newest is None or hour > self.newest:
            self.newest = hour
        self.prune()

    def prune(self) -> None:
        """Forget hours older than ``newest - lookback`` (and a position among them)."""
        if self.newest is None:
            return
        oldest = self.newest - self.lookback_hours * HOUR
        self.hours = {hour: entry for hour, entry in self.hours.items() if hour >= oldest}
        if self.position is not None and self.position.hour not in self.hours:
            self.position = None

    # --- rebuilding what was published, from the topics -------------------------------------

    def rebuild_from(self) -> LogOffsets:
        """Where to read the topics from to find every record published for the kept hours:
        the lowest ``log_from`` per partition (``log_floor`` when no hour is kept)."""
        if not self.hours:
            return self.log_floor
        merged: LogOffsets = {}
        for entry in self.hours.values():
            for topic, offsets in entry.log_from.items():
                slot = merged.setdefault(topic, {})
                for partition, offset in offsets.items():
                    slot[partition] = min(offset, slot.get(partition, offset))
        return merged

    def absorb(self, hour: datetime, key: str, log_from: LogOffsets) -> bool:
        """A record found in the topics was published for ``hour``: remember it (False if the
        hour is before ``since`` or too old to be kept)."""
        floor = self.since if self.newest is None else self.newest - self.lookback_hours * HOUR
        if hour < max(floor, self.since):
            return False
        self.touch(hour, log_from).keys.add(key)
        self.saw_data(hour)
        return True

    # --- saved form ---------------------------------------------------------------------------

    def to_json(self) -> bytes:
        """The saved form (keys excluded: they are rebuilt from the topics)."""
        data = {
            "version": VERSION,
            "feed": self.feed,
            "since": format_utc(self.since),
            "lookback_hours": self.lookback_hours,
            "newest": format_utc(self.newest) if self.newest else None,
            "position": {"hour": format_utc(self.position.hour), "offset": self.position.offset}
            if self.position
            else None,
            "log_floor": _offsets_out(self.log_floor),
            "hours": {
                format_utc(hour): {"total": entry.total, "log_from": _offsets_out(entry.log_from)}
                for hour, entry in sorted(self.hours.items())
            },
        }
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes, feed: str) -> FeedMark:
        """The mark saved in ``raw``; `MarkError` if it is another version or malformed."""
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise MarkError(f"not a version {VERSION} mark")
            if data["feed"] != feed:
                raise MarkError(f"the mark of {data['feed']!r}, not of {feed!r}")
            position = data["position"]
            return cls(
                feed=feed,
                since=parse_utc(data["since"]),
                lookback_hours=int(data["lookback_hours"]),
                newest=parse_utc(data["newest"]) if data["newest"] else None,
                hours={
                    parse_utc(hour): HourMark(
                        log_from=_offsets_in(entry["log_from"]), total=_count(entry["total"])
                    )
                    for hour, entry in data["hours"].items()
                },
                position=Position(parse_utc(position["hour"]), int(position["offset"]))
                if position
                else None,
                log_floor=_offsets_in(data["log_floor"]),
            )
        except MarkError:
            raise
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MarkError(f"malformed mark: {exc!r}") from exc


def item_key(item: Reading | DeadLetter, window: datetime) -> str:
    """The dedupe key of a record read in the window of hour ``window``.

    A reading of that hour is its sensor id (one reading per sensor and hour); anything else
    (a dead letter, a reading the API put in the wrong window) is a digest of its content.
    """
    if isinstance(item, Reading):
        return item.sensor_id if item.ts == window else f"{item.sensor_id}@{format_utc(item.ts)}"
    return dead_letter_key(item.raw)


def dead_letter_key(raw: str) -> str:
    """``#`` and a digest of a dead letter's raw record."""
    return "#" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def dead_letter_position(window: datetime, offset: int) -> str:
    """Where a record was read: its window and its offset in it (``2026-06-20T22:00:00Z#37``)."""
    return f"{format_utc(window)}#{offset}"


def window_of_position(position: str) -> datetime:
    """The window hour of a `dead_letter_position`; ``ValueError`` if it is not one."""
    return parse_utc(position.split("#", 1)[0])


def _offsets_out(offsets: LogOffsets) -> dict[str, dict[str, int]]:
    return {
        topic: {str(p): o for p, o in sorted(parts.items())} for topic, parts in offsets.items()
    }


def _offsets_in(data: Any) -> LogOffsets:
    if not isinstance(data, dict):
        raise TypeError("offsets must be an object")
    return {str(t): {int(p): int(o) for p, o in parts.items()} for t, parts in data.items()}


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"a total must be a count, got {value!r}")
    return value
