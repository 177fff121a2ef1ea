"""A model snapshot: the exported states of some sensors in one zip file.

>>> import tempfile
>>> from datetime import UTC, datetime
>>> path = Path(tempfile.mkdtemp()) / "core.zip"
>>> write_snapshot(path, {"376": b"state"}, datetime(2024, 1, 1, tzinfo=UTC), {"app_id": "a"})
>>> read_snapshot(path)
{'376': b'state'}
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote

import orjson

from models.core import CORE_VERSION

MANIFEST = "manifest.json"
STATES = "states/"


def write_snapshot(
    path: Path, blobs: Mapping[str, bytes], taken_at: datetime, params: Mapping[str, str]
) -> None:
    """Write ``{sensor_id: ForecastCore.export_sensor(...)}`` and a manifest to ``path``."""
    manifest = {
        "core_version": CORE_VERSION,
        "taken_at": taken_at.isoformat(),
        "sensors": sorted(blobs),
        "params": dict(params),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        for sensor, blob in blobs.items():
            archive.writestr(f"{STATES}{quote(sensor, safe='')}.bin", blob)


def read_snapshot(path: Path) -> dict[str, bytes]:
    """The states of a snapshot (restore one with ``ForecastCore.import_sensor``)."""
    with zipfile.ZipFile(path) as archive:
        return {
            unquote(name[len(STATES) : -len(".bin")]): archive.read(name)
            for name in archive.namelist()
            if name.startswith(STATES)
        }


def read_manifest(path: Path) -> dict[str, object]:
    """The manifest of a snapshot (core version, time, sensors, worker params)."""
    with zipfile.ZipFile(path) as archive:
        manifest: dict[str, object] = orjson.loads(archive.read(MANIFEST))
    return manifest
