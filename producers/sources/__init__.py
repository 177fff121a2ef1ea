"""Declarative sources: read any city's counts file with a TOML definition (DESIGN.md).

`load_definition` reads and checks a definition; `producers.normalise.iter_normalised` with
``definition=`` streams a file's hourly readings; `producers.sources.check` summarises how a
sample of a file parses, for ``flowcast sources check``.
"""

from __future__ import annotations

from producers.sources.definition import (
    DefinitionError,
    SourceDefinition,
    load_definition,
    parse_definition,
)

__all__ = ["DefinitionError", "SourceDefinition", "load_definition", "parse_definition"]
