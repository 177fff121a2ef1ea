"""Open WebSocket sessions: caps per address and per user, and their periodic re-check.

Every connection takes a `Ticket` for its client address before the handshake is accepted
(at most ``max_per_address``, the ones still authenticating included), then binds it to its
token's claims (at most ``max_per_user`` per account). One task per gateway (`watch`)
re-checks every bound ticket each ``interval`` seconds, with one ``HMGET`` of the accounts
whatever the number of sessions: an expired token, a deleted account, or a token version or
role that is no longer the account's revokes the ticket, and its session closes with 4401.
If Redis cannot answer, expiry is still enforced and the rest waits for the next round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from api.security import Claims
from api.users import UserStore

log = logging.getLogger(__name__)
UNAUTHORISED = 4401  # the WebSocket close code of a 401


class TooManySessionsError(RuntimeError):
    """The address or the user already has its maximum of open WebSockets."""


@dataclass(eq=False)
class Ticket:
    """One connection's place in the registry, and why it was revoked (if it was)."""

    address: str
    claims: Claims | None = None
    revoked: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""

    def revoke(self, reason: str) -> None:
        if not self.revoked.is_set():
            self.reason = reason
            self.revoked.set()


class SessionRegistry:
    """Counts open connections per address and per user; revokes those no longer valid."""

    def __init__(self, max_per_user: int, max_per_address: int) -> None:
        self.max_per_user = max_per_user
        self.max_per_address = max_per_address
        self.tickets: set[Ticket] = set()
        self._addresses: Counter[str] = Counter()
        self._users: Counter[str] = Counter()

    def admit(self, address: str) -> Ticket:
        """A ticket for a new connection from ``address``, or `TooManySessionsError`."""
        if self._addresses[address] >= self.max_per_address:
            raise TooManySessionsError(
                f"too many WebSocket connections from this address (at most {self.max_per_address})"
            )
        self._addresses[address] += 1
        ticket = Ticket(address)
        self.tickets.add(ticket)
        return ticket

    def bind(self, ticket: Ticket, claims: Claims) -> None:
        """Attach the authenticated user, or `TooManySessionsError` (ticket left unbound)."""
        if self._users[claims.username] >= self.max_per_user:
            raise TooManySessionsError(
                f"too many WebSocket connections for user {claims.username!r} (at most "
                f"{self.max_per_user})"
            )
        self._users[claims.username] += 1
        ticket.claims = claims

    def release(self, ticket: Ticket) -> None:
        """Forget a closed connection (idempotent)."""
        if ticket not in self.tickets:
            return
        self.tickets.discard(ticket)
        _decrement(self._addresses, ticket.address)
        if ticket.claims is not None:
            _decrement(self._users, ticket.claims.username)

    def per_user(self, username: str) -> int:
        return self._users[username]

    async def recheck(self, users: UserStore, now: float | None = None) -> int:
        """Revoke the tickets whose token expired or no longer matches its account; how many
        were revoked. Redis errors propagate (after the expiry checks)."""
        now = time.time() if now is None else now
        live = [t for t in self.tickets if t.claims is not None and not t.revoked.is_set()]
        revoked = 0
        for ticket in live:
            assert ticket.claims is not None
            if now >= ticket.claims.expires_at:
                ticket.revoke("token expired")
                revoked += 1
        live = [t for t in live if not t.revoked.is_set()]
        accounts = await users.fresh_accounts(t.claims.username for t in live if t.claims)
        for ticket in live:
            claims = ticket.claims
            assert claims is not None
            account = accounts.get(claims.username)
            if account is None:
                ticket.revoke("account deleted")
            elif (account.role, account.version) != (claims.role, claims.version):
                ticket.revoke("token revoked (password or role changed)")
            else:
                continue
            revoked += 1
        return revoked

    async def watch(self, users: UserStore, interval: float) -> None:
        """`recheck` every ``interval`` seconds, forever (a Redis outage logged once)."""
        redis_down = False
        while True:
            await asyncio.sleep(interval)
            try:
                await self.recheck(users)
            except (RedisError, OSError) as exc:
                if not redis_down:
                    log.warning("cannot re-check WebSocket sessions (Redis: %s)", exc)
                redis_down = True
            else:
                redis_down = False


def _decrement(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
