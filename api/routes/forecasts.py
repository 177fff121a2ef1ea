"""Latest forecasts (all, filtered, one sensor) and a sensor's recent forecast-vs-observed."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Response, status

from api.catalog import Place
from api.context import Gateway
from api.deps import CurrentUser, GatewayDep, SensorIdPath
from api.schemas import ErrorOut, ForecastOut, HistoryOut, OutlookOut
from flowcast.records import TrafficState, is_sensor_id
from models.outlook import Outlook

router = APIRouter(prefix="/forecasts", tags=["forecasts"])
MAX_IDS = 5000
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "unknown sensor"}
}
BAD_FILTER: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "malformed filter"}
}


def json_response(content: Any) -> Response:
    """Serialise with orjson (the hot path skips re-validating the workers' records)."""
    return Response(orjson.dumps(content), media_type="application/json")


def parse_ids(ids: str) -> set[str]:
    """``"4264,5671"`` → ids; 422 if one is malformed or there are too many."""
    out = {part.strip() for part in ids.split(",") if part.strip()}
    if len(out) > MAX_IDS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"at most {MAX_IDS} ids")
    bad = [i for i in out if not is_sensor_id(i)]
    if bad:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"bad sensor id {bad[0]!r}")
    return out


def parse_bbox(bbox: str) -> tuple[float, float, float, float]:
    """``"minlon,minlat,maxlon,maxlat"`` (WGS84 degrees) → floats; 422 if malformed."""
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in bbox.split(","))
    except ValueError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "bbox must be minlon,minlat,maxlon,maxlat"
        ) from exc
    box = (minlon, minlat, maxlon, maxlat)
    if not (-180 <= minlon <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "bbox out of range or inverted")
    return box


def in_bbox(place: Place | None, box: tuple[float, float, float, float]) -> bool:
    """Whether a sensor with a known position lies in the box."""
    if place is None or place.lat is None or place.lon is None:
        return False
    return box[0] <= place.lon <= box[2] and box[1] <= place.lat <= box[3]


@router.get("/latest", response_model=list[ForecastOut], responses=BAD_FILTER)
async def latest(
    gateway: GatewayDep,
    _: CurrentUser,
    ids: Annotated[str | None, Query(description="comma-separated sensor ids")] = None,
    bbox: Annotated[
        str | None,
        Query(description="minlon,minlat,maxlon,maxlat", examples=["2.25,48.81,2.42,48.9"]),
    ] = None,
    state: Annotated[
        TrafficState | None, Query(description="traffic state of the sensor's last reading")
    ] = None,
) -> Response:
    """The latest forecast of every sensor, optionally filtered (filters combine with AND)."""
    wanted = parse_ids(ids) if ids is not None else None
    box = parse_bbox(bbox) if bbox is not None else None
    if wanted is not None:
        forecasts = await gateway.store.latest_many(sorted(wanted))
    else:
        forecasts = await gateway.store.latest_all()
    if box is not None:
        places = await gateway.catalog.places()
        forecasts = {s: f for s, f in forecasts.items() if in_bbox(places.get(s), box)}
    if state is not None:
        readings = await gateway.store.readings_all()
        forecasts = {
            s: f for s, f in forecasts.items() if readings.get(s, {}).get("traffic_state") == state
        }
    return json_response([forecasts[s] for s in sorted(forecasts)])


@router.get("/{sensor_id}", response_model=ForecastOut, responses=NOT_FOUND)
async def for_sensor(gateway: GatewayDep, _: CurrentUser, sensor_id: SensorIdPath) -> Response:
    """The latest forecast of one sensor.

    The body is the forecast's JSON exactly as the worker stored it (validated when written);
    ``response_model`` only documents it.
    """
    forecast = await gateway.store.latest_raw(sensor_id)
    if forecast is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no forecast for sensor {sensor_id!r}")
    return Response(forecast, media_type="application/json")


def mean_abs_error(points: list[dict[str, Any]]) -> tuple[float | None, int]:
    """MAE of forecast flow vs observed over the hours that have both."""
    errors = []
    for point in points:
        forecast, observed = point.get("forecast"), point.get("observed")
        if isinstance(forecast, dict) and isinstance(observed, int | float):
            flow = forecast.get("flow")
            if isinstance(flow, int | float):
                errors.append(abs(flow - observed))
    return (sum(errors) / len(errors) if errors else None), len(errors)


@router.get("/{sensor_id}/history", response_model=HistoryOut, responses=NOT_FOUND)
async def history(
    gateway: GatewayDep,
    _: CurrentUser,
    sensor_id: SensorIdPath,
    hours: Annotated[int, Query(ge=1, le=24 * 366, description="window, newest hours")] = 168,
) -> Response:
    """Forecast vs observed over the newest ``hours`` stored hours, with the live MAE."""
    hours = min(hours, gateway.settings.history_hours)
    points = await gateway.store.history(sensor_id, hours)
    if not points and not await known(gateway, sensor_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown sensor {sensor_id!r}")
    mae, n = mean_abs_error(points)
    body = {"sensor_id": sensor_id, "hours": hours, "points": points, "mae": mae, "n": n}
    return json_response(body)


async def known(gateway: Gateway, sensor_id: str) -> bool:
    """Whether the catalog or Redis knows ``sensor_id``."""
    return sensor_id in await gateway.catalog.places() or await gateway.store.is_seen(sensor_id)


OUTLOOK_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "unknown sensor, or no outlook for it yet"},
    503: {"model": ErrorOut, "description": "Redis unavailable or the outlook unreadable"},
}


async def stored_outlook(gateway: Gateway, sensor_id: str) -> tuple[bytes, Outlook]:
    """The sensor's outlook (stored JSON, validated form); 404 saying whether the sensor is
    unknown or has no outlook yet; 503 (`api.store.StoredValueError`) if it is unreadable."""
    found = await gateway.store.outlook_raw(sensor_id)
    if found is not None:
        return found
    if not await known(gateway, sensor_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown sensor {sensor_id!r}")
    raise HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"no outlook for sensor {sensor_id!r} yet: it comes with the sensor's next forecast",
    )


@router.get("/{sensor_id}/outlook", response_model=OutlookOut, responses=OUTLOOK_ERRORS)
async def outlook(gateway: GatewayDep, _: CurrentUser, sensor_id: SensorIdPath) -> Response:
    """The sensor's latest 24-hour outlook: hours observed_ts + 1 h … + 24 h, each a forecast
    with its ``horizon`` and the ``usual`` flow of that hour (validated, served as stored)."""
    raw, _checked = await stored_outlook(gateway, sensor_id)
    return Response(raw, media_type="application/json")
