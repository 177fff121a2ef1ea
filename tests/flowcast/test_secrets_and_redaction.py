"""Weak secrets fail production checks; log records lose every token and secret."""

from __future__ import annotations

import logging
import secrets

import pytest

from flowcast.redaction import RedactingFilter, redact, register_secret
from flowcast.secret_strength import PASSWORD, SECRET, production_problems, weakness
from flowcast.settings import Settings

STRONG = secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    "secret",
    [None, "", "password", "changeme", "a" * 32, "ab" * 16, "Password" * 4, "short-secret"],
)
def test_weak_signing_secrets_are_refused(secret: str | None) -> None:
    assert weakness(secret, SECRET) is not None


@pytest.mark.parametrize("password", ["password", "Password1234", "admin-admin!", "x" * 20])
def test_weak_passwords_are_refused(password: str) -> None:
    assert weakness(password, PASSWORD) is not None


def test_random_secrets_pass() -> None:
    for _ in range(200):
        assert weakness(secrets.token_urlsafe(32), SECRET) is None
        assert weakness(secrets.token_hex(16), SECRET) is None
        assert weakness(secrets.token_urlsafe(12), PASSWORD) is None


def test_production_needs_every_credential() -> None:
    bare = Settings(environment="production", jwt_secret=STRONG, redis_url="redis://r:6379/0")
    problems = production_problems(bare, gateway=True, kafka=True)
    assert any("FLOWCAST_REDIS_URL" in p for p in problems)
    assert any("FLOWCAST_KAFKA_SECURITY_PROTOCOL" in p for p in problems)
    good = bare.model_copy(
        update={
            "redis_url": f"redis://:{secrets.token_urlsafe(24)}@redis:6379/0",
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_username": "flowcast",
            "kafka_password": secrets.token_urlsafe(24),
            "admin_password": secrets.token_urlsafe(16),
        }
    )
    assert production_problems(good, gateway=True, kafka=True) == []
    worker = good.model_copy(update={"jwt_secret": None, "admin_password": None})
    assert production_problems(worker, kafka=True) == []  # a worker has no JWT secret
    assert production_problems(good.model_copy(update={"admin_password": "a" * 40})) != []


def _record(msg: str, args: object = (), exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("bad header Authorization: Bearer abc.def.ghi")
        except RuntimeError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]


def test_the_filter_redacts_messages_arguments_and_tracebacks() -> None:
    register_secret("the-registered-secret-value")
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXZhbHVl"
    access = _record(
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/ws/forecasts?token={token}", "1.1", 101),
    )
    RedactingFilter().filter(access)
    assert access.args is not None and len(access.args) == 5  # the access formatter's shape
    assert token not in access.getMessage() and "token=[REDACTED]" in access.getMessage()
    dict_args = _record("%(url)s", ({"url": "redis://:p4ssw0rd-long@r:6379/0"},))
    RedactingFilter().filter(dict_args)
    assert "p4ssw0rd-long" not in dict_args.getMessage()
    hidden = _record("client %s", (type("Scope", (), {"__str__": lambda _: token})(),))
    RedactingFilter().filter(hidden)
    assert token not in hidden.getMessage()
    failed = _record("oops the-registered-secret-value", exc=True)
    RedactingFilter().filter(failed)
    assert "the-registered-secret-value" not in failed.getMessage()
    assert failed.exc_text and "abc.def.ghi" not in failed.exc_text


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ('{"access_token": "abc123secretvalue", "token_type": "bearer"}', "abc123secretvalue"),
        ("password=hunter2-long&username=admin", "hunter2-long"),
        ("FLOWCAST_KAFKA_PASSWORD=kafka-pass-123", "kafka-pass-123"),
        ("sasl_plain_password='scram-pw-value'", "scram-pw-value"),
        ("authorization: bearer some.opaque-token", "some.opaque-token"),
    ],
)
def test_redact_patterns(text: str, hidden: str) -> None:
    assert hidden not in redact(text)
