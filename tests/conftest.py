"""Shared fixtures: a real broker and Redis for the session, clean state for each test.

The broker and Redis are Docker containers (testcontainers) when a Docker engine answers,
otherwise the embedded binaries of `commands.embedded`; tests never skip for lack of Docker.
Both start lazily, on the first test that asks for them; every test that asks for them (even
through another fixture) is marked ``integration`` at collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from commands.embedded import EmbeddedKafka, EmbeddedRedis
from flowcast.kafka_admin import ensure_topics, unique_topic_settings
from flowcast.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SERVICE_FIXTURES = frozenset({"kafka_bootstrap", "redis_url"})
"""The fixtures that start the broker or Redis: a test using one, even indirectly, is
`integration`, whatever its module says (so ``make unit`` never starts a service)."""


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a service fixture as ``integration``."""
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


def docker_available() -> bool:
    """True when a Docker engine answers a ping."""
    try:
        import docker

        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK config, no socket, no daemon: all mean "no Docker"
        return False


@pytest.fixture(scope="session")
def use_docker() -> bool:
    """Whether this session runs its services in Docker containers."""
    return docker_available()


@pytest.fixture(scope="session")
def services_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the embedded broker and Redis write their logs for this session."""
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def kafka_bootstrap(use_docker: bool, services_log_dir: Path) -> Iterator[str]:
    """``host:port`` of a Kafka-compatible broker running for the whole session."""
    if use_docker:
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        with EmbeddedKafka(log_dir=services_log_dir) as broker:
            yield broker.bootstrap


@pytest.fixture(scope="session")
def redis_url(use_docker: bool, services_log_dir: Path) -> Iterator[str]:
    """``redis://host:port/0`` of a Redis running for the whole session."""
    if use_docker:
        from testcontainers.community.redis import RedisContainer

        with RedisContainer() as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
    else:
        with EmbeddedRedis(log_dir=services_log_dir) as server:
            yield server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client (bytes responses) on an empty Redis: FLUSHALL runs before each test."""
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def fresh_topics(kafka_bootstrap: str, redis_url: str) -> Settings:
    """Settings pointing at the session services, with unique, already created topics.

    The readings, dead-letter and forecasts topics and the app id (consumer group) are
    unique to the test, so no test sees another's records or offsets.
    """
    base = Settings(kafka_bootstrap=kafka_bootstrap, redis_url=redis_url)
    settings = unique_topic_settings(base, "test")
    ensure_topics(kafka_bootstrap, settings)
    return settings


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The bundled real data (``data/paris`` in the repository)."""
    return REPO / "data" / "paris"
