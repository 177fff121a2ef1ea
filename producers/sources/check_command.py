"""``flowcast sources check PATH [--source FILE.toml]``: exit 0 with the tables, or 2 with one
clear line for a missing file, a file that is not a counts table, a header that does not match
the definition, or a bad definition."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from producers.formats import UnknownFormatError
from producers.sources.check import DEFAULT_MAX_ROWS, DEFAULT_SECONDS, check_file
from producers.sources.check_view import check_report
from producers.sources.definition import DefinitionError, SourceDefinition, load_definition

EXIT_OK = 0
EXIT_INPUT = 2


def load_source_option(source: Path | None) -> SourceDefinition | None:
    """The definition named by ``--source`` (None: built-in formats); `DefinitionError`."""
    return load_definition(source) if source is not None else None


def run_sources_check(
    path: Path,
    source: Path | None,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_seconds: float = DEFAULT_SECONDS,
    console: Console | None = None,
) -> int:
    """Check a sample of ``path`` under ``source``; returns the exit code."""
    console = console or Console()
    try:
        definition = load_source_option(source)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        summary = check_file(path, definition, max_rows=max_rows, max_seconds=max_seconds)
    except (DefinitionError, UnknownFormatError, OSError) as exc:
        console.print(f"[red]cannot check:[/red] {_one_line(exc)}", soft_wrap=True)
        return EXIT_INPUT
    console.print(check_report(summary))
    return EXIT_OK


def _one_line(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file"
    return str(exc).replace("\n", " ")
