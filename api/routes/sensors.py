"""``GET /sensors`` and ``GET /sensors/{sensor_id}``: catalog positions plus what workers wrote
(last reading, latest forecast, status)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from api.catalog import Place
from api.deps import CurrentUser, GatewayDep, SensorIdPath
from api.schemas import ErrorOut, SensorDetail, SensorOut
from api.store import StoredValueError

router = APIRouter(prefix="/sensors", tags=["sensors"])


def _sensor(place: Place, reading: dict[str, Any] | None, has_forecast: bool) -> dict[str, Any]:
    return {
        "sensor_id": place.sensor_id,
        "name": place.name,
        "lat": place.lat,
        "lon": place.lon,
        "traffic_state": reading.get("traffic_state") if reading else None,
        "has_forecast": has_forecast,
    }


@router.get("")
async def list_sensors(gateway: GatewayDep, _: CurrentUser) -> list[SensorOut]:
    """Every known sensor: the catalog's plus any seen in Redis, by id."""
    places = await gateway.catalog.places()
    readings = await gateway.store.readings_all()
    forecast_ids = await gateway.store.forecast_ids()
    ids = sorted(set(places) | set(readings) | forecast_ids)
    out = []
    for sensor_id in ids:
        place = places.get(sensor_id) or Place(sensor_id, None, None, None)
        out.append(SensorOut(**_sensor(place, readings.get(sensor_id), sensor_id in forecast_ids)))
    return out


@router.get("/{sensor_id}", responses={404: {"model": ErrorOut, "description": "unknown sensor"}})
async def get_sensor(gateway: GatewayDep, _: CurrentUser, sensor_id: SensorIdPath) -> SensorDetail:
    """One sensor with its last reading, latest forecast and status (hours seen, served
    model, challenger phase); an unreadable status is left out (logged)."""
    places = await gateway.catalog.places()
    reading = await gateway.store.reading(sensor_id)
    forecast = await gateway.store.latest(sensor_id)
    try:
        found = await gateway.store.status(sensor_id)
    except StoredValueError:
        found = None
    if sensor_id not in places and reading is None and forecast is None and found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown sensor {sensor_id!r}")
    place = places.get(sensor_id) or Place(sensor_id, None, None, None)
    body = _sensor(place, reading, forecast is not None)
    extra = {"last_reading": reading, "forecast": forecast}
    return SensorDetail.model_validate(
        {**body, **extra, "status": found.to_dict() if found else None}
    )
