"""The usage examples in the producer modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest
from bundled_files import DATA

MODULES = [
    "producers.formats",
    "producers.formats.headers",
    "producers.formats.json_source",
    "producers.formats.sniff",
    "producers.filters",
    "producers.pacing",
    "producers.sensors",
    "producers.timestamps",
    "producers.values",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA.parents[1])  # examples name files relative to the repository
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
