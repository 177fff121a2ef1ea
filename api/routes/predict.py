"""``POST /predict``: an ad-hoc forecast for one sensor and hour from its state checkpoint."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

from fastapi import APIRouter, HTTPException, status

from api.deps import CurrentUser, GatewayDep
from api.predictor import CoreUnavailableError, predict_many
from api.schemas import ErrorOut, ForecastOut, PredictIn

router = APIRouter(prefix="/predict", tags=["forecasts"])


@router.post(
    "",
    response_model=ForecastOut,
    responses={
        404: {"model": ErrorOut, "description": "no model state for this sensor"},
        422: {"model": ErrorOut, "description": "hour too far ahead, or malformed body"},
        503: {"model": ErrorOut, "description": "Redis or the forecasting core unavailable"},
    },
)
async def predict(body: PredictIn, gateway: GatewayDep, _: CurrentUser) -> dict[str, Any]:
    """Forecast the flow of ``sensor_id`` for the hour containing ``ts``."""
    blob = await gateway.store.state(body.sensor_id)
    if blob is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no model state for sensor {body.sensor_id!r}"
        )
    hour = body.ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    try:
        [result] = await asyncio.to_thread(
            predict_many, {body.sensor_id: blob}, [(body.sensor_id, hour)]
        )
    except CoreUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    if isinstance(result, str):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, result)
    forecast: dict[str, Any] = result
    return forecast
