"""Static checks that every service of docker-compose.yml sits behind credentials and that
the networks keep the monitoring side away from the data stores."""

from __future__ import annotations

from typing import Any

import pytest
from infra_files import (
    PROMETHEUS,
    as_argv,
    builds_flowcast_image,
    compose,
    environment,
    load_yaml,
    resolve,
    services,
)

DATA_STORES = ("redis", "kafka", "postgres", "mlflow")
MONITORING = ("prometheus", "grafana")


def networks_of(name: str) -> set[str]:
    found = services()[name].get("networks")
    assert found, f"service {name!r} names no network (it would join the default one)"
    return set(found)


def test_every_service_names_its_networks() -> None:
    declared = set(compose()["networks"])
    for name in services():
        assert networks_of(name) <= declared, name


def test_data_stores_are_on_the_internal_backend_only() -> None:
    assert compose()["networks"]["backend"].get("internal") is True
    for name in DATA_STORES:
        assert networks_of(name) == {"backend"}, name
        assert "ports" not in services()[name], f"{name} must not be published on the host"


@pytest.mark.parametrize("name", MONITORING)
def test_monitoring_cannot_reach_the_data_stores(name: str) -> None:
    for store in DATA_STORES:
        assert not networks_of(name) & networks_of(store), f"{name} shares a network with {store}"


def test_published_ports_bind_loopback_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert resolve(str(port)).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_redis_requires_a_password_from_a_mounted_config() -> None:
    redis = services()["redis"]
    (config,) = redis["configs"]
    content = compose()["configs"][config["source"]]["content"]
    assert resolve(content).strip() == "requirepass <FLOWCAST_REDIS_PASSWORD>"
    argv = as_argv(redis["command"])
    assert argv[:2] == ["redis-server", config["target"]]
    assert not any("requirepass" in arg for arg in argv), "the password would show in ps"
    check = " ".join(as_argv(redis["healthcheck"]["test"]))
    assert "REDISCLI_AUTH" in check and "PONG" in check


def _listeners(env: dict[str, str]) -> dict[str, str]:
    return dict(
        item.split(":", 1) for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )


def test_kafka_clients_and_broker_authenticate_with_sasl() -> None:
    env = environment(services()["kafka"])
    protocols = _listeners(env)
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    for listener in env["KAFKA_LISTENERS"].split(","):
        name, address = listener.split("://")
        if name == controller:
            assert address.startswith("localhost:"), "the controller listener must stay local"
        else:
            assert protocols[name].startswith("SASL_"), f"listener {name} is not SASL"
    assert protocols[env["KAFKA_INTER_BROKER_LISTENER_NAME"]].startswith("SASL_")
    jaas = resolve(env["KAFKA_LISTENER_NAME_INTERNAL_PLAIN_SASL_JAAS_CONFIG"])
    assert 'user_flowcast="<FLOWCAST_KAFKA_PASSWORD>"' in jaas
    assert 'password="<KAFKA_BROKER_PASSWORD>"' in jaas
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "PLAIN"


@pytest.mark.parametrize("name", ["kafka", "kafka-init"])
def test_kafka_tools_connect_with_credentials(name: str) -> None:
    service = services()[name]
    script = " ".join(as_argv(service.get("command")) + as_argv(service["healthcheck"]["test"]))
    calls = script.count("--bootstrap-server")
    assert calls and script.count("--command-config") == calls, name
    assert "security.protocol=SASL_PLAINTEXT" in script


def _app_services() -> list[str]:
    return sorted(n for n, svc in services().items() if builds_flowcast_image(svc))


@pytest.mark.parametrize("name", _app_services())
def test_every_app_process_uses_kafka_sasl(name: str) -> None:
    env = environment(services()[name])
    assert env["FLOWCAST_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["FLOWCAST_KAFKA_SASL_MECHANISM"] == "PLAIN"
    assert env["FLOWCAST_KAFKA_USERNAME"] == "flowcast"
    assert resolve(env["FLOWCAST_KAFKA_PASSWORD"]) == "<FLOWCAST_KAFKA_PASSWORD>"


def test_prometheus_has_no_lifecycle_api_and_scrapes_with_the_token() -> None:
    prometheus = services()["prometheus"]
    assert not any("lifecycle" in arg for arg in as_argv(prometheus["command"]))
    (secret,) = prometheus["secrets"]
    assert compose()["secrets"][secret]["environment"] == "FLOWCAST_METRICS_TOKEN"
    api_env = environment(services()["api"])
    assert resolve(api_env["FLOWCAST_METRICS_TOKEN"]) == "<FLOWCAST_METRICS_TOKEN>"
    jobs: dict[str, Any] = {j["job_name"]: j for j in load_yaml(PROMETHEUS)["scrape_configs"]}
    auth = jobs["flowcast-api"]["authorization"]
    assert auth["type"] == "Bearer" and auth["credentials_file"] == f"/run/secrets/{secret}"
    assert networks_of("prometheus") & networks_of("api") and networks_of("prometheus") & (
        networks_of("worker")
    )
