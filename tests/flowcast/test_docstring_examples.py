"""Every usage example (``>>>``) in the code's docstrings runs and holds.

The modules are found by walking the packages, so a new example is tested without being listed.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("flowcast", "producers", "models", "stream", "api", "commands")


def modules_with_examples() -> list[str]:
    names = []
    for package in PACKAGES:
        root = REPO / package
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages([str(root)], prefix=f"{package}.")]
    found = []
    for name in names:
        path = REPO / Path(*name.split("."))
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if source.is_file() and ">>> " in source.read_text(encoding="utf-8"):
            found.append(name)
    return sorted(found)


EXAMPLES = modules_with_examples()
STARTS_SERVICES = {"commands.embedded"}  # its example starts a real redis-server


def examples() -> list[object]:
    """Every module with examples; those that start a service are ``integration``."""
    return [
        pytest.param(name, marks=pytest.mark.integration) if name in STARTS_SERVICES else name
        for name in EXAMPLES
    ]


def test_the_examples_are_found() -> None:
    assert {"producers.values", "models.history", "stream.guard", "api.body_limit"} <= set(EXAMPLES)
    assert set(EXAMPLES) >= STARTS_SERVICES


@pytest.mark.parametrize("name", examples())
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # examples name the bundled files relative to the repository
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
