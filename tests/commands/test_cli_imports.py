"""``flowcast --help`` and a mistyped option answer at once: the CLI imports only typer.

Each command imports what it needs when it runs; ``flowcast evaluate`` imports MLflow only
after its report is written.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("mlflow", "pandas", "faust", "river", "sklearn", "aiokafka", "fastapi", "redis")


def imported_after(code: str) -> list[str]:
    loaded = f"[m for m in {HEAVY!r} if m in sys.modules]"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({loaded}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert imported_after("import commands.cli") == []


def test_importing_the_evaluate_command_imports_no_heavy_library() -> None:
    assert imported_after("import commands.evaluate") == []
