"""Kafka connection security from the settings, as client keyword arguments.

``FLOWCAST_KAFKA_SECURITY_PROTOCOL`` (``PLAINTEXT`` by default: the embedded dev broker),
``FLOWCAST_KAFKA_SASL_MECHANISM`` (``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512``),
``FLOWCAST_KAFKA_USERNAME`` and ``FLOWCAST_KAFKA_PASSWORD`` become the keyword arguments that
kafka-python and aiokafka clients share (both name them alike), so every client of every
process connects the same way; `faust_credentials` gives Faust's form.

>>> client_kwargs(Settings())
{}
>>> sorted(client_kwargs(Settings(kafka_security_protocol="SASL_PLAINTEXT",
...                               kafka_username="flowcast", kafka_password="pw")))
['sasl_mechanism', 'sasl_plain_password', 'sasl_plain_username', 'security_protocol']
"""

from __future__ import annotations

import ssl
from typing import Any

from flowcast.settings import Settings


class KafkaAuthError(ValueError):
    """SASL is asked for without a username and password."""


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """``security_protocol``, ``sasl_*`` and ``ssl_context`` for a kafka-python or aiokafka
    client (nothing for ``PLAINTEXT``)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    kwargs: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        if not settings.kafka_username or not settings.kafka_password:
            raise KafkaAuthError(
                f"FLOWCAST_KAFKA_SECURITY_PROTOCOL={protocol} needs FLOWCAST_KAFKA_USERNAME "
                "and FLOWCAST_KAFKA_PASSWORD"
            )
        kwargs |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_username,
            "sasl_plain_password": settings.kafka_password,
        }
    if protocol.endswith("SSL"):
        kwargs["ssl_context"] = ssl.create_default_context()
    return kwargs


def faust_credentials(settings: Settings) -> Any:
    """Faust's ``broker_credentials`` for the same settings (None for ``PLAINTEXT``)."""
    kwargs = client_kwargs(settings)
    if not kwargs:
        return None
    import faust
    from faust.types.auth import SASLMechanism

    if "sasl_mechanism" not in kwargs:
        return faust.SSLCredentials(kwargs["ssl_context"])
    return faust.SASLCredentials(
        username=kwargs["sasl_plain_username"],
        password=kwargs["sasl_plain_password"],
        mechanism=SASLMechanism(kwargs["sasl_mechanism"]),
        ssl_context=kwargs.get("ssl_context"),
    )
