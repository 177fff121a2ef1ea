"""Gateway accounts, kept in the Redis hash ``flowcast:users`` so every replica shares them.

Each field is a username; each value the JSON
``{"hash": <argon2>, "role": "operator"|"admin", "ver": <token version>}``. The token version
is random and drawn anew when the password really changes, when the role changes, and when
an account is created: tokens issued before carry the old one and stop working, and
re-creating a deleted username never revives its old tokens. Re-applying the same password
and role (a restart with the same ``FLOWCAST_ADMIN_PASSWORD``) changes nothing.
Hashing runs on the gateway's bounded `api.hashing.Hasher`, never on the event loop.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from api.hashing import Hasher
from api.security import Role
from flowcast.redis_keys import PREFIX
from flowcast.secret_strength import PASSWORD, weakness
from flowcast.settings import Settings

USERS = f"{PREFIX}:users"
CACHE_SECONDS = 5.0
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class User:
    """An account: its name and role (the hash never leaves this module)."""

    username: str
    role: Role


@dataclass(frozen=True, slots=True)
class Account:
    """What a token is checked against: the account's role and token version."""

    role: Role
    version: str


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _parse(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _account(record: dict[str, Any] | None) -> Account | None:
    if record is None or record.get("role") not in set(Role):
        return None
    version = record.get("ver")
    return Account(Role(record["role"]), version if isinstance(version, str) else "")


def new_version() -> str:
    """A fresh random token version."""
    return secrets.token_hex(8)


class UserStore:
    """Create, check, list and delete accounts; account look-ups cached a few seconds."""

    def __init__(self, redis: Redis, hasher: Hasher | None = None) -> None:
        self.redis = redis
        self.hasher = hasher or Hasher()
        self._accounts: dict[str, tuple[float, Account | None]] = {}

    async def _record(self, username: str) -> dict[str, Any] | None:
        return _parse(await self.redis.hget(USERS, username))

    async def put(self, username: str, password: str, role: Role) -> bool:
        """Create or update ``username``; True if anything changed.

        Unchanged password and role: nothing is written and tokens stay valid. A changed
        role keeps the hash; a changed password is hashed anew; both draw a new version.
        """
        record = await self._record(username)
        hashed = record.get("hash") if record else None
        same_password = isinstance(hashed, str) and await self.hasher.verify(password, hashed)
        if record is not None and same_password and record.get("role") == role.value:
            return False
        if not same_password:
            hashed = await self.hasher.hash(password)
        value = {"hash": hashed, "role": role.value, "ver": new_version()}
        await self.redis.hset(USERS, username, orjson.dumps(value))
        self._accounts.pop(username, None)
        return True

    async def delete(self, username: str) -> bool:
        """Remove ``username``; False if there was no such account."""
        self._accounts.pop(username, None)
        return bool(await self.redis.hdel(USERS, username))

    async def authenticate(self, username: str, password: str) -> tuple[User, str] | None:
        """The user and its token version if ``password`` matches, else None (same cost
        either way). `api.hashing.HasherBusyError` when no hashing slot is free."""
        record = await self._record(username)
        hashed = record.get("hash") if record else None
        matched = await self.hasher.verify(password, hashed if isinstance(hashed, str) else None)
        account = _account(record)
        if not matched or account is None:
            return None
        return User(username, account.role), account.version

    async def account(self, username: str) -> Account | None:
        """Role and token version of ``username`` (None if deleted), cached ``CACHE_SECONDS``."""
        now = time.monotonic()
        cached = self._accounts.get(username)
        if cached is not None and cached[0] > now:
            return cached[1]
        account = _account(await self._record(username))
        self._accounts[username] = (now + CACHE_SECONDS, account)
        return account

    async def role_of(self, username: str) -> Role | None:
        """Current role of ``username`` (None if deleted), cached."""
        account = await self.account(username)
        return account.role if account is not None else None

    async def fresh_accounts(self, usernames: Iterable[str]) -> dict[str, Account | None]:
        """Accounts of ``usernames`` read now (one ``HMGET``, bypassing and refreshing the
        cache): what open sessions are re-checked against."""
        names = sorted(set(usernames))
        if not names:
            return {}
        raw = await self.redis.hmget(USERS, names)
        expires = time.monotonic() + CACHE_SECONDS
        out = {name: _account(_parse(value)) for name, value in zip(names, raw, strict=True)}
        for name, account in out.items():
            self._accounts[name] = (expires, account)
        return out

    async def list(self) -> list[User]:
        """Every account, sorted by name (unreadable records left out)."""
        raw = await self.redis.hgetall(USERS)
        users = []
        for key, value in raw.items():
            account = _account(_parse(value))
            if account is not None:
                users.append(User(_text(key), account.role))
        return sorted(users, key=lambda u: u.username)


async def bootstrap_admin(store: UserStore, settings: Settings) -> None:
    """Create (or reset) the admin from ``admin_user`` / ``admin_password`` at start.

    Without a password the existing accounts are kept; in production a weak password is
    refused. The same password and role as stored change nothing (nobody is logged out).
    """
    password = settings.admin_password
    if password is None:
        if await store.role_of(settings.admin_user) is None:
            log.warning("no FLOWCAST_ADMIN_PASSWORD and no admin %r yet", settings.admin_user)
        return
    if settings.environment == "production":
        why = weakness(password, PASSWORD)
        if why is not None:
            raise ValueError(f"FLOWCAST_ADMIN_PASSWORD {why}: refused in production")
    if await store.put(settings.admin_user, password, Role.ADMIN):
        log.info("admin account %r created or reset", settings.admin_user)
