"""Content sniffing: compression, text encoding and layout, decided from bytes, never the name.

>>> detect_encoding(b"Etat trafic\\nPr\\xe9-satur\\xe9")
'cp1252'
>>> detect_encoding("Pré-saturé".encode())
'utf-8'
>>> detect_separator("Identifiant arc;Libelle;Date et heure de comptage")
';'
"""

from __future__ import annotations

import codecs
import enum
import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO, cast

from producers.formats.errors import UnknownFormatError

GZIP_MAGIC = b"\x1f\x8b"
SAMPLE_BYTES = 1 << 20
SEPARATORS = (";", ",", "\t", "|")
FALLBACK_ERRORS = "flowcast-cp1252-fallback"


class Layout(enum.Enum):
    """How the records are laid out in the (decoded) text."""

    CSV = "csv"
    JSON_ARRAY = "json_array"
    JSON_OBJECT = "json_object"
    JSON_LINES = "json_lines"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes UTF-8 rejected as cp1252: a mostly-UTF-8 file with a stray re-save."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("cp1252", errors="replace"), error.end


codecs.register_error(FALLBACK_ERRORS, _cp1252_fallback)


def detect_encoding(sample: bytes) -> str:
    """``utf-8-sig`` with a BOM, ``utf-8`` if the sample is valid UTF-8, else ``cp1252``.

    A multi-byte character cut at the end of the sample is not held against UTF-8.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def detect_separator(header_line: str) -> str:
    """The candidate separator that splits the header line the most (ties: the first listed)."""
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def detect_layout(text_start: str) -> Layout:
    """CSV, a JSON array, one JSON object (``{"results": [...]}``) or JSON Lines."""
    stripped = text_start.lstrip()
    if stripped.startswith("["):
        return Layout.JSON_ARRAY
    if not stripped.startswith("{"):
        return Layout.CSV
    first_line, _, rest = stripped.partition("\n")
    if rest.lstrip().startswith("{") and first_line.rstrip().endswith("}"):
        return Layout.JSON_LINES
    return Layout.JSON_OBJECT


def _open_binary(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _looks_binary(sample: bytes) -> bool:
    return b"\x00" in sample[:4096]


@contextmanager
def open_text(path: Path) -> Iterator[tuple[TextIO, Layout]]:
    """Open ``path`` (plain or gzip) as decoded text with universal newlines kept for csv.

    Yields the text stream and its layout; raises `UnknownFormatError` for binary content.
    """
    binary = _open_binary(path)
    try:
        buffered = io.BufferedReader(cast(io.RawIOBase, binary), buffer_size=SAMPLE_BYTES)
        try:
            sample = buffered.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]
        except (OSError, EOFError) as exc:
            raise UnknownFormatError(str(path), f"unreadable or corrupt file ({exc})") from exc
        if not sample.strip():
            raise UnknownFormatError(str(path), "the file is empty")
        if _looks_binary(sample):
            raise UnknownFormatError(str(path), "binary content, not text")
        encoding = detect_encoding(sample)
        errors = FALLBACK_ERRORS if encoding.startswith("utf-8") else "replace"
        text = io.TextIOWrapper(buffered, encoding=encoding, errors=errors, newline="")
        layout = detect_layout(sample[:65536].decode(encoding, errors="replace"))
        yield text, layout
    finally:
        binary.close()
