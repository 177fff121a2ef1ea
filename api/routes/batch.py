"""``POST /forecasts/batch``: a CSV of readings in, next-hour forecasts out; bad rows reported.

Each row's forecast is the hour after it, taken from the sensor's latest stored outlook.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, UploadFile, status

from api.batch_csv import BatchFormatError, parse_batch
from api.deps import CurrentUser, GatewayDep
from api.outlooks import forecast_or_reason
from api.schemas import BatchOut, ErrorOut

router = APIRouter(prefix="/forecasts", tags=["forecasts"])
MAX_BYTES = 2 * 1024 * 1024
HOUR = timedelta(hours=1)


async def read_limited(upload: UploadFile, limit: int = MAX_BYTES) -> bytes:
    """The upload's bytes; 413 if larger than ``limit``."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"file larger than {limit // 1024} KiB"
        )
    return data


@router.post(
    "/batch",
    responses={
        400: {"model": ErrorOut, "description": "unusable file (encoding, header, too many rows)"},
        413: {"model": ErrorOut, "description": "file too large"},
        503: {"model": ErrorOut, "description": "Redis unavailable"},
    },
)
async def batch(
    gateway: GatewayDep,
    _: CurrentUser,
    file: Annotated[UploadFile, File(description="CSV with sensor_id and ts columns")],
) -> BatchOut:
    """Forecast the hour after each reading row, from the sensor's latest outlook (a row whose
    next hour the outlook does not hold is reported with the hours it does)."""
    try:
        rows, problems = parse_batch(await read_limited(file))
    except BatchFormatError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    sensors = sorted({row[1] for row in rows})
    outlooks = await gateway.store.outlooks(sensors)
    results = [
        forecast_or_reason(outlooks, sensor, ts.replace(minute=0, second=0, microsecond=0) + HOUR)
        for _, sensor, ts in rows
    ]
    forecasts: list[Any] = []
    errors: list[tuple[int, str]] = list(problems)
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, str):
            errors.append((row[0], result))
        else:
            forecasts.append(result)
    errors.sort()
    return BatchOut.model_validate(
        {
            "rows": len(rows) + len(problems),
            "forecasts": forecasts,
            "errors": [{"line": line, "detail": why} for line, why in errors],
        }
    )
