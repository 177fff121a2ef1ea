"""``POST /predict``: the forecast of one sensor and hour, from its latest stored outlook."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fastapi import APIRouter, HTTPException, status

from api.deps import CurrentUser, GatewayDep
from api.outlooks import HourNotInOutlookError, hour_from
from api.routes.forecasts import stored_outlook
from api.schemas import ErrorOut, PredictIn, PredictOut

router = APIRouter(prefix="/predict", tags=["forecasts"])


@router.post(
    "",
    response_model=PredictOut,
    responses={
        404: {"model": ErrorOut, "description": "unknown sensor, or no outlook for it yet"},
        422: {"model": ErrorOut, "description": "hour outside the outlook, or malformed body"},
        503: {"model": ErrorOut, "description": "Redis unavailable or its outlook unreadable"},
    },
)
async def predict(body: PredictIn, gateway: GatewayDep, _: CurrentUser) -> dict[str, Any]:
    """Forecast the flow of ``sensor_id`` for the hour containing ``ts``.

    The hour must be one of the sensor's latest outlook (the 24 hours after its last
    observation); the answer is that hour's forecast, as the worker computed it.
    """
    _raw, outlook = await stored_outlook(gateway, body.sensor_id)
    hour = body.ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    try:
        return hour_from(outlook, hour)
    except HourNotInOutlookError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
