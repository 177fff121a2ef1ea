"""Where each sensor is: the city's sensor catalog, loaded once and lazily.

The catalog comes from ``producers.sensors.load_sensor_catalog`` (the referential of counting
arcs plus the bundled exports). If the files are missing or unreadable, the gateway still
answers with the sensors it sees in Redis, without names or coordinates.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from producers.bundled import bundled_data_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Place:
    """A sensor's name and position (WGS84 degrees), each possibly unknown."""

    sensor_id: str
    name: str | None
    lat: float | None
    lon: float | None


def _place(sensor_id: str, info: Any) -> Place:
    lat, lon = getattr(info, "lat", None), getattr(info, "lon", None)
    return Place(
        sensor_id=sensor_id,
        name=getattr(info, "name", None) or None,
        lat=float(lat) if lat is not None else None,
        lon=float(lon) if lon is not None else None,
    )


def load_places(data_dir: Path | None = None) -> dict[str, Place]:
    """Read the catalog from the files in ``data_dir`` (default: the bundled data); empty if
    it cannot be read."""
    from producers.sensors import load_sensor_catalog  # reads files: only when first needed

    try:
        data_dir = data_dir or bundled_data_dir()
        paths = sorted(p for p in data_dir.glob("*") if p.is_file())
        catalog = load_sensor_catalog(paths)
    except Exception:  # a missing or broken data file must not take the gateway down
        log.exception("could not load the sensor catalog from %s", data_dir)
        return {}
    return {str(k): _place(str(k), v) for k, v in catalog.items()}


class Catalog:
    """The catalog, loaded in a thread on first use and kept for the process' life."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self._places: dict[str, Place] | None = None
        self._lock = asyncio.Lock()

    async def places(self) -> dict[str, Place]:
        """sensor_id → `Place`."""
        if self._places is None:
            async with self._lock:
                if self._places is None:
                    self._places = await asyncio.to_thread(load_places, self.data_dir)
        return self._places

    def preset(self, places: dict[str, Place]) -> None:
        """Use ``places`` instead of reading files (tests, embedded stacks)."""
        self._places = dict(places)

    async def place(self, sensor_id: str) -> Place:
        """The place of one sensor, with unknown name/position if the catalog lacks it."""
        return (await self.places()).get(sensor_id) or Place(sensor_id, None, None, None)
