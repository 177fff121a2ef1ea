"""The embedded broker and Redis: real round trips, restarts, clear failures, no orphans."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer

from commands.embedded import EmbeddedKafka, EmbeddedRedis, Endpoints, services
from commands.processes import ProcessExitedError, wait_until
from flowcast.kafka_admin import ensure_topics, unique_topic_settings
from flowcast.settings import Settings

pytestmark = pytest.mark.integration


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka(log_dir=tmp_path) as broker:
        yield broker


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(log_dir=tmp_path) as server:
        yield server


def consume(bootstrap: str, topic: str, group: str, expected: int) -> list[bytes]:
    """Values read by a consumer group (short Tansu-friendly timeouts), polled to a deadline."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        session_timeout_ms=3000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=3000,
        request_timeout_ms=5000,
    )
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(record.value for record in records)
    finally:
        consumer.close()
    return values


def test_kafka_produce_consume_round_trip(kafka: EmbeddedKafka) -> None:
    settings = unique_topic_settings(Settings(partitions=3), "roundtrip")
    ensure_topics(kafka.bootstrap, settings)
    sent = [f"reading-{i}".encode() for i in range(20)]
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
    for i, value in enumerate(sent):
        producer.send(settings.readings_topic, key=f"sensor-{i % 5}".encode(), value=value)
    producer.flush(timeout=10)
    producer.close()

    received = consume(kafka.bootstrap, settings.readings_topic, settings.app_id, len(sent))

    assert sorted(received) == sorted(sent)


def test_redis_set_get(redis_server: EmbeddedRedis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.set("flowcast:test", b"42")
        assert client.get("flowcast:test") == b"42"
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("save") == {"save": ""}
    finally:
        client.close()


def test_redis_requires_its_password_and_keeps_it_off_the_command_line(
    redis_server: EmbeddedRedis,
) -> None:
    anonymous = redis.Redis(host="127.0.0.1", port=redis_server.port)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    anonymous.close()
    assert len(redis_server.password) >= 24
    argv = Path(f"/proc/{redis_server.pid}/cmdline").read_bytes().decode()
    assert redis_server.password not in argv
    config = redis_server.data_dir / "auth.conf"
    assert config.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert EmbeddedRedis().password != EmbeddedRedis().password  # one per stack


def test_urls_name_loopback_ports(kafka: EmbeddedKafka, redis_server: EmbeddedRedis) -> None:
    assert kafka.bootstrap == f"127.0.0.1:{kafka.port}"
    assert redis_server.url == f"redis://:{redis_server.password}@127.0.0.1:{redis_server.port}/0"
    assert kafka.port != redis_server.port


def test_two_brokers_side_by_side(kafka: EmbeddedKafka, tmp_path: Path) -> None:
    with EmbeddedKafka(log_dir=tmp_path / "second") as other:
        assert other.port != kafka.port
        assert other.alive and kafka.alive


def test_kafka_restart_keeps_port(kafka: EmbeddedKafka) -> None:
    port, pid = kafka.port, kafka.pid

    kafka.restart()

    assert kafka.port == port
    assert kafka.pid != pid
    assert not running(pid)
    ensure_topics(kafka.bootstrap, unique_topic_settings(Settings(partitions=1)))


def test_redis_restart_keeps_port(redis_server: EmbeddedRedis) -> None:
    port, pid = redis_server.port, redis_server.pid

    redis_server.restart()

    assert redis_server.port == port
    assert redis_server.pid != pid
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.ping()
    finally:
        client.close()


def test_redis_aof_survives_a_crash(tmp_path: Path) -> None:
    with EmbeddedRedis(log_dir=tmp_path, appendonly=True) as server:
        client = redis.Redis.from_url(server.url)
        client.set("kept", b"yes")
        client.close()
        server.kill()
        server.start()
        client = redis.Redis.from_url(server.url)
        try:
            assert client.get("kept") == b"yes"
        finally:
            client.close()


@pytest.mark.parametrize("service", [EmbeddedKafka, EmbeddedRedis])
def test_taken_port_error_names_the_log_file(
    service: type[EmbeddedKafka | EmbeddedRedis], tmp_path: Path
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        server = service(port=squatter.getsockname()[1], log_dir=tmp_path, start_timeout=20)
        with pytest.raises(ProcessExitedError) as failure:
            server.start()
    message = str(failure.value)
    assert str(server.log_path) in message
    assert "in use" in message  # the tail of the log explains why
    assert not running(server.pid)


@pytest.mark.parametrize("service", [EmbeddedKafka, EmbeddedRedis])
def test_stop_leaves_no_process(
    service: type[EmbeddedKafka | EmbeddedRedis], tmp_path: Path
) -> None:
    server = service(log_dir=tmp_path).start()
    pid = server.pid
    assert running(pid)

    server.stop()

    assert not running(pid)
    assert not server.alive


PARENT = """
import sys, time
from pathlib import Path
from commands.embedded import EmbeddedKafka, EmbeddedRedis
kafka = EmbeddedKafka(log_dir=Path(sys.argv[1])).start()
server = EmbeddedRedis(log_dir=Path(sys.argv[1])).start()
print(kafka.pid, server.pid, flush=True)
time.sleep(600)
"""


def test_children_die_with_a_killed_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(running(pid) for pid in pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        wait_until(lambda: not any(running(pid) for pid in pids), 10, "children to die")
    finally:
        parent.kill()
        parent.wait()
        parent.stdout and parent.stdout.close()


def test_services_uses_external_endpoints_as_given() -> None:
    settings = Settings(kafka_bootstrap="10.0.0.1:9092", redis_url="redis://10.0.0.2:6379/1")

    with services(settings) as endpoints:
        assert endpoints == Endpoints("10.0.0.1:9092", "redis://10.0.0.2:6379/1", {})


def test_services_embeds_what_is_not_configured(tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap="10.0.0.1:9092", redis_url=None)

    with services(settings, log_dir=tmp_path) as endpoints:
        assert endpoints.kafka_bootstrap == "10.0.0.1:9092"
        assert set(endpoints.logs) == {"redis"}
        client = redis.Redis.from_url(endpoints.redis_url)
        try:
            assert client.ping()
        finally:
            client.close()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(endpoints.redis_url, retry=None).ping()


def test_services_embeds_both_by_default(tmp_path: Path) -> None:
    with services(Settings(kafka_bootstrap=None, redis_url=None), log_dir=tmp_path) as endpoints:
        ensure_topics(endpoints.kafka_bootstrap, unique_topic_settings(Settings(partitions=1)))
        assert endpoints.logs == {"kafka": tmp_path / "kafka.log", "redis": tmp_path / "redis.log"}
        assert "ready" in endpoints.logs["kafka"].read_text()
