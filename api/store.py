"""Read side of the Redis contract (``flowcast.redis_keys``): thin async adapters, no logic.

Values are returned as parsed JSON dicts in their wire form; a malformed value written by
someone else is skipped (logged), never turned into a 500. `Store.latest_raw` is the hot path's
exception: the worker validated the forecast before writing it, so its stored JSON bytes are
served as they are (only a cheap check that they are a JSON object).

Outlooks and sensor statuses are validated (`models.outlook`, `models.status`: pure data, no
model code); one that is not valid raises `StoredValueError` (a JSON 503 naming the value,
`api.errors`). The gateway never reads the workers' model checkpoints (``redis_keys.STATE``).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from redis.asyncio import Redis

from api.coalesce import HashReader
from flowcast import redis_keys as keys
from models.outlook import Outlook
from models.status import SensorStatus

log = logging.getLogger(__name__)


class StoredValueError(Exception):
    """A value the workers write (an outlook, a status) is not valid in Redis."""

    def __init__(self, what: str, sensor_id: str) -> None:
        super().__init__(
            f"the stored {what} of sensor {sensor_id!r} is unreadable; its worker rewrites "
            "it with the sensor's next reading"
        )
        self.what = what
        self.sensor_id = sensor_id


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _outlook(raw: bytes, sensor_id: str) -> Outlook:
    try:
        outlook = Outlook.from_json(raw)
    except ValueError as exc:
        log.warning("outlook of sensor %r in Redis is not valid: %s", sensor_id, exc)
        raise StoredValueError("outlook", sensor_id) from exc
    if outlook.sensor_id != sensor_id:
        log.warning("outlook stored under sensor %r names another sensor", sensor_id)
        raise StoredValueError("outlook", sensor_id)
    return outlook


def _parse(raw: bytes | str | None, what: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("skipping malformed %s in Redis", what)
        return None
    return value if isinstance(value, dict) else None


def _raw_object(raw: bytes | str | None, what: str) -> bytes | None:
    """``raw`` as bytes if it looks like a JSON object (``{…}``), else None (logged)."""
    if raw is None:
        return None
    data = raw.encode() if isinstance(raw, str) else raw
    if data[:1] == b"{" and data.rstrip()[-1:] == b"}":
        return data
    log.warning("skipping malformed %s in Redis", what)
    return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _parse_hash(raw: dict[Any, Any], what: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        parsed = _parse(value, what)
        if parsed is not None:
            out[_text(key)] = parsed
    return out


class Store:
    """Everything the gateway reads from (and the few things it deletes in) Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._latest = HashReader(redis, keys.LATEST)

    async def latest_all(self) -> dict[str, dict[str, Any]]:
        """sensor_id → latest Forecast (wire form)."""
        return _parse_hash(await self.redis.hgetall(keys.LATEST), "forecast")

    async def latest_many(self, sensor_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Latest forecasts of the given sensors (absent ones left out)."""
        if not sensor_ids:
            return {}
        values = await self.redis.hmget(keys.LATEST, sensor_ids)
        pairs = ((s, _parse(v, "forecast")) for s, v in zip(sensor_ids, values, strict=True))
        return {s: v for s, v in pairs if v is not None}

    async def latest(self, sensor_id: str) -> dict[str, Any] | None:
        """Latest forecast of one sensor."""
        return _parse(await self.redis.hget(keys.LATEST, sensor_id), "forecast")

    async def latest_raw(self, sensor_id: str) -> bytes | None:
        """Latest forecast of one sensor as its stored JSON bytes (not re-serialised).

        Concurrent calls share one ``HMGET`` (`api.coalesce.HashReader`).
        """
        return _raw_object(await self._latest.get(sensor_id), "forecast")

    async def readings_all(self) -> dict[str, dict[str, Any]]:
        """sensor_id → last Reading (wire form)."""
        return _parse_hash(await self.redis.hgetall(keys.LAST_READING), "reading")

    async def reading(self, sensor_id: str) -> dict[str, Any] | None:
        """Last reading of one sensor."""
        return _parse(await self.redis.hget(keys.LAST_READING, sensor_id), "reading")

    async def forecast_ids(self) -> set[str]:
        """Sensors with a latest forecast."""
        return {_text(k) for k in await self.redis.hkeys(keys.LATEST)}

    async def seen_sensors(self) -> set[str]:
        """Sensors with a forecast or a reading in Redis."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hkeys(keys.LATEST)
            pipe.hkeys(keys.LAST_READING)
            latest, readings = await pipe.execute()
        return {_text(k) for k in [*latest, *readings]}

    async def is_seen(self, sensor_id: str) -> bool:
        """Whether Redis knows anything about ``sensor_id``."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hexists(keys.LATEST, sensor_id)
            pipe.hexists(keys.LAST_READING, sensor_id)
            pipe.exists(keys.history(sensor_id))
            found = await pipe.execute()
        return any(found)

    async def history(self, sensor_id: str, hours: int) -> list[dict[str, Any]]:
        """Entries of the newest ``hours`` hours of the sensor's history, oldest first.

        The window ends at the newest stored hour (replays run in simulated time).
        """
        newest = await self.redis.zrevrange(keys.history(sensor_id), 0, 0, withscores=True)
        if not newest:
            return []
        top = int(newest[0][1])
        raw: list[Any] = await self.redis.zrangebyscore(
            keys.history(sensor_id), top - hours + 1, top
        )
        return [e for e in (_parse(r, "history entry") for r in raw) if e is not None]

    async def evaluation(self) -> dict[str, dict[str, Any]]:
        """sensor_id → that sensor's metric accumulators."""
        return _parse_hash(await self.redis.hgetall(keys.EVALUATION), "evaluation")

    async def outlook_raw(self, sensor_id: str) -> tuple[bytes, Outlook] | None:
        """The sensor's stored outlook JSON (served as is) and its validated form; None if
        there is none; `StoredValueError` if it is not valid."""
        raw = await self.redis.hget(keys.OUTLOOK, sensor_id)
        if raw is None:
            return None
        data = _bytes(raw)
        return data, _outlook(data, sensor_id)

    async def outlooks(self, sensor_ids: list[str]) -> dict[str, Outlook | StoredValueError]:
        """Validated outlooks of the given sensors (absent ones left out; invalid ones as
        their `StoredValueError`, for the caller to report per sensor)."""
        if not sensor_ids:
            return {}
        values = await self.redis.hmget(keys.OUTLOOK, sensor_ids)
        out: dict[str, Outlook | StoredValueError] = {}
        for sensor_id, raw in zip(sensor_ids, values, strict=True):
            if raw is None:
                continue
            try:
                out[sensor_id] = _outlook(_bytes(raw), sensor_id)
            except StoredValueError as exc:
                out[sensor_id] = exc
        return out

    async def status(self, sensor_id: str) -> SensorStatus | None:
        """The sensor's status as its worker wrote it; `StoredValueError` if not valid."""
        raw = await self.redis.hget(keys.SENSOR_STATUS, sensor_id)
        if raw is None:
            return None
        try:
            status = SensorStatus.from_json(raw)
        except ValueError as exc:
            log.warning("status of sensor %r in Redis is not valid: %s", sensor_id, exc)
            raise StoredValueError("status", sensor_id) from exc
        if status.sensor_id != sensor_id:
            raise StoredValueError("status", sensor_id)
        return status

    async def feed_status(self) -> dict[str, Any] | None:
        """The live feed's status (``flowcast live``), or None if it never reported."""
        return _parse(await self.redis.get(keys.FEED_STATUS), "feed status")

    async def reset_sensor(self, sensor_id: str) -> dict[str, bool]:
        """Delete the sensor's state checkpoint, latest forecast, outlook and status."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in (keys.STATE, keys.LATEST, keys.OUTLOOK, keys.SENSOR_STATUS):
                pipe.hdel(key, sensor_id)
            state, latest, outlook, status = await pipe.execute()
        return {
            "state": bool(state),
            "latest": bool(latest),
            "outlook": bool(outlook),
            "status": bool(status),
        }
