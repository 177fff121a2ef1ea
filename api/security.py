"""Secrets, password hashing and JWT access tokens (HS256, signed, expiring, with a role).

>>> secret = "x" * 32
>>> token = issue_token(secret, "alice", Role.OPERATOR, expiry_minutes=5)
>>> claims = decode_token(secret, token)
>>> (claims.username, claims.role)
('alice', <Role.OPERATOR: 'operator'>)
>>> TokenCache(secret).decode(token) == claims
True
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash

from flowcast.settings import PLACEHOLDER_SECRETS, Settings

ALGORITHM = "HS256"
ISSUER = "flowcast"
MIN_SECRET_LENGTH = 32
_hasher = PasswordHash.recommended()
_DUMMY_HASH = _hasher.hash("not-a-real-password")
log = logging.getLogger(__name__)


class Role(enum.StrEnum):
    """Gateway roles: operators read and predict; admins also manage users, replay, state."""

    OPERATOR = "operator"
    ADMIN = "admin"


class TokenError(Exception):
    """The token is missing, malformed, tampered with, expired or names an unknown role."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says about its bearer."""

    username: str
    role: Role


def resolve_jwt_secret(settings: Settings) -> str:
    """The signing secret: required and strong in production, random per process in dev.

    Raises ``ValueError`` in production when the secret is unset, a placeholder or short.
    """
    secret = settings.jwt_secret
    if settings.environment == "production":
        if secret is None or secret.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("FLOWCAST_JWT_SECRET must be set to a real secret in production")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"FLOWCAST_JWT_SECRET must be at least {MIN_SECRET_LENGTH} chars")
        return secret
    if secret is None or not secret.strip():
        log.warning("FLOWCAST_JWT_SECRET unset: using a random per-process secret (dev only)")
        return secrets.token_urlsafe(48)
    return secret


def hash_password(password: str) -> str:
    """Argon2 hash of ``password`` (slow on purpose: call it off the event loop)."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """Check ``password``; with no hash, still spend the same time (no user enumeration)."""
    if hashed is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, hashed)
    except Exception:  # a corrupt stored hash is a failed login, not a crash
        return False


def issue_token(secret: str, username: str, role: Role, *, expiry_minutes: int) -> str:
    """A signed JWT for ``username`` with its ``role``, valid ``expiry_minutes``."""
    now = datetime.now(UTC)
    payload = {
        "sub": username,
        "role": role.value,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(minutes=expiry_minutes),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Claims:
    """Verify signature, expiry and issuer; raise `TokenError` with a reason otherwise."""
    return _verify(secret, token)[0]


def _verify(secret: str, token: str) -> tuple[Claims, int]:
    """`decode_token`, also returning the token's ``exp`` (POSIX seconds)."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "role", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("invalid token") from exc
    try:
        role = Role(payload["role"])
    except ValueError as exc:
        raise TokenError("token has an unknown role") from exc
    return Claims(username=str(payload["sub"]), role=role), int(payload["exp"])


class TokenCache:
    """Verified claims per token until its expiry, in a bounded LRU (``maxsize`` tokens).

    A token is fully verified (`decode_token`) the first time it is seen; later look-ups of
    the same token string skip the signature check but still refuse it once ``exp`` has passed
    (the same rule as PyJWT: valid while now < exp). Failures are never cached, so garbage
    tokens cannot evict good ones. Whether the account still exists with the token's role is
    not a property of the token: the caller checks it on every request (`api.deps.authorise`).
    """

    def __init__(self, secret: str, maxsize: int = 4096) -> None:
        self.secret = secret
        self.maxsize = maxsize
        self._entries: OrderedDict[str, tuple[int, Claims]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def decode(self, token: str) -> Claims:
        """The claims of ``token``; `TokenError` if it is invalid or expired."""
        entry = self._entries.get(token)
        if entry is None:
            claims, exp = _verify(self.secret, token)
            self._entries[token] = (exp, claims)
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            return claims
        if time.time() >= entry[0]:
            del self._entries[token]
            raise TokenError("token expired")
        self._entries.move_to_end(token)
        return entry[1]
