"""Names of every Redis key and channel Flowcast uses: the contract between stream/ and api/.

- ``LATEST``: hash sensor_id → latest Forecast JSON.
- ``history(sensor)``: sorted set of hourly entries scored by hour index (epoch hours), capped
  to the newest ``Settings.history_hours``; each member a JSON object
  ``{"ts", "forecast": Forecast|null, "observed": float|null}`` written when the observation of
  ``ts`` arrives (rewriting an hour first removes that score: idempotent).
- ``STATE``: hash sensor_id → the sensor's compact core state (bytes of
  ``models.core.ForecastCore.export_sensor``), the worker's checkpoint. Only workers read it:
  the gateway never deserialises model state (it serves ``OUTLOOK`` and ``SENSOR_STATUS``).
- ``OUTLOOK``: hash sensor_id → the sensor's latest 24-hour outlook JSON
  (``models.outlook.Outlook``): ``{"sensor_id", "observed_ts", "forecasts": [...]}``, the
  Forecast objects of hours ``observed_ts + 1 h`` … ``+ 24 h`` in order, each with an added
  ``"horizon"`` (1 … 24) and ``"usual"`` (the profile's flow for that hour, or null); extra
  per-hour keys may be added. Written in the batch's transaction from the sensor's latest
  state (once per sensor touched by the batch); served by ``GET /forecasts/{id}/outlook``,
  ``POST /predict`` and ``POST /forecasts/batch``.
- ``SENSOR_STATUS``: hash sensor_id → small JSON (``models.status.SensorStatus``):
  ``{"sensor_id", "hours_seen", "hours_learned", "first_ts", "last_ts", "model",
  "model_version", "challenger": {"phase": "none"|"on_trial"|"serving", "started",
  "serving_since", "reason"}}``, written beside the outlook; read by the screens and by the
  admin promote/rollback checks.
- ``EVALUATION``: hash sensor_id → JSON of that sensor's metric accumulators per model.
- ``LAST_READING``: hash sensor_id → latest Reading JSON.
- ``STATS``: hash of worker counters (``processed``, ``duplicates``, ``dead_letters``), bumped in
  each batch's transaction: the pipeline's progress, readable without scraping every worker.
- ``FORECASTS_CHANNEL`` / ``ALERTS_CHANNEL``: pub/sub, one JSON message per forecast / alert.
  A forecast message is the Forecast JSON plus, when the sensor has an outlook, ``"outlook"``:
  its columns ``{"flow": [24], "flow_low": [24], "flow_high": [24], "usual": [24]}`` (index i
  is hour ``ts + i h``, values rounded to 0.1 veh/h; see ``models.outlook.Outlook.compact``).
- ``ALERTS``: hash alert id → latest Alert JSON (``models.alerts.Alert``: ``id``, ``kind``,
  ``sensor_id``, ``ts``, ``phase``, ``severity``, ``message``, ``details``). The id is the
  de-duplication key ``kind:sensor:episode-start-hour``: a later phase of the same event
  (a drift's ``switched``) overwrites it; each write is also published on ``ALERTS_CHANNEL``.
- ``ALERT_ACKS``: hash alert id → JSON ``{"by", "at"}`` written by the gateway when an admin
  acknowledges the alert (kept apart so that a later phase never clears an acknowledgement).
- ``ANOMALIES``: hash sensor_id → JSON ``{"ts", "kinds"}`` of its latest anomalous reading.
- ``AUDIT``: list of JSON audit entries (newest first, capped to ``AUDIT_MAX``): lifecycle
  decisions of the worker (``challenger_started``, ``switched``, ``dropped``, ``promote``,
  ``rollback``) and admin requests of the gateway (``ack``, ``promote_requested``, …).
- ``COMMANDS``: hash sensor_id → JSON ``{"command": "promote"|"rollback", "by", "at"}``: an
  admin's pending command. The worker owning the sensor applies it just before it processes
  that sensor's next batch (so it acts on the live state, never on a stale checkpoint), deletes
  it in that batch's transaction and logs the outcome in ``AUDIT``. With no readings flowing
  the command waits.
- ``STATS`` also counts ``anomalies`` and ``alerts``.
- ``FEED_STATUS``: string, JSON written by ``flowcast live`` after every poll:
  ``{"source", "every_s", "newest_data_hour", "last_success", "last_poll", "last_error"}``
  (timestamps in the wire form or null; ``last_error`` null or ``{"at", "reason", "message"}``).
  The gateway serves it at ``GET /feed``; the dashboard shows its freshness line.
"""

from __future__ import annotations

PREFIX = "flowcast"
LATEST = f"{PREFIX}:forecast:latest"
LAST_READING = f"{PREFIX}:reading:latest"
EVALUATION = f"{PREFIX}:evaluation"
STATE = f"{PREFIX}:state"
OUTLOOK = f"{PREFIX}:outlook"
SENSOR_STATUS = f"{PREFIX}:sensor:status"
STATS = f"{PREFIX}:stats"
FORECASTS_CHANNEL = f"{PREFIX}:forecasts"
ALERTS_CHANNEL = f"{PREFIX}:alerts"
ALERTS = f"{PREFIX}:alerts:latest"
ALERT_ACKS = f"{PREFIX}:alerts:acks"
ANOMALIES = f"{PREFIX}:anomalies:latest"
AUDIT = f"{PREFIX}:audit"
AUDIT_MAX = 10_000
COMMANDS = f"{PREFIX}:admin:commands"
FEED_STATUS = f"{PREFIX}:feed:status"


def history(sensor_id: str) -> str:
    return f"{PREFIX}:history:{sensor_id}"
