"""Secrets never reach a log line: a `logging.Filter` that redacts tokens and credentials.

It rewrites each record before any handler formats it (`install`): ``token=…``,
``access_token=…`` and any other ``*token*``, ``*password*`` or ``*secret*`` parameter, JSON
``"access_token": "…"`` pairs, ``Authorization: Bearer …``, anything shaped like a JWT, the
password of a ``scheme://user:password@host`` URL, and the exact text of every secret
registered with `register_secret` (the JWT signing secret, the Redis password, …).

>>> redact("WebSocket /ws/forecasts?sensors=1&token=eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl [accepted]")
'WebSocket /ws/forecasts?sensors=1&token=[REDACTED] [accepted]'
>>> redact("Authorization: Bearer abc.def-ghi")
'Authorization: Bearer [REDACTED]'
>>> redact("connecting to redis://:s3cr3t-pass@10.0.0.5:6379/0")
'connecting to redis://:[REDACTED]@10.0.0.5:6379/0'
>>> register_secret("an-example-signing-secret")
>>> redact("signed with an-example-signing-secret")
'signed with [REDACTED]'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 8  # shorter registered strings would redact ordinary words
_SENSITIVE = r"[A-Za-z0-9_.-]*(?:token|password|passwd|secret|api[_-]?key)[A-Za-z0-9_.-]*"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # key=value in query strings, forms, env dumps and log text
    (
        re.compile(rf"(?i)(\b{_SENSITIVE}\s*=\s*)(?:\"[^\"]*\"|'[^']*'|[^&\s\"'#,;)]+)"),
        rf"\1{MASK}",
    ),
    # "key": "value" / 'key': 'value' in JSON or reprs
    (re.compile(rf"(?i)([\"']{_SENSITIVE}[\"']\s*:\s*)([\"'])(?:(?!\2).)*\2"), rf"\1\2{MASK}\2"),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@"), rf"\1{MASK}@"),
)
_secrets: set[str] = set()
_state = {"factory_installed": False}


def register_secret(secret: str | None) -> None:
    """Redact this exact text wherever it appears from now on (short ones are ignored)."""
    if secret is not None and len(secret) >= MIN_SECRET_LENGTH:
        _secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with every token, credential and registered secret masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redact_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, tuple | list):
        return type(value)(_redact_arg(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Redacts the message, its arguments and its traceback text; never drops a record.

    String arguments are redacted in place (uvicorn's access formatter reads them one by one);
    if the formatted message would still show a secret (an argument whose ``str()`` holds one),
    the record is reduced to its redacted text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_arg(value) for key, value in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: leave it to the formatter
            message = None
        if message is not None and redact(message) != message:
            record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(loggers: Iterable[str] = ("", "uvicorn", "uvicorn.error", "uvicorn.access")) -> None:
    """Redact every record of this process: each new record as it is created (a wrapped
    log-record factory, so handlers configured later are covered too), and, belt and braces,
    through one `RedactingFilter` on every handler of ``loggers`` (root by default)."""
    if not _state["factory_installed"]:
        previous = logging.getLogRecordFactory()
        creation_filter = RedactingFilter()

        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            creation_filter.filter(record)
            return record

        logging.setLogRecordFactory(redacting_factory)
        _state["factory_installed"] = True
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
