"""Static checks of docker-compose.yml: health, pinning, secrets, dependencies, scaling."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main
from infra_files import (
    INTERPOLATION,
    REPO,
    as_argv,
    builds_flowcast_image,
    compose,
    compose_strings,
    environment,
    image_is_pinned,
    resolve,
    services,
    walk_strings,
)

from commands.cli import app
from flowcast.settings import Settings
from producers.live.kafka_state import mark_topic

REQUIRED_SECRETS = (
    "FLOWCAST_JWT_SECRET",
    "FLOWCAST_ADMIN_PASSWORD",
    "POSTGRES_PASSWORD",
    "GF_SECURITY_ADMIN_PASSWORD",
    "FLOWCAST_REDIS_PASSWORD",
    "FLOWCAST_KAFKA_PASSWORD",
    "KAFKA_BROKER_PASSWORD",
    "FLOWCAST_METRICS_TOKEN",
)
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|API_KEY", re.IGNORECASE)
URL_USERINFO = re.compile(r"\w+://[^/\s:@]+:(?P<password>[^@\s]+)@")
STATEFUL = {
    "kafka": "/var/lib/kafka/data",
    "redis": "/data",
    "postgres": "/var/lib/postgresql/data",
    "mlflow": "/mlartifacts",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
}
# FLOWCAST_* variables set in compose that are deliberately not `Settings` fields.
NOT_SETTINGS = {
    "FLOWCAST_HEALTHCHECK_URL": "read by the image HEALTHCHECK (infra/Dockerfile), not the app",
}
BUNDLED_DATA_IN_IMAGE = "/app/data/"

SERVICE_NAMES = sorted(services())
APP_SERVICES = sorted(name for name, svc in services().items() if builds_flowcast_image(svc))


def test_the_stack_has_every_component() -> None:
    expected = {"kafka", "kafka-init", "redis", "postgres", "mlflow", "worker", "api", "live"}
    assert expected | {"producer", "prometheus", "grafana"} <= set(SERVICE_NAMES)
    assert {"worker", "api", "producer", "live"} <= set(APP_SERVICES)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_has_a_healthcheck(name: str) -> None:
    check = services()[name].get("healthcheck")
    assert isinstance(check, dict), f"service {name!r} has no healthcheck"
    assert not check.get("disable"), f"service {name!r} disables its healthcheck"
    test = check.get("test")
    assert test and as_argv(test)[0] in {"CMD", "CMD-SHELL"}, f"{name!r}: bad healthcheck test"
    for key in ("interval", "timeout", "retries"):
        assert key in check, f"service {name!r}: healthcheck without {key}"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_image_is_pinned(name: str) -> None:
    service = services()[name]
    image = service.get("image")
    assert image or service.get("build"), f"service {name!r} has neither image nor build"
    if image:
        resolved = resolve(str(image))
        assert image_is_pinned(resolved), f"service {name!r}: image {image!r} is not pinned"
    build = service.get("build")
    if build:
        context = REPO / build.get("context", ".")
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), (
            f"service {name!r}: its Dockerfile does not exist"
        )


def test_required_secrets_use_the_error_form() -> None:
    matches = [m for text in compose_strings() for m in INTERPOLATION.finditer(text)]
    for secret in REQUIRED_SECRETS:
        uses = [m for m in matches if m["name"] == secret]
        assert uses, f"{secret} is not used in docker-compose.yml"
        for use in uses:
            assert use["op"] == ":?" and use["arg"].strip(), (
                f"{use[0]} must be ${{{secret}:?<message>}}: required, no default"
            )


def test_no_interpolated_secret_has_a_default() -> None:
    defaulted = [
        m[0]
        for text in compose_strings()
        for m in INTERPOLATION.finditer(text)
        if SECRET_KEY.search(m["name"]) and m["op"]
    ]
    assert all("?" in use for use in defaulted), f"secrets with a default value: {defaulted}"


def _only_required_interpolations(value: str) -> bool:
    stripped = INTERPOLATION.sub(lambda m: "" if m["op"] == ":?" else m[0], value)
    return "${" in value and stripped.strip() == ""


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_no_literal_passwords(name: str) -> None:
    service = services()[name]
    for key, value in environment(service).items():
        if SECRET_KEY.search(key):
            assert _only_required_interpolations(value), (
                f"service {name!r}: {key} must come from ${{VAR:?message}}, not {value!r}"
            )
    for text in walk_strings(service):
        for match in URL_USERINFO.finditer(text):
            assert _only_required_interpolations(match["password"]), (
                f"service {name!r}: literal password in URL {text!r}"
            )


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_depends_on_waits_for_health_or_completion(name: str) -> None:
    all_services = services()
    depends = all_services[name].get("depends_on")
    if depends is None:
        return
    assert isinstance(depends, dict), f"service {name!r}: depends_on must use conditions"
    for target, spec in depends.items():
        assert target in all_services, f"service {name!r} depends on unknown {target!r}"
        condition = (spec or {}).get("condition")
        assert condition in {"service_healthy", "service_completed_successfully"}, (
            f"service {name!r} -> {target!r}: condition {condition!r}"
        )
        if condition == "service_completed_successfully":
            assert all_services[target].get("restart") == "no", f"{target!r} is not one-shot"
        else:
            assert all_services[target].get("healthcheck"), f"{target!r} has no healthcheck"


def test_app_services_wait_for_topics_and_stores() -> None:
    for name in ("worker", "api", "producer"):
        depends = services()[name]["depends_on"]
        assert depends["kafka-init"]["condition"] == "service_completed_successfully", name
    for store in ("kafka", "redis"):
        assert services()["worker"]["depends_on"][store]["condition"] == "service_healthy"
    assert services()["api"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_worker_can_scale() -> None:
    worker = services()["worker"]
    assert "container_name" not in worker, "a container_name prevents --scale worker=N"
    assert "ports" not in worker, "fixed host ports collide between worker replicas"
    assert "hostname" not in worker
    port = environment(worker).get("FLOWCAST_WORKER_METRICS_PORT")
    assert port and int(port) > 0, "the worker must expose FLOWCAST_WORKER_METRICS_PORT"


def test_no_service_pins_a_container_name() -> None:
    pinned = [name for name, svc in services().items() if "container_name" in svc]
    assert not pinned, f"container_name set on {pinned}"


def _named_volume(entry: Any) -> tuple[str | None, str]:
    if isinstance(entry, dict):
        source, target = entry.get("source"), str(entry.get("target"))
        return (source if entry.get("type", "volume") == "volume" else None), target
    parts = str(entry).split(":")
    source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
    is_path = source.startswith((".", "/", "~", "$"))
    return (None if is_path else source), target


def test_named_volumes_are_declared_and_used() -> None:
    declared = set(compose().get("volumes") or {})
    used = {
        source
        for svc in services().values()
        for entry in svc.get("volumes", [])
        if (source := _named_volume(entry)[0])
    }
    assert used <= declared, f"volumes used but not declared: {sorted(used - declared)}"
    assert declared <= used, f"volumes declared but unused: {sorted(declared - used)}"


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_stateful_services_keep_data_in_a_named_volume(name: str) -> None:
    mounts = [_named_volume(entry) for entry in services()[name].get("volumes", [])]
    assert any(source and target == STATEFUL[name] for source, target in mounts), (
        f"service {name!r} must keep {STATEFUL[name]} on a named volume"
    )


def test_bind_mounted_config_exists() -> None:
    for name, service in services().items():
        for entry in service.get("volumes", []):
            source = str(entry).split(":")[0] if not isinstance(entry, dict) else ""
            if source.startswith("./infra"):
                assert (REPO / source).exists(), f"service {name!r} mounts missing {source}"


def test_redis_persists_with_aof() -> None:
    argv = as_argv(services()["redis"]["command"])
    assert argv[0] == "redis-server"
    assert argv[argv.index("--appendonly") + 1] == "yes"


def test_kafka_runs_in_kraft_mode() -> None:
    env = environment(services()["kafka"])
    assert services()["kafka"]["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    assert env["KAFKA_LOG_DIRS"] == STATEFUL["kafka"]
    cluster_id = resolve(env["CLUSTER_ID"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id), "CLUSTER_ID must be a base64 UUID"


def test_kafka_init_creates_the_topics_of_the_settings() -> None:
    init = services()["kafka-init"]
    assert init["restart"] == "no"
    env = environment(init)
    defaults = Settings()
    expected = {defaults.readings_topic, defaults.deadletter_topic, defaults.forecasts_topic}
    assert set(env["TOPICS"].split()) == expected
    script = " ".join(as_argv(init["command"]))
    assert "kafka-topics.sh" in script and "--if-not-exists" in script
    for app_service in APP_SERVICES:
        app_env = environment(services()[app_service])
        assert app_env["FLOWCAST_PARTITIONS"] == env["PARTITIONS"], app_service
        topics = {app_env[f"FLOWCAST_{kind}_TOPIC"] for kind in ("READINGS", "DEADLETTER")}
        assert topics | {app_env["FLOWCAST_FORECASTS_TOPIC"]} == expected, app_service
    assert int(resolve(env["PARTITIONS"])) >= 12


def test_mlflow_uses_postgres_and_an_artifact_volume() -> None:
    mlflow = services()["mlflow"]
    uri = resolve(environment(mlflow)["MLFLOW_BACKEND_STORE_URI"])
    assert uri.startswith("postgresql://") and "@postgres:5432/" in uri
    argv = as_argv(mlflow["command"])
    assert argv[:2] == ["mlflow", "server"]
    assert argv[argv.index("--artifacts-destination") + 1] == STATEFUL["mlflow"]
    dockerfile = (REPO / mlflow["build"]["context"] / mlflow["build"]["dockerfile"]).read_text()
    assert "psycopg2" in dockerfile, "the MLflow image needs a PostgreSQL driver"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_in_production(name: str) -> None:
    env = environment(services()[name])
    assert env.get("FLOWCAST_ENVIRONMENT") == "production"
    assert env.get("FLOWCAST_KAFKA_BOOTSTRAP") == "kafka:9092"
    redis_url = resolve(env.get("FLOWCAST_REDIS_URL", ""))
    assert redis_url == "redis://default:<FLOWCAST_REDIS_PASSWORD>@redis:6379/0"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_flowcast_variables_are_settings(name: str) -> None:
    fields = {f"FLOWCAST_{field.upper()}" for field in Settings.model_fields}
    stale = sorted(set(NOT_SETTINGS) & fields)
    assert not stale, f"now real settings, drop them from NOT_SETTINGS: {stale}"
    flowcast_vars = {key for key in environment(services()[name]) if key.startswith("FLOWCAST_")}
    unknown = sorted(flowcast_vars - fields - set(NOT_SETTINGS))
    assert not unknown, f"service {name!r} sets variables no Settings field reads: {unknown}"


def test_gateway_listens_on_8000_in_its_container_and_on_loopback_on_the_host() -> None:
    api = services()["api"]
    env = environment(api)
    assert env["FLOWCAST_API_HOST"] == "0.0.0.0"
    assert env["FLOWCAST_API_PORT"] == "8000"
    assert [resolve(str(port)) for port in api["ports"]] == ["127.0.0.1:8000:8000"]


def test_kafka_init_creates_the_live_feeds_mark_topic_compacted() -> None:
    init = services()["kafka-init"]
    assert environment(init)["LIVE_MARK_TOPIC"] == mark_topic(Settings())
    script = " ".join(as_argv(init["command"]))
    assert '--topic "$$LIVE_MARK_TOPIC" --partitions 1' in script
    assert "--config cleanup.policy=compact" in script


def test_the_live_feed_runs_by_default_and_exports_metrics() -> None:
    live = services()["live"]
    assert not live.get("profiles"), "the live feed is the production input: started by default"
    assert live["restart"] == "unless-stopped"
    assert as_argv(live["command"]) == ["live"]
    env = environment(live)
    assert resolve(env["FLOWCAST_LIVE_URL"]) == Settings().live_url
    assert resolve(env["FLOWCAST_LIVE_EVERY_S"]) == format(Settings().live_every_s, "g")
    assert env["FLOWCAST_LIVE_METRICS_HOST"] == "0.0.0.0"
    port = env["FLOWCAST_LIVE_METRICS_PORT"]
    assert port in [str(p) for p in live["expose"]]
    assert f":{port}/metrics" in " ".join(as_argv(live["healthcheck"]["test"]))
    assert live["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"


def test_producer_only_runs_on_demand() -> None:
    producer = services()["producer"]
    assert producer.get("profiles"), "the producer must sit in a profile (not started by default)"
    assert producer.get("restart") == "no"
    argv = as_argv(producer["command"])
    assert argv[0] == "replay" and argv[argv.index("--speed") + 1] == "3600"


def _click_command(argv: list[str]) -> tuple[Any, list[str]]:
    # Typer may vendor its own click, so groups are recognised by behaviour, not by class.
    command: Any = typer.main.get_command(app)
    rest = list(argv)
    while hasattr(command, "list_commands"):
        assert rest, f"`flowcast {' '.join(argv)}` names no sub-command"
        with command.context_class(command) as ctx:
            sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"`flowcast {rest[0]}` is not a command of commands.cli.app"
        command, rest = sub, rest[1:]
    return command, rest


def _in_repo(arg: str) -> str:
    if arg.startswith(BUNDLED_DATA_IN_IMAGE):
        return str(REPO / "data" / arg.removeprefix(BUNDLED_DATA_IN_IMAGE))
    return arg


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_commands_exist_in_the_cli(name: str) -> None:
    service = services()[name]
    assert "entrypoint" not in service, "the image's ENTRYPOINT is `flowcast`"
    argv = [_in_repo(arg) for arg in as_argv(service["command"])]
    command, rest = _click_command(argv)
    # Parse (never run) the arguments: unknown options, bad values, missing files all fail.
    with command.make_context(f"flowcast {name}", rest) as ctx:
        assert ctx.command is command


def test_cli_check_rejects_unknown_commands() -> None:
    with pytest.raises(AssertionError, match="not a command"):
        _click_command(["no-such-command"])
    command, rest = _click_command(["bench", "api", "--seconds", "2"])
    assert command.name == "api" and rest == ["--seconds", "2"]
