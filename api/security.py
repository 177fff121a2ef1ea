"""Secrets, password hashing and JWT access tokens (HS256, signed, expiring, with a role).

A token names its account's *token version* (``ver``): the account store draws a new one when
the password really changes, the role changes or the account is re-created, so every older
token stops working (`api.deps.authorise`). A token is also refused once older than the
maximum token age, whatever its expiry says.

>>> secret = "x" * 32
>>> token = issue_token(secret, "alice", Role.OPERATOR, expiry_minutes=5, version="v1")
>>> claims = decode_token(secret, token)
>>> (claims.username, claims.role, claims.version)
('alice', <Role.OPERATOR: 'operator'>, 'v1')
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

from flowcast import redaction
from flowcast.secret_strength import SECRET, weakness
from flowcast.settings import Settings

ALGORITHM = "HS256"
ISSUER = "flowcast"
DEFAULT_MAX_AGE_S = 12 * 3600.0
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
    """What a verified token says about its bearer, and until when it is valid."""

    username: str
    role: Role
    version: str = ""  # the account's token version when the token was issued
    expires_at: float = float("inf")  # POSIX seconds: exp, or iat + the maximum token age


def resolve_jwt_secret(settings: Settings) -> str:
    """The signing secret: required and strong in production, random per process in dev.

    Raises ``ValueError`` in production when the secret is unset or weak
    (`flowcast.secret_strength`: placeholder, common word, short, low entropy).
    """
    secret = settings.jwt_secret
    if settings.environment == "production":
        why = weakness(secret, SECRET)
        if why is not None:
            raise ValueError(f"FLOWCAST_JWT_SECRET {why}: set a random secret in production")
    elif secret is None or not secret.strip():
        log.warning("FLOWCAST_JWT_SECRET unset: using a random per-process secret (dev only)")
        secret = secrets.token_urlsafe(48)
    assert secret is not None
    redaction.register_secret(secret)
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


def issue_token(
    secret: str, username: str, role: Role, *, expiry_minutes: float, version: str = ""
) -> str:
    """A signed JWT for ``username`` with its ``role`` and token ``version``, valid
    ``expiry_minutes``."""
    now = datetime.now(UTC)
    payload = {
        "sub": username,
        "role": role.value,
        "ver": version,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(minutes=expiry_minutes),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str, max_age_s: float = DEFAULT_MAX_AGE_S) -> Claims:
    """Verify signature, expiry, issue time, maximum age and issuer; raise `TokenError` with
    a reason otherwise."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "role", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("invalid token") from exc
    try:
        role = Role(payload["role"])
    except ValueError as exc:
        raise TokenError("token has an unknown role") from exc
    issued, expires = float(payload["iat"]), float(payload["exp"])
    if time.time() >= issued + max_age_s:
        raise TokenError("token older than the maximum token age")
    version = payload.get("ver", "")
    return Claims(
        username=str(payload["sub"]),
        role=role,
        version=version if isinstance(version, str) else "",
        expires_at=min(expires, issued + max_age_s),
    )


class TokenCache:
    """Verified claims per token until its expiry, in a bounded LRU (``maxsize`` tokens).

    A token is fully verified (`decode_token`) the first time it is seen; later look-ups of
    the same token string skip the signature check but still refuse it once ``exp`` (or its
    maximum age) has passed (the same rule as PyJWT: valid while now < exp). Failures are never
    cached, so garbage tokens cannot evict good ones. Whether the account still exists with the
    token's role and version is not a property of the token: the caller checks it on every
    request (`api.deps.authorise`).
    """

    def __init__(
        self, secret: str, maxsize: int = 4096, max_age_s: float = DEFAULT_MAX_AGE_S
    ) -> None:
        self.secret = secret
        self.maxsize = maxsize
        self.max_age_s = max_age_s
        self._entries: OrderedDict[str, tuple[float, Claims]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def decode(self, token: str) -> Claims:
        """The claims of ``token``; `TokenError` if it is invalid or expired."""
        entry = self._entries.get(token)
        if entry is None:
            claims = decode_token(self.secret, token, self.max_age_s)
            self._entries[token] = (claims.expires_at, claims)
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            return claims
        if time.time() >= entry[0]:
            del self._entries[token]
            raise TokenError("token expired")
        self._entries.move_to_end(token)
        return entry[1]
