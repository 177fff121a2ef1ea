"""Static checks of infra/Dockerfile, infra/mlflow/Dockerfile and .dockerignore."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from infra_files import DOCKERFILE, REPO, Stage, dockerfile_stages, exec_form, image_is_pinned

MLFLOW_DOCKERFILE = REPO / "infra" / "mlflow" / "Dockerfile"


def _stages() -> list[Stage]:
    return dockerfile_stages(DOCKERFILE)[1]


def _final() -> Stage:
    return _stages()[-1]


@pytest.mark.parametrize("path", [DOCKERFILE, MLFLOW_DOCKERFILE], ids=["app", "mlflow"])
def test_base_images_are_pinned(path: Path) -> None:
    _, stages = dockerfile_stages(path)
    assert stages, f"{path} has no FROM"
    aliases: set[str] = set()
    for stage in stages:
        if stage.base not in aliases:
            assert image_is_pinned(stage.base), f"{path}: base image {stage.base!r} not pinned"
        if stage.alias:
            aliases.add(stage.alias)


def test_app_image_is_multi_stage_on_slim_python_311() -> None:
    stages = _stages()
    assert len(stages) >= 2, "infra/Dockerfile must be multi-stage"
    assert stages[0].alias == "builder"
    for stage in stages:
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", stage.base), stage.base


def test_builder_installs_the_project_into_a_venv() -> None:
    builder = _stages()[0]
    runs = " ".join(builder.args_of("RUN"))
    assert "python -m venv /opt/venv" in runs
    assert re.search(r"pip install (--\S+ )*\.(\s|$)", runs), "the builder must `pip install .`"


def test_builder_copies_every_package_of_pyproject() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in patterns}
    copied = {args.split()[0].rstrip("/") for args in _stages()[0].args_of("COPY")}
    assert packages <= copied, f"packages not copied into the builder: {packages - copied}"
    for source in copied - {"README.m[d]"}:
        assert (REPO / source).exists(), f"COPY source {source} does not exist"


def test_runtime_gets_only_the_venv_and_the_data() -> None:
    copies = _final().args_of("COPY")
    sources = set()
    for args in copies:
        parts = [p for p in args.split() if not p.startswith("--chown")]
        if parts[0].startswith("--from="):
            assert parts[0] == "--from=builder" and parts[1] == "/opt/venv", args
            sources.add("venv")
        else:
            sources.add(parts[0].rstrip("/"))
    assert sources == {"venv", "data"}, f"runtime copies {sources}"
    assert (REPO / "data" / "paris").is_dir()


def test_runtime_runs_as_a_non_root_user() -> None:
    users = _final().args_of("USER")
    assert users, "the final stage sets no USER (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"final USER is {user}"


def test_runtime_has_a_healthcheck_and_the_flowcast_entrypoint() -> None:
    final = _final()
    checks = final.args_of("HEALTHCHECK")
    assert checks and not checks[-1].upper().startswith("NONE"), "no HEALTHCHECK"
    assert "CMD" in checks[-1]
    assert exec_form(final.args_of("ENTRYPOINT")[-1]) == ["flowcast"]
    env = " ".join(final.args_of("ENV"))
    assert "FLOWCAST_ENVIRONMENT=production" in env
    assert "/opt/venv/bin" in env


def test_mlflow_image_adds_the_postgres_driver_and_matches_the_client() -> None:
    _, stages = dockerfile_stages(MLFLOW_DOCKERFILE)
    base = stages[-1].base
    assert base.startswith("ghcr.io/mlflow/mlflow:v"), base
    server_major = base.rsplit(":v", 1)[1].split(".")[0]
    assert server_major == version("mlflow").split(".")[0], "server and client majors differ"
    runs = " ".join(stages[-1].args_of("RUN"))
    assert re.search(r"psycopg2-binary==\d", runs), "pin the psycopg2-binary version"


def test_dockerignore_keeps_the_context_small_but_complete() -> None:
    lines = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "tests"} <= lines
    needed = {
        "data",
        "pyproject.toml",
        "flowcast",
        "producers",
        "stream",
        "models",
        "api",
        "commands",
    }
    excluded = {line.strip("/") for line in lines if not line.startswith("!")}
    assert not needed & excluded, (
        f".dockerignore excludes what the build needs: {needed & excluded}"
    )
