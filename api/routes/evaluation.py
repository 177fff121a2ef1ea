"""``GET /evaluation``: the live honest metrics, in the ``flowcast evaluate`` report shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, GatewayDep
from api.schemas import ErrorOut
from models.report import report_from_accumulators

router = APIRouter(prefix="/evaluation", tags=["evaluation"])
EXAMPLE = {
    "records": 9312,
    "sensors": 1,
    "scored": 9300,
    "seconds": 0.0,
    "records_per_s": 0.0,
    "champion": {"mae": 61.2, "rmse": 90.4, "r2": 0.93, "smape": 9.8, "n": 9300},
    "models": {"snarimax": {"mae": 61.2, "rmse": 90.4, "r2": 0.93, "smape": 9.8, "n": 9300}},
    "baselines": {
        "persistence": {"mae": 88.0, "rmse": 130.1, "r2": 0.85, "smape": 14.2, "n": 9300}
    },
    "by_sensor": {"4264": {"champion": {}, "persistence": {}}},
}


@router.get(
    "",
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        503: {"model": ErrorOut, "description": "Redis unavailable"},
    },
)
async def evaluation(gateway: GatewayDep, _: CurrentUser) -> dict[str, Any]:
    """Metrics per model and baseline, overall and per sensor (same JSON as the evaluate report)."""
    return report_from_accumulators(await gateway.store.evaluation())
