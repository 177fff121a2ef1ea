"""One poll of the API: hour windows in ``t_1h`` order, pages, normalise, publish, commit.

A poll first reads again the hours the mark keeps (late data: skipped when the API's count
for the hour is the one of its last complete read), then looks for the next hour after them
(``t_1h >= newest + 1 h``, one record) and reads it, hour after hour, until none is left. Each
page is normalised with the API JSON reader's code (`normalise_api_record`); its records not
yet published (`item_key`) are published, and only once the broker acknowledged them is the
mark updated and committed. The I/O is handed in (`FeedIO`), so this module is pure logic.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flowcast.records import DeadLetter, Reading, format_utc
from producers.live.api import (
    MAX_OFFSET_WINDOW,
    Page,
    SchemaError,
    check_schema,
    discovery_query,
    hour_floor,
    window_query,
)
from producers.live.errors import FeedError, StoppedError
from producers.live.mark import FeedMark, LogOffsets, Position, dead_letter_position, item_key
from producers.normalise import normalise_api_record
from producers.timestamps import LocalTimeResolver
from producers.values import InvalidValueError

log = logging.getLogger(__name__)
Item = Reading | DeadLetter


class FeedIO(Protocol):
    """What a poll needs from the outside world."""

    def fetch(self, query: Mapping[str, str | int]) -> Page:
        """One page of the records endpoint (raises `FeedError` or `StoppedError`)."""
        ...

    def publish(self, items: Sequence[Item]) -> None:
        """Send ``items`` in order (acknowledged by the next `commit` at the latest)."""
        ...

    def log_ends(self) -> LogOffsets:
        """Where the readings and dead-letter topics end now."""
        ...

    def commit(self, mark: FeedMark, *, final: bool) -> None:
        """Wait until the broker acknowledged everything sent, then save ``mark``; unless
        ``final``, an adapter may skip saving if it saved a moment ago."""
        ...

    def stopping(self) -> bool:
        """True once a stop was requested."""
        ...


@dataclass
class PollReport:
    """What one poll did (kept when it ends early, for the metrics)."""

    requests: int = 0
    pages: int = 0
    readings: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    windows: int = 0
    skipped_windows: int = 0
    over_cap: int = 0


class Pager:
    """Polls with one mark; `poll` may be called again and again (one call per interval)."""

    def __init__(self, mark: FeedMark, io: FeedIO, *, source: str, page_size: int) -> None:
        self.mark = mark
        self.io = io
        self.source = source
        self.page_size = page_size
        self.resolver = LocalTimeResolver()
        self.report = PollReport()

    def poll(self) -> PollReport:
        """Read every new record once; the report also stays in ``self.report`` on errors."""
        self.report = PollReport()
        try:
            for kept in self.mark.kept_hours():
                if kept in self.mark.hours:  # not pruned by a newer hour read meanwhile
                    self._read_window(kept)
            while (hour := self._discover()) is not None:
                self._read_window(hour)
        except (FeedError, StoppedError):
            self.io.commit(self.mark, final=True)  # what was sent before the failure stands
            raise
        self.io.commit(self.mark, final=True)
        return self.report

    def _fetch(self, query: Mapping[str, str | int]) -> Page:
        if self.io.stopping():
            raise StoppedError("stop requested")
        self.report.requests += 1
        return self.io.fetch(query)

    def _discover(self) -> datetime | None:
        """The hour of the first record after the kept hours, or None if there is none."""
        start = self.mark.discovery_start()
        page = self._fetch(discovery_query(start))
        if not page.results:
            return None
        check_schema(page.results)
        first = page.results[0]
        try:
            value = first.get("t_1h") if isinstance(first, dict) else None
            hour = hour_floor(self.resolver.to_utc("", value))
        except InvalidValueError as exc:
            raise SchemaError("missing_field", f"first record after {start}: {exc}") from None
        if hour < start:
            raise SchemaError(
                "where_ignored", f"asked for t_1h >= {format_utc(start)}, got {first['t_1h']!r}"
            )
        return hour

    def _read_window(self, hour: datetime) -> None:
        """Read the records of ``hour`` page after page, publishing what is new."""
        entry = self.mark.hours.get(hour) or self.mark.touch(hour, self.io.log_ends())
        start = offset = self.mark.resume_offset(hour)
        first_total: int | None = None
        while True:
            page = self._fetch(window_query(hour, limit=self.page_size, offset=offset))
            if first_total is None:
                first_total = page.total_count
                if offset == 0 and entry.total == page.total_count:
                    self.report.skipped_windows += 1
                    return
            check_schema(page.results)
            self._publish(hour, offset, page.results)
            offset += len(page.results)
            self.report.pages += 1
            if page.results:
                self.mark.saw_data(hour)
            self.mark.position = Position(hour, offset) if hour in self.mark.hours else None
            self.io.commit(self.mark, final=False)
            if not page.results or offset >= page.total_count:
                break
            if offset + self.page_size > MAX_OFFSET_WINDOW:
                self._over_cap(hour, page.total_count)
                break
        self._finish(hour, first_total if start == 0 else None)

    def _finish(self, hour: datetime, total: int | None) -> None:
        self.report.windows += 1
        if hour in self.mark.hours:
            self.mark.hours[hour].total = total
        self.mark.position = None
        self.io.commit(self.mark, final=False)

    def _over_cap(self, hour: datetime, total: int) -> None:
        self.report.over_cap += 1
        log.error(
            "hour %s holds %d records: the API pages no further than %d, the rest is not read",
            format_utc(hour),
            total,
            MAX_OFFSET_WINDOW,
        )

    def _publish(self, hour: datetime, offset: int, results: Sequence[Any]) -> None:
        """Normalise a page, publish the records not published yet, then remember them."""
        fresh: list[Item] = []
        keys: set[str] = set()
        for index, value in enumerate(results):
            position = dead_letter_position(hour, offset + index)
            item = normalise_api_record(value, self.source, position, self.resolver)
            key = item_key(item, hour)
            if key in keys or self.mark.is_published(hour, key):
                self.report.duplicates += 1
                continue
            keys.add(key)
            fresh.append(item)
        if not fresh:
            return
        self.io.publish(fresh)
        self.mark.published(hour, keys)
        for item in fresh:
            if isinstance(item, Reading):
                self.report.readings += 1
            else:
                self.report.dead_letters[item.reason] += 1
