"""Forecasts of given hours from the sensors' stored outlooks (no model code in the gateway).

>>> from datetime import datetime, UTC
>>> span(datetime(2022, 6, 17, 15, tzinfo=UTC), datetime(2022, 6, 18, 14, tzinfo=UTC))
'2022-06-17T15:00:00Z to 2022-06-18T14:00:00Z'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.store import StoredValueError
from flowcast.records import format_utc
from models.outlook import Outlook


class HourNotInOutlookError(ValueError):
    """The hour asked for is outside the sensor's latest outlook."""


def span(first: datetime, last: datetime) -> str:
    """``first to last`` in the wire form of timestamps."""
    return f"{format_utc(first)} to {format_utc(last)}"


def hour_from(outlook: Outlook, ts: datetime) -> dict[str, Any]:
    """The outlook hour starting at ``ts`` (wire dict with ``horizon`` and ``usual``);
    `HourNotInOutlookError` naming the hours the outlook holds otherwise."""
    hour = outlook.at(ts)
    if hour is None:
        raise HourNotInOutlookError(
            f"hour {format_utc(ts)} is outside sensor {outlook.sensor_id}'s outlook "
            f"(observed {format_utc(outlook.observed_ts)}); forecasts cover "
            f"{span(outlook.first_ts, outlook.last_ts)}"
        )
    return hour.to_dict()


def forecast_or_reason(
    outlooks: dict[str, Outlook | StoredValueError], sensor_id: str, ts: datetime
) -> dict[str, Any] | str:
    """The forecast of ``sensor_id`` for ``ts``, or why there is none (a batch row's error)."""
    outlook = outlooks.get(sensor_id)
    if outlook is None:
        return f"no outlook for sensor {sensor_id!r} yet"
    if isinstance(outlook, StoredValueError):
        return str(outlook)
    try:
        return hour_from(outlook, ts)
    except HourNotInOutlookError as exc:
        return str(exc)
