"""Redis adapter of the lifecycle keys (``flowcast.redis_keys``): alerts, acknowledgements,
anomaly flags, the audit log and admins' pending commands. Thin, no logic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from flowcast import redis_keys as keys


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _loads(raw: Any) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class AlertsStore:
    """Alerts with their acknowledgement, anomaly flags, audit entries, admin commands."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def alerts(self) -> list[dict[str, Any]]:
        """Every stored alert, newest episode first, with ``acknowledged`` (and by whom)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.ALERTS)
            pipe.hgetall(keys.ALERT_ACKS)
            raw, acks = await pipe.execute()
        ack_of = {_text(k): _loads(v) for k, v in acks.items()}
        out = []
        for key, value in raw.items():
            alert = _loads(value)
            if alert is None:
                continue
            ack = ack_of.get(_text(key))
            alert["acknowledged"] = ack is not None
            alert["acknowledged_by"] = ack.get("by") if ack else None
            out.append(alert)
        out.sort(key=lambda a: (str(a.get("ts")), str(a.get("id"))), reverse=True)
        return out

    async def acknowledge(self, alert_id: str, by: str) -> bool:
        """Mark ``alert_id`` acknowledged (idempotent); False if there is no such alert."""
        if not await self.redis.hexists(keys.ALERTS, alert_id):
            return False
        entry = {"by": by, "at": _now()}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(keys.ALERT_ACKS, alert_id, orjson.dumps(entry))
            pipe.lpush(keys.AUDIT, orjson.dumps({"action": "ack", "alert_id": alert_id, **entry}))
            pipe.ltrim(keys.AUDIT, 0, keys.AUDIT_MAX - 1)
            await pipe.execute()
        return True

    async def anomalies(self) -> dict[str, dict[str, Any]]:
        """sensor_id → flags of its latest anomalous reading."""
        raw = await self.redis.hgetall(keys.ANOMALIES)
        pairs = ((_text(k), _loads(v)) for k, v in raw.items())
        return {sensor: flags for sensor, flags in pairs if flags is not None}

    async def audit(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` audit entries, newest first."""
        raw: list[Any] = await self.redis.lrange(keys.AUDIT, 0, limit - 1)
        return [e for e in (_loads(r) for r in raw) if e is not None]

    async def command(self, sensor_id: str, command: str, by: str) -> dict[str, Any]:
        """Queue an admin command for the worker owning ``sensor_id`` (see ``COMMANDS``)."""
        entry = {"command": command, "by": by, "at": _now()}
        audit = {"action": f"{command}_requested", "sensor_id": sensor_id, **entry}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.COMMANDS, sensor_id, orjson.dumps(entry))
            pipe.lpush(keys.AUDIT, orjson.dumps(audit))
            pipe.ltrim(keys.AUDIT, 0, keys.AUDIT_MAX - 1)
            await pipe.execute()
        return entry
