"""The deployment docs exist, match the compose file and cover every alert."""

from __future__ import annotations

import re

import pytest
from infra_files import DOCS, INTERPOLATION, alert_rules, compose_strings, markdown_anchors

DOC_FILES = ("deployment.md", "runbook.md", "model-card.md", "promotion-checklist.md")


@pytest.mark.parametrize("name", DOC_FILES)
def test_doc_exists(name: str) -> None:
    text = (DOCS / name).read_text(encoding="utf-8")
    assert len(text) > 1000 and text.startswith("# ")


def _required_variables() -> set[str]:
    return {
        m["name"]
        for text in compose_strings()
        for m in INTERPOLATION.finditer(text)
        if m["op"] == ":?"
    }


def test_deployment_documents_every_required_variable() -> None:
    deployment = (DOCS / "deployment.md").read_text(encoding="utf-8")
    example = (DOCS / "env.example").read_text(encoding="utf-8")
    required = _required_variables()
    assert len(required) >= 4
    for name in required:
        assert f"`{name}`" in deployment, f"deployment.md does not explain {name}"
        assert re.search(rf"^{name}=$", example, re.MULTILINE), f"env.example lacks {name}="


def test_deployment_shows_how_to_run_scale_replay_and_back_up() -> None:
    text = (DOCS / "deployment.md").read_text(encoding="utf-8")
    for snippet in (
        "docker compose up -d --scale worker=3",
        "--profile replay run --rm producer",
        "BGREWRITEAOF",
        "pg_dump",
    ):
        assert snippet in text, f"deployment.md lacks {snippet!r}"


def test_runbook_has_a_section_per_alert_and_no_orphan() -> None:
    alerts = {str(rule["alert"]) for rule in alert_rules()}
    text = (DOCS / "runbook.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (Flowcast\w+)\s*$", text, re.MULTILINE))
    assert sections == alerts, f"missing: {alerts - sections}, orphans: {sections - alerts}"


@pytest.mark.parametrize("name", DOC_FILES)
def test_links_between_docs_resolve(name: str) -> None:
    text = (DOCS / name).read_text(encoding="utf-8")
    for target, anchor in re.findall(r"\]\(([\w.-]*\.md)?(?:#([\w-]+))?\)", text):
        path = DOCS / (target or name)
        assert path.is_file(), f"{name} links to missing {target}"
        if anchor:
            assert anchor in markdown_anchors(path), f"{name} links to missing {path.name}#{anchor}"


def test_model_card_covers_data_features_models_and_limits() -> None:
    text = (DOCS / "model-card.md").read_text(encoding="utf-8")
    for word in (
        "ODbL",
        "168",
        "holidays",
        "linear_fast",
        "holt_winters",
        "ensemble",
        "persistence",
        "seasonal_naive_week",
        "historical_average",
        "moving_average_3h",
        "delayed",
        "## Limits",
        "flowcast evaluate",
    ):
        assert word in text, f"model-card.md does not mention {word!r}"
