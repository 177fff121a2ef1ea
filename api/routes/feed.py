"""``GET /feed``: freshness of the live feed, as ``flowcast live`` last wrote it to Redis."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import CurrentUser, GatewayDep
from api.schemas import ErrorOut

router = APIRouter(prefix="/feed", tags=["feed"])
log = logging.getLogger(__name__)
EXAMPLE: dict[str, Any] = {
    "source": "https://opendata.paris.fr/api/explore/v2.1/catalog/datasets/"
    "comptages-routiers-permanents/records",
    "every_s": 600.0,
    "newest_data_hour": "2026-06-21T09:00:00Z",
    "last_success": "2026-06-21T10:32:05Z",
    "last_poll": "2026-06-21T10:32:05Z",
    "last_error": {
        "at": "2026-06-21T08:12:40Z",
        "reason": "http_5xx",
        "message": "503 '<html>…'; gave up after 9 attempts",
    },
}


class FeedErrorOut(BaseModel):
    """The last error of a poll."""

    at: str
    reason: str = Field(description="stable reason (the label of flowcast_feed_errors_total)")
    message: str


class FeedStatusOut(BaseModel):
    """What the live feed last reported (timestamps in UTC, null until they happen)."""

    model_config = ConfigDict(json_schema_extra={"example": EXAMPLE})
    source: str = Field(description="the records endpoint polled")
    every_s: float = Field(description="seconds between polls")
    newest_data_hour: str | None = Field(description="start of the newest hour of data read")
    last_success: str | None = Field(description="when the last poll without error ended")
    last_poll: str | None
    last_error: FeedErrorOut | None


@router.get(
    "",
    response_model=FeedStatusOut,
    responses={
        404: {"model": ErrorOut, "description": "no live feed has reported"},
        503: {"model": ErrorOut, "description": "the status in Redis is malformed"},
    },
)
async def feed(gateway: GatewayDep, _: CurrentUser) -> Any:
    """Newest data hour, last successful poll and last error of ``flowcast live``."""
    raw = await gateway.store.feed_status()
    if raw is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "no live feed has reported (the stack replays files, or flowcast live is not running)",
        )
    try:
        return FeedStatusOut.model_validate(raw)
    except ValidationError:
        log.warning("the live feed's status in Redis is malformed")
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the live feed's status is unreadable"
        ) from None
