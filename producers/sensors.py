"""The sensor catalog: id, name and position of each counting arc, for the API and dashboard.

Built from the sensor referential (``id_arc_tra`` = ``iu_ac``, ``geo_point_2d`` = "lat, lon")
and from readings files (``libelle``, ``geo_point_2d``). The first known value of each field
wins; later files only fill what is still missing.

>>> parse_geo_point("48.8804688997, 2.28668204502")
(48.8804688997, 2.28668204502)
>>> parse_geo_point({"lon": 2.37, "lat": 48.9})
(48.9, 2.37)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from producers.formats import (
    UnknownFormatError,
    is_referential_file,
    iter_raw_records,
    iter_referential,
)
from producers.formats.headers import GEO_POINT, NAME, SENSOR_ID
from producers.values import InvalidValueError, parse_number, parse_sensor_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """One counting arc: its id (``iu_ac``), name (``libelle``) and point (WGS 84)."""

    sensor_id: str
    name: str | None = None
    lat: float | None = None
    lon: float | None = None


def _number(value: Any) -> float | None:
    try:
        return parse_number(value)
    except InvalidValueError:
        return None


def _valid_point(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def parse_geo_point(value: Any, spill: Any = None) -> tuple[float, float] | None:
    """``(lat, lon)`` from ``"lat, lon"``, ``{"lat", "lon"}``, or — in a re-saved CSV whose
    unquoted ``"lat,lon"`` was split in two columns — a lone lat plus ``spill`` (the lon)."""
    if isinstance(value, Mapping):
        return _valid_point(_number(value.get("lat")), _number(value.get("lon")))
    if not isinstance(value, str) or not value.strip():
        return None
    parts = value.split(",")
    if len(parts) == 2:
        return _valid_point(_number(parts[0]), _number(parts[1]))
    if len(parts) == 1 and spill is not None:
        return _valid_point(_number(parts[0]), _number(spill))
    return None


def _merge(catalog: dict[str, SensorInfo], info: SensorInfo) -> None:
    known = catalog.get(info.sensor_id)
    if known is None:
        catalog[info.sensor_id] = info
        return
    if known.name is None and info.name:
        known = replace(known, name=info.name)
    if known.lat is None and info.lat is not None:
        known = replace(known, lat=info.lat, lon=info.lon)
    catalog[info.sensor_id] = known


def _info(raw_id: Any, name: Any, point: tuple[float, float] | None) -> SensorInfo | None:
    try:
        sensor_id = parse_sensor_id(raw_id)
    except InvalidValueError:
        return None
    lat, lon = point if point else (None, None)
    label = name.strip() if isinstance(name, str) and name.strip() else None
    return SensorInfo(sensor_id, label, lat, lon)


def _spilled_lon(fields: Mapping[str, Any]) -> Any:
    return next((v for k, v in fields.items() if k.startswith("unnamed")), None)


def _from_readings(path: Path) -> Iterable[SensorInfo]:
    complete: set[str] = set()
    for record in iter_raw_records(path):
        fields = record.fields
        key = str(fields.get(SENSOR_ID))
        if key in complete:
            continue
        point = parse_geo_point(fields.get(GEO_POINT), _spilled_lon(fields))
        info = _info(fields.get(SENSOR_ID), fields.get(NAME), point)
        if info is not None:
            if info.name is not None and info.lat is not None:
                complete.add(key)
            yield info


def _from_referential(path: Path) -> Iterable[SensorInfo]:
    for row in iter_referential(path):
        info = _info(row.get("id_arc_tra"), None, parse_geo_point(row.get("geo_point_2d")))
        if info is not None:
            yield info


def load_sensor_catalog(paths: Iterable[Path], *, strict: bool = False) -> dict[str, SensorInfo]:
    """Sensor id → `SensorInfo` from the referential and/or readings files, in any order.

    A file in an unknown format is skipped with a logged warning, or raises
    `UnknownFormatError` if ``strict``.
    """
    catalog: dict[str, SensorInfo] = {}
    for path in paths:
        try:
            referential = is_referential_file(path)
            infos = _from_referential(path) if referential else _from_readings(path)
            for info in infos:
                _merge(catalog, info)
        except UnknownFormatError as exc:
            if strict:
                raise
            log.warning("sensor catalog: skipped %s", exc)
    return catalog
