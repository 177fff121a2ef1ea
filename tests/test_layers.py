"""The import-linter contracts of ``make lint`` (pyproject.toml) catch an upward import.

The packages are copied to a temporary folder, one module importing upward is added, and
``lint-imports`` runs on the copy (found first on ``PYTHONPATH``): it must fail, naming the
import. The same run on the untouched copy passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("commands", "api", "stream", "producers", "models", "flowcast")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and of pyproject.toml."""
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_copied_tree_keeps_the_contracts(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("flowcast/upward.py", "models.core"),  # the kernel imports nothing of ours
        ("models/upward.py", "producers.files"),  # models/ reads no files
        ("stream/upward.py", "api.store"),  # the worker and the gateway are independent
        ("api/upward.py", "commands.cli"),  # nothing imports the commands
    ],
)
def test_an_upward_import_breaks_the_layers(tree: Path, module: str, upward: str) -> None:
    (tree / module).write_text(f"import {upward}\n", encoding="utf-8")
    result = lint_imports(tree)
    importer = module.removesuffix(".py").replace("/", ".")
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert f"{importer} -> {upward}" in result.stdout, result.stdout
