"""Streaming JSON: a top-level array, ``{"results": [...]}`` or JSON Lines, read in chunks.

A top-level array is decoded one element at a time with `json.JSONDecoder.raw_decode` over a
sliding buffer, so a multi-GB export never sits in memory whole.

>>> import io
>>> [v for _, v in iter_json_array(JsonChunks(io.StringIO('[{"a": 1}, 2 , [3]]'), chunk=2))]
[{'a': 1}, 2, [3]]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from producers.formats.errors import UnknownFormatError
from producers.formats.headers import canonical_field, is_referential
from producers.formats.raw import RawRecord

CHUNK_CHARS = 1 << 16
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"
_DELIMITERS = _WHITESPACE + ",]}:"


class JsonChunks:
    """A text buffer over a stream that grows on demand and forgets what was consumed."""

    def __init__(self, stream: TextIO, chunk: int = CHUNK_CHARS) -> None:
        self._stream = stream
        self._chunk = chunk
        self.buffer = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Append one chunk (dropping the consumed prefix); False at end of stream."""
        if self.eof:
            return False
        data = self._stream.read(self._chunk)
        if not data:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + data
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-whitespace character, or '' at end of stream."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer) or not self.more():
                return self.buffer[self.pos : self.pos + 1]

    def expect(self, chars: str) -> str:
        """Consume the next non-whitespace character, which must be one of ``chars``."""
        char = self.peek()
        if not char or char not in chars:
            raise ValueError(f"expected one of {chars!r}, found {char or 'end of file'!r}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """Decode the next JSON value; a value touching the buffer end waits for more text."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                if not self.more():
                    raise
                continue
            # a number cut by the chunk end ("12" of "125", "-0" of "-0.5") decodes too:
            # accept a value only once the character after it is a delimiter
            complete = end < len(self.buffer) and self.buffer[end] in _DELIMITERS
            if complete or not self.more():
                self.pos = end
                return value


def iter_json_array(chunks: JsonChunks) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, element)`` of the JSON array starting at the current position."""
    chunks.expect("[")
    if chunks.peek() == "]":
        chunks.pos += 1
        return
    index = 0
    while True:
        yield index, chunks.value()
        index += 1
        if chunks.expect(",]") == "]":
            return


def _iter_object(chunks: JsonChunks) -> Iterator[tuple[int, Any]]:
    """``{"results": [...], ...}`` streams the results; any other object is one record."""
    chunks.expect("{")
    other: dict[str, Any] = {}
    found = False
    while chunks.peek() != "}":
        key = chunks.value()
        chunks.expect(":")
        if key == "results" and chunks.peek() == "[":
            found = True
            yield from iter_json_array(chunks)
        else:
            other[str(key)] = chunks.value()
        if chunks.expect(",}") == "}":
            break
    if not found:
        yield 0, other


def _iter_lines(stream: TextIO) -> Iterator[tuple[int, Any]]:
    """JSON Lines: ``(line number, value)``; a line that is not JSON yields its text."""
    for number, line in enumerate(stream, start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError:
                yield number, line.rstrip("\r\n")


def json_record(value: Any, source: str, position: str) -> RawRecord:
    """One decoded JSON value (an API v2.1 record object, or anything else) as a `RawRecord`
    under canonical field names; a non-object keeps empty fields (a ``wrong_type`` dead letter).

    >>> json_record({"iu_ac": "5381", "t_1h": "2026-06-21T00:00:00+02:00"}, "api", "api:#0").fields
    {'sensor_id': '5381', 'ts': '2026-06-21T00:00:00+02:00'}
    """
    fields: dict[str, Any] = {}
    if isinstance(value, dict):
        fields = {canonical_field(str(k)): v for k, v in value.items()}
    return RawRecord(fields=fields, source=source, position=position, payload=value)


def iter_json(stream: TextIO, path: str, source: str, *, lines: bool) -> Iterator[RawRecord]:
    """Yield the records of a JSON document (array or results object) or of JSON Lines."""
    if lines:
        items: Iterator[tuple[int, Any]] = _iter_lines(stream)
    else:
        chunks = JsonChunks(stream)
        items = iter_json_array(chunks) if chunks.peek() == "[" else _iter_object(chunks)
    sep = "" if lines else "#"
    try:
        for index, value in items:
            if index == 0 and isinstance(value, dict) and is_referential(value):
                raise UnknownFormatError(
                    path, "these are sensor referential records (id_arc_tra), not counts"
                )
            yield json_record(value, source, f"{source}:{sep}{index}")
    except ValueError as exc:
        if isinstance(exc, UnknownFormatError):
            raise
        raise UnknownFormatError(path, f"malformed JSON ({exc})") from exc
