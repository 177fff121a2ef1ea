"""Names of every Redis key and channel Flowcast uses: the contract between stream/ and api/.

- ``LATEST``: hash sensor_id → latest Forecast JSON.
- ``history(sensor)``: sorted set of hourly entries scored by hour index (epoch hours), capped
  to the newest ``Settings.history_hours``; each member a JSON object
  ``{"ts", "forecast": Forecast|null, "observed": float|null}`` written when the observation of
  ``ts`` arrives (rewriting an hour first removes that score: idempotent).
- ``STATE``: hash sensor_id → the sensor's compact core state (bytes of
  ``models.core.ForecastCore.export_sensor``), a checkpoint the gateway reads for /predict.
- ``EVALUATION``: hash sensor_id → JSON of that sensor's metric accumulators per model.
- ``LAST_READING``: hash sensor_id → latest Reading JSON.
- ``STATS``: hash of worker counters (``processed``, ``duplicates``, ``dead_letters``), bumped in
  each batch's transaction: the pipeline's progress, readable without scraping every worker.
- ``FORECASTS_CHANNEL`` / ``ALERTS_CHANNEL``: pub/sub, one JSON message per forecast / alert.
"""

from __future__ import annotations

PREFIX = "flowcast"
LATEST = f"{PREFIX}:forecast:latest"
LAST_READING = f"{PREFIX}:reading:latest"
EVALUATION = f"{PREFIX}:evaluation"
STATE = f"{PREFIX}:state"
STATS = f"{PREFIX}:stats"
FORECASTS_CHANNEL = f"{PREFIX}:forecasts"
ALERTS_CHANNEL = f"{PREFIX}:alerts"


def history(sensor_id: str) -> str:
    return f"{PREFIX}:history:{sensor_id}"
