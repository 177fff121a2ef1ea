"""Static checks of the Prometheus configuration, alert rules and Grafana provisioning."""

from __future__ import annotations

from typing import Any

import pytest
from infra_files import (
    ALERTS,
    DASHBOARD,
    DOCS,
    GRAFANA,
    PROMETHEUS,
    alert_rules,
    dashboard,
    dashboard_exprs,
    dashboard_panels,
    environment,
    load_yaml,
    markdown_anchors,
    services,
)

ANNOTATIONS = ("summary", "description", "runbook_url")
RUNBOOK_PREFIX = "docs/runbook.md#"
# What the issue asks alerts for, each with the alert that covers it.
REQUIRED_ALERTS = {
    "stale forecasts": "FlowcastForecastsStale",
    "consumer lag": "FlowcastConsumerLagHigh",
    "dead-letter rate": "FlowcastDeadLetterRateHigh",
    "API error rate": "FlowcastApiErrorRateHigh",
    "model MAE degrading": "FlowcastModelMaeDegraded",
    "WebSocket drops": "FlowcastWebSocketDrops",
    "live feed late by more than two hours": "FlowcastFeedLate",
}
RULE_IDS = [rule["alert"] for rule in alert_rules()]


def _scrape_jobs() -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in load_yaml(PROMETHEUS)["scrape_configs"]}


def _mount_target(service: str, source: str) -> str:
    for entry in services()[service]["volumes"]:
        parts = str(entry).split(":")
        if parts[0] == source:
            return parts[1]
    raise AssertionError(f"service {service!r} does not mount {source}")


def test_prometheus_loads_the_mounted_alert_rules() -> None:
    config = load_yaml(PROMETHEUS)
    assert config["global"]["scrape_interval"]
    rules_in_container = _mount_target("prometheus", "./infra/prometheus/alerts.yml")
    assert config["rule_files"] == [rules_in_container]
    assert _mount_target("prometheus", "./infra/prometheus/prometheus.yml") == (
        "/etc/prometheus/prometheus.yml"
    )


def test_prometheus_scrapes_the_gateway() -> None:
    job = _scrape_jobs()["flowcast-api"]
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert targets == [f"api:{environment(services()['api'])['FLOWCAST_API_PORT']}"]
    assert job.get("metrics_path", "/metrics") == "/metrics"


def test_prometheus_discovers_every_worker_replica() -> None:
    job = _scrape_jobs()["flowcast-worker"]
    assert "static_configs" not in job, "static targets would miss scaled replicas"
    (discovery,) = job["dns_sd_configs"]
    assert discovery["type"] == "A"
    assert discovery["names"] == ["worker"] and "worker" in services()
    port = environment(services()["worker"])["FLOWCAST_WORKER_METRICS_PORT"]
    assert discovery["port"] == int(port)


def test_prometheus_scrapes_the_live_feed() -> None:
    job = _scrape_jobs()["flowcast-live"]
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert targets == [f"live:{environment(services()['live'])['FLOWCAST_LIVE_METRICS_PORT']}"]


def test_the_feed_alert_fires_past_two_hours_of_lateness() -> None:
    (rule,) = [r for r in alert_rules() if r["alert"] == "FlowcastFeedLate"]
    expr = " ".join(str(rule["expr"]).split())
    # the newest hour's data is due when it ends (+1 h); late by over 2 h more: > 3 h
    assert expr == "time() - max(flowcast_feed_newest_data_hour_timestamp_seconds) > 3 * 3600"


def test_alert_names_are_unique_and_cover_the_issue() -> None:
    assert len(RULE_IDS) == len(set(RULE_IDS)), "duplicate alert names"
    missing = {need: name for need, name in REQUIRED_ALERTS.items() if name not in RULE_IDS}
    assert not missing, f"alerts missing: {missing}"


@pytest.mark.parametrize("rule", alert_rules(), ids=RULE_IDS)
def test_every_rule_is_complete(rule: dict[str, Any]) -> None:
    assert isinstance(rule["expr"], str) and rule["expr"].strip()
    assert rule.get("for"), "a rule without `for` fires on a single bad scrape"
    labels = rule.get("labels")
    assert isinstance(labels, dict) and labels.get("severity") in {"warning", "critical"}
    annotations = rule.get("annotations")
    assert isinstance(annotations, dict)
    for key in ANNOTATIONS:
        assert str(annotations.get(key, "")).strip(), f"{rule['alert']}: no {key} annotation"


@pytest.mark.parametrize("rule", alert_rules(), ids=RULE_IDS)
def test_runbook_urls_point_at_existing_sections(rule: dict[str, Any]) -> None:
    url = str(rule["annotations"]["runbook_url"])
    assert url.startswith(RUNBOOK_PREFIX), url
    anchor = url.removeprefix(RUNBOOK_PREFIX)
    assert anchor == str(rule["alert"]).lower(), "anchor = alert name in lower case"
    assert anchor in markdown_anchors(DOCS / "runbook.md"), f"no section #{anchor} in runbook"


@pytest.mark.parametrize(
    "where_expr",
    [(str(r["alert"]), str(r["expr"])) for r in alert_rules()] + dashboard_exprs(),
    ids=lambda item: item[0],
)
def test_promql_brackets_balance(where_expr: tuple[str, str]) -> None:
    where, expr = where_expr
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quoted = ""
    for char in expr:
        if quoted:
            quoted = "" if char == quoted else quoted
        elif char in "\"'":
            quoted = char
        elif char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack and stack.pop() == pairs[char], f"{where}: unbalanced {char} in {expr}"
    assert not stack and not quoted, f"{where}: unclosed {stack or quoted} in {expr}"


def test_grafana_datasource_and_provider_match_the_mounts() -> None:
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "flowcast.yml")
    (provider,) = providers["providers"]
    assert provider["options"]["path"] == _mount_target("grafana", "./infra/grafana/dashboards")
    assert _mount_target("grafana", "./infra/grafana/provisioning") == "/etc/grafana/provisioning"


def test_dashboard_panels_query_the_provisioned_datasource() -> None:
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    uid = datasources["datasources"][0]["uid"]
    data = dashboard()
    assert data["uid"] and data["title"]
    panels = dashboard_panels()
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid and target["expr"].strip()


def test_dashboard_shows_what_the_issue_asks_for() -> None:
    text = DASHBOARD.read_text(encoding="utf-8")
    for metric in (
        "flowcast_worker_readings_total",  # pipeline throughput
        "flowcast_worker_consumer_lag",  # lag
        "flowcast_newest_forecast_age_seconds",  # forecast freshness
        "flowcast_worker_model_rolling_mae",  # model error per model
        "flowcast_http_request_seconds_bucket",  # API latency
        "flowcast_http_requests_total",  # API errors
        "flowcast_ws_clients",  # WebSocket clients
    ):
        assert metric in text, f"the dashboard does not show {metric}"
    assert ALERTS.is_file()
