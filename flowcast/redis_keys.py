"""Names of every Redis key and channel Flowcast uses: the contract between stream/ and api/.

- ``LATEST``: hash sensor_id → latest Forecast JSON.
- ``history(sensor)``: list of hourly entries (newest first, capped), each a JSON object
  ``{"ts", "forecast": Forecast|null, "observed": float|null}``.
- ``EVALUATION``: hash sensor_id → JSON of that sensor's metric accumulators per model.
- ``LAST_READING``: hash sensor_id → latest Reading JSON.
- ``FORECASTS_CHANNEL`` / ``ALERTS_CHANNEL``: pub/sub, one JSON message per forecast / alert.
"""

from __future__ import annotations

PREFIX = "flowcast"
LATEST = f"{PREFIX}:forecast:latest"
LAST_READING = f"{PREFIX}:reading:latest"
EVALUATION = f"{PREFIX}:evaluation"
FORECASTS_CHANNEL = f"{PREFIX}:forecasts"
ALERTS_CHANNEL = f"{PREFIX}:alerts"


def history(sensor_id: str) -> str:
    return f"{PREFIX}:history:{sensor_id}"
