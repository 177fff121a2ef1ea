"""Production refuses weak secrets: unset, placeholders, common words, short, low entropy.

Entropy is estimated from the secret's own characters (Shannon entropy of their frequencies
times the length): ``"a" * 32`` has none, ``"password"`` ~22 bits, a 32-character random hex
secret ~120 bits. A heuristic, not a proof: it catches the usual mistakes, not every bad
secret.

>>> weakness("a" * 32, SECRET)
'has too little entropy (repeated or predictable characters)'
>>> weakness("password", PASSWORD)
'is shorter than 12 characters'
>>> weakness("Password1234", PASSWORD)
'is a common word or a placeholder'
>>> weakness("1f0c9d3ab27e84c65f3e0d9a1b2c7e48", SECRET) is None
True
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from flowcast.settings import PLACEHOLDER_SECRETS, Settings

COMMON = frozenset(
    {
        *PLACEHOLDER_SECRETS,
        "password",
        "passw0rd",
        "passwd",
        "admin",
        "administrator",
        "root",
        "toor",
        "guest",
        "default",
        "test",
        "letmein",
        "welcome",
        "qwerty",
        "azerty",
        "iloveyou",
        "flowcast",
        "redis",
        "kafka",
        "token",
        "jwt",
        "jwtsecret",
        "supersecret",
        "topsecret",
        "123456",
        "12345678",
        "123456789",
    }
)


@dataclass(frozen=True, slots=True)
class Rule:
    """How long and how unpredictable a secret must be."""

    min_length: int
    min_bits: float


SECRET = Rule(min_length=32, min_bits=80.0)  # signing keys, machine tokens
PASSWORD = Rule(min_length=12, min_bits=40.0)  # passwords of people and services


def entropy_bits(text: str) -> float:
    """Shannon entropy of ``text``'s characters times its length (bits); a text that repeats
    a shorter one counts only that one.

    >>> entropy_bits("ab" * 16) == entropy_bits("ab")
    True
    """
    text = text[: _period(text)]
    counts = Counter(text)
    total = len(text)
    return -sum(n * math.log2(n / total) for n in counts.values()) if total else 0.0


def _period(text: str) -> int:
    """The length of the shortest prefix ``text`` repeats (``len(text)`` if none)."""
    for size in range(1, len(text) // 2 + 1):
        if all(text[i] == text[i % size] for i in range(size, len(text))):
            return size
    return len(text)


def _mostly_common(lowered: str) -> bool:
    """Whether the text is little more than common words (``Password1234``, ``adminadmin``)."""
    rest = lowered
    for word in sorted((w for w in COMMON if len(w) >= 4), key=len, reverse=True):
        rest = rest.replace(word, "")
    return len(rest) < len(lowered) / 2


def weakness(secret: str | None, rule: Rule) -> str | None:
    """Why ``secret`` is too weak for production under ``rule``, or None."""
    if secret is None or not secret.strip():
        return "is not set"
    lowered = secret.strip().lower()
    if len(secret) < rule.min_length:
        return f"is shorter than {rule.min_length} characters"
    letters = re.sub(r"[^a-z]", "", lowered)
    if lowered in COMMON or letters in COMMON or _mostly_common(lowered):
        return "is a common word or a placeholder"
    if len(set(secret)) < 5 or entropy_bits(secret) < rule.min_bits:
        return "has too little entropy (repeated or predictable characters)"
    return None


def production_problems(
    settings: Settings, *, gateway: bool = False, kafka: bool = False
) -> list[str]:
    """What this configuration lacks to run in production (empty when it is fine).

    Always: the Redis password (required), and the admin password and metrics token when
    set; with ``gateway`` the JWT secret; with ``kafka`` the Kafka SASL credentials.
    """
    checks: list[tuple[str, str | None, Rule]] = []
    if gateway:
        checks.append(("FLOWCAST_JWT_SECRET", settings.jwt_secret, SECRET))
    if settings.admin_password is not None:
        checks.append(("FLOWCAST_ADMIN_PASSWORD", settings.admin_password, PASSWORD))
    if settings.metrics_token is not None:
        checks.append(("FLOWCAST_METRICS_TOKEN", settings.metrics_token, SECRET))
    redis_password = urlsplit(settings.redis_url).password if settings.redis_url else None
    checks.append(("the password in FLOWCAST_REDIS_URL", redis_password, PASSWORD))
    problems = [f"{name} {why}" for name, value, rule in checks if (why := weakness(value, rule))]
    if kafka:
        if settings.kafka_security_protocol in {"PLAINTEXT", "SSL"}:
            problems.append("FLOWCAST_KAFKA_SECURITY_PROTOCOL must use SASL in production")
        why = weakness(settings.kafka_password, PASSWORD)
        if not settings.kafka_username or why:
            problems.append(f"FLOWCAST_KAFKA_USERNAME / FLOWCAST_KAFKA_PASSWORD {why or 'unset'}")
    return problems


def require_production_secrets(
    settings: Settings, *, gateway: bool = False, kafka: bool = False
) -> None:
    """``ValueError`` listing every weak or missing secret, in production only."""
    if settings.environment != "production":
        return
    problems = production_problems(settings, gateway=gateway, kafka=kafka)
    if problems:
        raise ValueError("refusing to start in production: " + "; ".join(problems))
