"""Gateway accounts, kept in the Redis hash ``flowcast:users`` so every replica shares them.

Each field is a username; each value the JSON ``{"hash": <argon2>, "role": "operator"|"admin"}``.
Hashing runs in a worker thread so a login never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from api.security import Role, hash_password, verify_password
from flowcast.redis_keys import PREFIX
from flowcast.settings import PLACEHOLDER_SECRETS, Settings

USERS = f"{PREFIX}:users"
CACHE_SECONDS = 5.0
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class User:
    """An account: its name and role (the hash never leaves this module)."""

    username: str
    role: Role


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class UserStore:
    """Create, check, list and delete accounts; role look-ups cached a few seconds."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._roles: dict[str, tuple[float, Role | None]] = {}

    async def _record(self, username: str) -> dict[str, str] | None:
        raw = await self.redis.hget(USERS, username)
        if raw is None:
            return None
        data = orjson.loads(raw)
        return data if isinstance(data, dict) else None

    async def put(self, username: str, password: str, role: Role) -> None:
        """Create or replace ``username`` with a fresh hash of ``password``."""
        hashed = await asyncio.to_thread(hash_password, password)
        await self.redis.hset(USERS, username, orjson.dumps({"hash": hashed, "role": role.value}))
        self._roles.pop(username, None)

    async def delete(self, username: str) -> bool:
        """Remove ``username``; False if there was no such account."""
        self._roles.pop(username, None)
        return bool(await self.redis.hdel(USERS, username))

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user if ``password`` matches, else None (same cost either way)."""
        record = await self._record(username)
        hashed = record.get("hash") if record else None
        if not await asyncio.to_thread(verify_password, password, hashed) or record is None:
            return None
        return User(username, Role(record.get("role", Role.OPERATOR)))

    async def role_of(self, username: str) -> Role | None:
        """Current role of ``username`` (None if deleted), cached ``CACHE_SECONDS``."""
        now = time.monotonic()
        cached = self._roles.get(username)
        if cached is not None and cached[0] > now:
            return cached[1]
        record = await self._record(username)
        role = Role(record["role"]) if record and record.get("role") in set(Role) else None
        self._roles[username] = (now + CACHE_SECONDS, role)
        return role

    async def list(self) -> list[User]:
        """Every account, sorted by name."""
        raw = await self.redis.hgetall(USERS)
        users = [User(_text(k), Role(orjson.loads(v)["role"])) for k, v in raw.items()]
        return sorted(users, key=lambda u: u.username)


async def bootstrap_admin(store: UserStore, settings: Settings) -> None:
    """Create (or reset) the admin from ``admin_user`` / ``admin_password`` at start.

    Without a password the existing accounts are kept; in production a placeholder password
    is refused.
    """
    password = settings.admin_password
    if password is None:
        if await store.role_of(settings.admin_user) is None:
            log.warning("no FLOWCAST_ADMIN_PASSWORD and no admin %r yet", settings.admin_user)
        return
    if settings.environment == "production" and password.strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError("FLOWCAST_ADMIN_PASSWORD must not be a placeholder in production")
    await store.put(settings.admin_user, password, Role.ADMIN)
