"""Readers for the deployment files checked by ``tests/infra`` (no Docker engine needed).

Compose interpolation, Dockerfile stages, PromQL metric names and Markdown anchors are parsed
just far enough to check what the static tests assert.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "infra" / "Dockerfile"
PROMETHEUS = REPO / "infra" / "prometheus" / "prometheus.yml"
ALERTS = REPO / "infra" / "prometheus" / "alerts.yml"
GRAFANA = REPO / "infra" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "flowcast.json"
DOCS = REPO / "docs"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, ${VAR:+alt}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")


def load_yaml(path: Path) -> Any:
    """The YAML document of `path` (safe loader; merge keys ``<<`` are resolved)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def compose() -> dict[str, Any]:
    """docker-compose.yml as a mapping."""
    data = load_yaml(COMPOSE)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def services() -> dict[str, dict[str, Any]]:
    """The compose services by name."""
    found = compose().get("services")
    assert isinstance(found, dict) and found, "docker-compose.yml declares no services"
    return found


def resolve(text: str) -> str:
    """Interpolate like compose with no variable set: defaults apply, others become ``<VAR>``.

    >>> resolve("${IMAGE:-flowcast:0.1.0} ${SECRET:?set it}")
    'flowcast:0.1.0 <SECRET>'
    """

    def one(match: re.Match[str]) -> str:
        op = match["op"] or ""
        return match["arg"] if op in {":-", "-"} else f"<{match['name']}>"

    return INTERPOLATION.sub(one, text)


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping (either compose syntax), values as strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def as_argv(value: Any) -> list[str]:
    """A compose ``command``/``entrypoint`` as a list (string form split on whitespace)."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(item) for item in value]


def builds_flowcast_image(service: dict[str, Any]) -> bool:
    """True for services running the application image built from infra/Dockerfile."""
    build = service.get("build")
    return isinstance(build, dict) and build.get("dockerfile") == "infra/Dockerfile"


def compose_strings() -> list[str]:
    """Every string of docker-compose.yml (comments excluded), anchors expanded."""
    return walk_strings(compose())


def walk_strings(node: Any) -> list[str]:
    """Every string (keys and values) in a YAML/JSON tree."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*walk_strings(k), *walk_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in walk_strings(item)]
    return [node] if isinstance(node, str) else []


def image_is_pinned(image: str) -> bool:
    """A registry reference with an explicit, non-``latest`` tag or a digest.

    >>> [image_is_pinned(i) for i in ("redis:7.4.1", "redis", "redis:latest", "a/b@sha256:00")]
    [True, False, False, True]
    >>> image_is_pinned("localhost:5000/app")
    False
    """
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.rsplit(":", 1)[1]
    return bool(tag) and tag != "latest" and "<" not in tag


@dataclass
class Stage:
    """One ``FROM`` stage of a Dockerfile: its base, alias and instructions."""

    base: str
    alias: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args_of(self, keyword: str) -> list[str]:
        """The arguments of every `keyword` instruction of this stage, in order."""
        return [args for name, args in self.instructions if name == keyword]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs, continuation lines joined, comments and blanks dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    pairs = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def dockerfile_stages(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults (before the first FROM) and the stages, bases resolved."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, args in dockerfile_instructions(path):
        if keyword == "FROM":
            parts = [p for p in args.split() if not p.startswith("--platform")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m[1], f"<{m[1]}>"), parts[0])
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=base, alias=alias))
        elif not stages:
            if keyword == "ARG" and "=" in args:
                name, _, default = args.partition("=")
                global_args[name.strip()] = default.strip().strip("\"'")
        else:
            stages[-1].instructions.append((keyword, args))
    return global_args, stages


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form instruction, or None for shell form."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None
    return [str(item) for item in value] if isinstance(value, list) else None


_PROMQL_STRING = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`[^`]*`")
_PROMQL_GRAFANA_VAR = re.compile(r"\$\{?\w+\}?")
_PROMQL_MATCHERS = re.compile(r"\{[^{}]*\}")
_PROMQL_RANGE = re.compile(r"\[[^\[\]]*\]")
_PROMQL_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_PROMQL_NUMBER = re.compile(r"(?<![\w:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*")
_PROMQL_FUNCTION = re.compile(r"\b[A-Za-z_]\w*\s*\(")
_PROMQL_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"offset", "bool", "inf", "nan", "atan2"}
)


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, labels and functions removed).

    >>> sorted(promql_metric_names(
    ...     'sum by (le) (rate(a_bucket{job=~"x.*", s="5.."}[$__rate_interval])) / '
    ...     "clamp_min(b_total offset 1h, 1e-9) > 0.5 and on (model) c:rule"
    ... ))
    ['a_bucket', 'b_total', 'c:rule']
    """
    text = _PROMQL_STRING.sub(" ", expr)
    text = _PROMQL_GRAFANA_VAR.sub(" ", text)
    text = _PROMQL_MATCHERS.sub(" ", text)
    text = _PROMQL_RANGE.sub(" ", text)
    text = _PROMQL_GROUPING.sub(" ", text)
    text = _PROMQL_NUMBER.sub(" ", text)
    text = _PROMQL_FUNCTION.sub("(", text)
    return {name for name in _PROMQL_IDENT.findall(text) if name.lower() not in _PROMQL_KEYWORDS}


def alert_rules() -> list[dict[str, Any]]:
    """Every rule of infra/prometheus/alerts.yml."""
    groups = load_yaml(ALERTS)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    """The provisioned Grafana dashboard."""
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def dashboard_panels() -> list[dict[str, Any]]:
    """Every panel of the dashboard, those nested in collapsed rows included."""
    found: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel."""
    return [
        (panel.get("title", "?"), target["expr"])
        for panel in dashboard_panels()
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def markdown_anchors(path: Path) -> set[str]:
    """GitHub-style anchors of the headings of a Markdown file, plus explicit ``id=`` ones.

    >>> "flowcastapierrorratehigh" in markdown_anchors(DOCS / "runbook.md")
    True
    """
    anchors: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            anchors.add(slug)
        anchors.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", line))
    return anchors
