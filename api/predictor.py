"""Ad-hoc forecasts from the sensors' state checkpoints, through the online core.

``models.core.ForecastCore`` is imported lazily: the gateway runs (and answers 503 on these
routes) without it. Calls are blocking; run them in a thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class CoreUnavailableError(RuntimeError):
    """The forecasting core (``models.core``) is not installed in this process."""


def _core() -> Any:
    try:
        from models.core import ForecastCore
    except ImportError as exc:
        raise CoreUnavailableError("the forecasting core is not available on this gateway") from exc
    return ForecastCore()


def predict_many(blobs: dict[str, bytes], wanted: list[tuple[str, datetime]]) -> list[Any]:
    """For each (sensor, hour): its Forecast wire dict, or a ``str`` saying why not.

    Each sensor's state is imported once; a ``ValueError`` from the core (e.g. an hour too far
    ahead of the sensor's last observation) becomes that entry's reason.
    """
    core: Any = None
    imported: set[str] = set()
    out: list[Any] = []
    for sensor_id, ts in wanted:
        blob = blobs.get(sensor_id)
        if blob is None:
            out.append(f"no model state for sensor {sensor_id!r}")
            continue
        if core is None:
            core = _core()
        if sensor_id not in imported:
            core.import_sensor(sensor_id, blob)
            imported.add(sensor_id)
        try:
            out.append(core.predict_at(sensor_id, ts).to_dict())
        except ValueError as exc:
            out.append(str(exc) or "cannot forecast that hour")
    return out
