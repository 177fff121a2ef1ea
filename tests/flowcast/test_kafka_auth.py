"""Kafka credentials from the settings reach every client the same way."""

from __future__ import annotations

import pytest

from flowcast.kafka_auth import KafkaAuthError, client_kwargs, faust_credentials
from flowcast.settings import Settings

SASL = Settings(
    kafka_security_protocol="SASL_PLAINTEXT",
    kafka_sasl_mechanism="SCRAM-SHA-512",
    kafka_username="flowcast",
    kafka_password="a-kafka-password-123",
)


def test_plaintext_adds_nothing() -> None:
    assert client_kwargs(Settings()) == {}
    assert faust_credentials(Settings()) is None


def test_sasl_settings_become_the_shared_client_kwargs() -> None:
    assert client_kwargs(SASL) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "flowcast",
        "sasl_plain_password": "a-kafka-password-123",
    }
    credentials = faust_credentials(SASL)
    assert credentials.username == "flowcast"
    assert credentials.mechanism.value == "SCRAM-SHA-512"


def test_sasl_ssl_verifies_the_broker_certificate() -> None:
    kwargs = client_kwargs(SASL.model_copy(update={"kafka_security_protocol": "SASL_SSL"}))
    assert kwargs["ssl_context"].check_hostname


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(KafkaAuthError, match="FLOWCAST_KAFKA_USERNAME"):
        client_kwargs(Settings(kafka_security_protocol="SASL_PLAINTEXT"))


def test_every_client_type_accepts_the_kwargs() -> None:
    """kafka-python's and aiokafka's clients take the same names (checked, not connected)."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

    names = set(client_kwargs(SASL))
    for client in (KafkaAdminClient, KafkaConsumer, KafkaProducer):
        assert names <= set(client.DEFAULT_CONFIG), client
    import inspect

    for aio in (AIOKafkaConsumer, AIOKafkaProducer):
        assert names <= set(inspect.signature(aio.__init__).parameters), aio
