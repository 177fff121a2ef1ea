"""Fixtures for the producer tests (the shared constants live in ``bundled_files``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundled_files import DATA


@pytest.fixture
def data_dir() -> Path:
    """The bundled real data (a user clone has only this folder)."""
    return DATA
