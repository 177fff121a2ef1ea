"""Every metric an alert or a dashboard panel uses is one the code really exports.

Names are collected from the registries the processes serve: the worker's metrics live in
``prometheus_client.REGISTRY`` (``stream.metrics``), the gateway's in the registry of each
``api.metrics.GatewayMetrics``, the live feed's in ``producers.live.metrics.FeedMetrics``.
A family's exposed series names depend on its type (``_total``/``_created`` for counters,
``_bucket``/``_sum``/``_count`` for histograms...).
"""

from __future__ import annotations

import doctest
import importlib
from typing import Any

import infra_files
import prometheus_client
from infra_files import alert_rules, dashboard_exprs, promql_metric_names
from prometheus_client import CollectorRegistry

# Series Prometheus itself synthesises for every target or rule.
PROMETHEUS_BUILTIN = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"}
)
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


def exposed_names(registry: CollectorRegistry) -> set[str]:
    """Every series name `registry` can expose, labelled families without children included."""
    names: set[str] = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def gateway_registries() -> list[CollectorRegistry]:
    """The registries of the gateway's metrics module, wherever it keeps them."""
    module = importlib.import_module("api.metrics")
    found = [v for v in vars(module).values() if isinstance(v, CollectorRegistry)]
    holder = getattr(module, "GatewayMetrics", None)
    if holder is not None:
        instance: Any = holder()
        found += [v for v in vars(instance).values() if isinstance(v, CollectorRegistry)]
    return found


def feed_registry() -> CollectorRegistry:
    """The registry of the live feed's instruments (``flowcast live``)."""
    from producers.live.metrics import FeedMetrics

    return FeedMetrics().registry


def known_names() -> set[str]:
    importlib.import_module("stream.metrics")
    names = exposed_names(prometheus_client.REGISTRY) | exposed_names(feed_registry())
    for registry in gateway_registries():
        names |= exposed_names(registry)
    return names


def used_names() -> dict[str, set[str]]:
    """Metric name -> where it is used (alert names, dashboard panel titles)."""
    uses = [(f"alert {r['alert']}", str(r["expr"])) for r in alert_rules()]
    uses += [(f"panel {title!r}", expr) for title, expr in dashboard_exprs()]
    found: dict[str, set[str]] = {}
    for where, expr in uses:
        for name in promql_metric_names(expr):
            found.setdefault(name, set()).add(where)
    return found


def test_the_code_defines_the_metrics_of_both_processes() -> None:
    names = known_names()
    assert "flowcast_worker_readings_total" in names, "stream.metrics was not collected"
    assert gateway_registries(), "api.metrics exposes no registry"
    assert "flowcast_http_requests_total" in names, "the gateway registry was not collected"
    assert {"flowcast_worker_batch_seconds_bucket", "flowcast_worker_batch_seconds_count"} <= names
    assert "flowcast_feed_newest_data_hour_timestamp_seconds" in names, "the live feed's"


def test_alerts_and_dashboards_only_use_exported_metrics() -> None:
    known = known_names() | PROMETHEUS_BUILTIN
    unknown = {name: where for name, where in used_names().items() if name not in known}
    lines = [f"  {name}: used by {', '.join(sorted(where))}" for name, where in unknown.items()]
    assert not unknown, (
        "metrics used in infra/ that no code exports (stream/metrics.py, api/metrics.py):\n"
        + "\n".join(sorted(lines))
    )


def test_alerts_and_dashboards_use_metrics_at_all() -> None:
    used = used_names()
    assert len(used) >= 10, sorted(used)
    assert all(name.startswith(("flowcast_", "up")) for name in used), sorted(used)


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{status=~"5.."}[5m])))'
        " > 1.5 * avg by (model) (avg_over_time(y[1d] offset 1h)) and on () deriv(z[15m:1m])"
    )
    assert promql_metric_names(expr) == {"x_bucket", "y", "z"}
    assert promql_metric_names("sum(rate(a_total[$__rate_interval])) / 1e-9") == {"a_total"}


def test_helper_doctests() -> None:
    result = doctest.testmod(infra_files)
    assert result.attempted > 0 and result.failed == 0
