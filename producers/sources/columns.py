"""Matching a file's header to a source definition: exact names after stripping whitespace and
a byte-order mark; a missing column is named, with the columns found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from producers.formats.errors import UnknownFormatError
from producers.sources.definition import SourceDefinition

MAX_SHOWN = 15


class HeaderMismatchError(UnknownFormatError):
    """The file's header lacks a column the definition names (or the file is not a table)."""

    def __init__(self, path: str, why: str) -> None:
        self.path = path
        self.why = why
        ValueError.__init__(self, f"{path}: {why}")


def clean_header(header: str) -> str:
    return header.strip().lstrip("\ufeff").strip()


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Indexes of the definition's columns in a row."""

    sensor: tuple[int, ...]
    timestamp: int
    values: tuple[int, ...]
    width: int  # the header's length


def _shown(headers: Sequence[str]) -> str:
    shown = ", ".join(repr(h) for h in headers[:MAX_SHOWN])
    more = len(headers) - MAX_SHOWN
    return shown + (f" … ({more} more)" if more > 0 else "") if headers else "no columns"


def map_columns(headers: Sequence[str], definition: SourceDefinition, path: str) -> ColumnMap:
    """The `ColumnMap` of ``headers``; `HeaderMismatchError` naming the first missing column."""
    cleaned = [clean_header(h) for h in headers]
    index: dict[str, int] = {}
    for position, name in enumerate(cleaned):
        index.setdefault(name, position)
    wanted = [*(definition.sensor or []), definition.timestamp, *definition.value_columns]
    missing = [name for name in wanted if name not in index]
    if missing:
        first = missing[0]
        also = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise HeaderMismatchError(
            path,
            f"column {first!r}{also} of source {definition.name!r} is not in the header; "
            f"found {_shown(cleaned)}",
        )
    return ColumnMap(
        sensor=tuple(index[name] for name in definition.sensor or []),
        timestamp=index[definition.timestamp],
        values=tuple(index[name] for name in definition.value_columns),
        width=len(cleaned),
    )
