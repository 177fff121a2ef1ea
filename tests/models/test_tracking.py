"""MLflow tracking against a real MLflow (SQLite store in a temporary folder, no mocks)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from mlflow import MlflowClient

from commands.evaluate import run_evaluate
from flowcast.records import Reading
from flowcast.settings import Settings
from models.candidates import CANDIDATE_SETS, LinearDeviation
from models.core import CORE_VERSION, ForecastCore
from models.state import SensorState, load_state
from models.tracking import (
    CHALLENGER,
    CHAMPION_ALIAS,
    EVALUATE_EXPERIMENT,
    MODEL_NAME,
    WORKER_EXPERIMENT,
    Standing,
    TrackedEvaluation,
    TrackingTarget,
    WorkerTracker,
    core_config,
    decide,
    describe,
    store,
    target_from_settings,
    tracking_target,
)
from models.tracking.registry import register_core
from models.tracking.snapshot import read_manifest, read_snapshot
from stream.batch import BatchOutput, KafkaRecord, decode_batch, run_batch

DATA = Path(__file__).resolve().parents[2] / "data" / "paris"
ST_ANTOINE = DATA / "historique_2022_st-antoine_376.csv.gz"
DEGRADED_RATE = 2.0  # a linear learner this fast diverges: a deliberately worse core


# -- pure parts -----------------------------------------------------------------------------
def test_default_store_is_a_sqlite_file_in_the_state_dir(tmp_path: Path) -> None:
    target = target_from_settings(Settings(state_dir=tmp_path, mlflow_uri=None))
    assert target.uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert target.artifact_location("x") == (tmp_path.resolve() / "mlartifacts" / "x").as_uri()


def test_mlflow_uri_overrides_the_local_store(tmp_path: Path) -> None:
    target = tracking_target("http://mlflow.internal:5000", tmp_path)
    assert target == TrackingTarget("http://mlflow.internal:5000")
    assert target.artifact_location(EVALUATE_EXPERIMENT) is None  # the server decides


def test_describe_reads_the_live_hyper_parameters() -> None:
    params = describe(LinearDeviation("linear", learning_rate=0.123, huber_epsilon=0.7))
    assert params["optimizer.lr.learning_rate"] == 0.123
    assert params["intercept_lr.learning_rate"] == 0.123
    assert params["loss"] == "Huber"
    assert params["loss.epsilon"] == 0.7
    config = core_config("all")
    assert config["core_version"] == CORE_VERSION
    assert set(config["candidates"]) == {
        "linear",
        "linear_fast",
        "holt_winters",
        "tree",
        "ensemble",
    }
    assert config["candidates"]["tree"]["max_depth"] == 8


def _standing(fingerprint: str, ratio: float | None, version: str | None = None) -> Standing:
    mae = None if ratio is None else round(ratio * 20.0, 3)
    return Standing(fingerprint, ratio, mae, "historical_average", 20.0, version=version)


@pytest.mark.parametrize(
    ("new", "champion", "alias", "demote"),
    [
        (_standing("f", 0.8), None, CHAMPION_ALIAS, None),
        (_standing("f", 0.7), _standing("f", 0.8, "3"), CHAMPION_ALIAS, "3"),
        (_standing("f", 0.8), _standing("f", 0.8, "3"), CHALLENGER, None),  # a tie keeps it
        (_standing("f", 0.9), _standing("f", 0.8, "3"), CHALLENGER, None),
        (_standing("g", 0.1), _standing("f", 0.8, "3"), CHALLENGER, None),  # other inputs
        (_standing("f", None), None, CHALLENGER, None),  # nothing scored
    ],
)
def test_promotion_rule(
    new: Standing, champion: Standing | None, alias: str, demote: str | None
) -> None:
    decision = decide(new, champion)
    assert (decision.alias, decision.demote) == (alias, demote)
    if champion is not None and new.ratio is not None:
        assert str(new.ratio) in decision.reason
        assert str(champion.ratio) in decision.reason


# -- evaluate runs and the registry, on one SQLite store -------------------------------------
@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(state_dir=tmp_path_factory.mktemp("state"), mlflow_uri=None)


@pytest.fixture(scope="module")
def client(settings: Settings) -> MlflowClient:
    uri = target_from_settings(settings).uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


Tracked = tuple[TrackedEvaluation, dict[str, Any]]


def _run(settings: Settings, candidates: str) -> Tracked:
    report_path = settings.state_dir / f"report-{candidates}.json"
    tracked = run_evaluate([ST_ANTOINE], report_path, candidates=candidates, settings=settings)
    assert tracked is not None
    return tracked, orjson.loads(report_path.read_bytes())


@pytest.fixture(scope="module")
def first(settings: Settings) -> Tracked:
    """The default core evaluated on a year of St-Antoine."""
    return _run(settings, "default")


@pytest.fixture(scope="module")
def second(settings: Settings, first: Tracked) -> Iterator[Tracked]:
    """A deliberately worse core on the same inputs, evaluated after `first`."""

    def degraded() -> list[Any]:
        return [LinearDeviation("linear", learning_rate=DEGRADED_RATE)]

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(CANDIDATE_SETS, "degraded", degraded)
        yield _run(settings, "degraded")


def test_evaluate_run_metrics_equal_the_report(first: Tracked, client: MlflowClient) -> None:
    tracked, report = first
    run = client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    blocks = {"champion": report["champion"]}
    blocks |= {f"model/{name}": block for name, block in report["models"].items()}
    blocks |= {f"baseline/{name}": block for name, block in report["baselines"].items()}
    for prefix, block in blocks.items():
        for key in ("mae", "rmse", "r2", "smape"):
            assert metrics[f"{prefix}/{key}"] == block[key], f"{prefix}/{key}"
    assert metrics["interval_coverage"] == report["interval"]["coverage"]
    assert metrics["readings_per_s"] == report["records_per_s"]
    best = min(block["mae"] for block in report["baselines"].values())
    assert metrics["mae_ratio_to_best_baseline"] == round(report["champion"]["mae"] / best, 4)
    assert metrics["input/readings"] == report["input"]["readings"]


def test_evaluate_run_params_and_weekly_metrics(first: Tracked, client: MlflowClient) -> None:
    tracked, report = first
    params = client.get_run(tracked.run_id).data.params
    assert params["candidate_set"] == "default"
    assert params["core_version"] == CORE_VERSION
    assert params["input.files"] == ST_ANTOINE.name
    assert params["candidate.linear.optimizer.lr.learning_rate"] == "0.003"
    assert params["candidate.holt_winters.seasonality"] == "24"
    champion = client.get_metric_history(tracked.run_id, "weekly/champion_mae")
    baseline = client.get_metric_history(tracked.run_id, "weekly/best_baseline_mae")
    assert len(champion) >= 50
    assert [m.step for m in champion] == sorted(m.step for m in champion)
    assert {m.step for m in baseline} == {m.step for m in champion}
    # the weeks split the scored hours exactly (event-time weeks, from the first reading)
    scored = {m.step: m.value for m in client.get_metric_history(tracked.run_id, "weekly/scored")}
    assert 50 <= len(scored) <= 53  # a year of hourly data
    assert sum(scored.values()) == report["scored"]
    weighted = sum(scored[m.step] * m.value for m in champion) / report["scored"]
    assert weighted == pytest.approx(report["champion"]["mae"], abs=1e-3)
    # over the year the served forecast beats the best baseline on most weeks
    by_week = {m.step: m.value for m in baseline}
    assert sum(m.value < by_week[m.step] for m in champion) > len(champion) * 0.7


def test_evaluate_run_artifacts_hold_config_and_report(
    first: Tracked, client: MlflowClient, tmp_path: Path
) -> None:
    tracked, report = first
    folder = Path(client.download_artifacts(tracked.run_id, "core", str(tmp_path)))
    assert orjson.loads((folder / "report.json").read_bytes()) == report
    config = orjson.loads((folder / "config.json").read_bytes())
    assert config == core_config("default")


def test_first_evaluation_is_registered_as_champion(first: Tracked, client: MlflowClient) -> None:
    tracked, _ = first
    assert tracked.alias == CHAMPION_ALIAS
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS)
    assert str(champion.version) == tracked.version
    assert champion.run_id == tracked.run_id
    assert str(champion.source).endswith(f"{tracked.run_id}/artifacts/core")
    assert champion.tags["decision"] == CHAMPION_ALIAS
    assert champion.tags["core_version"] == CORE_VERSION


def test_worse_core_on_same_inputs_becomes_challenger(
    first: Tracked, second: Tracked, client: MlflowClient
) -> None:
    (one, report_one), (two, report_two) = first, second
    assert report_two["champion"]["mae"] > report_one["champion"]["mae"]
    assert two.alias == CHALLENGER
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS).version) == one.version
    challenger = client.get_model_version_by_alias(MODEL_NAME, CHALLENGER)
    assert str(challenger.version) == two.version
    ratio_one = client.get_model_version(MODEL_NAME, one.version).tags["mae_ratio_to_best_baseline"]
    ratio_two = challenger.tags["mae_ratio_to_best_baseline"]
    assert float(ratio_two) > float(ratio_one)
    assert (
        challenger.tags["input_fingerprint"]
        == client.get_run(one.run_id).data.tags["input_fingerprint"]
    )
    assert ratio_one in str(challenger.description)
    assert ratio_two in str(challenger.description)
    params = client.get_run(two.run_id).data.params
    assert params["candidate.linear.optimizer.lr.learning_rate"] == str(DEGRADED_RATE)


def test_better_version_takes_champion_and_demotes_the_old_one(
    settings: Settings, client: MlflowClient
) -> None:
    name = "flowcast-core-promotion-test"
    target = target_from_settings(settings)
    experiment = store.ensure_experiment(client, target, "flowcast-tests")
    versions = []
    for ratio in (0.9, 0.8):
        run = client.create_run(experiment)
        version, _ = register_core(
            client,
            run_id=run.info.run_id,
            source=run.info.artifact_uri,
            standing=_standing("same-inputs", ratio),
            tags={},
            model_name=name,
        )
        versions.append(version)
    assert str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version) == versions[1]
    demoted = client.get_model_version_by_alias(name, CHALLENGER)
    assert str(demoted.version) == versions[0]
    assert demoted.tags["demoted_by"] == versions[1]


def test_evaluate_with_an_unreachable_server_still_writes_the_report(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, mlflow_uri=f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    tracked = run_evaluate([ST_ANTOINE], tmp_path / "report.json", settings=settings)
    assert tracked is None  # reported on the console, not raised
    assert time.monotonic() - started < 30  # no minutes of MLflow client retries
    assert orjson.loads((tmp_path / "report.json").read_bytes())["scored"] > 0


# -- the worker tracker ---------------------------------------------------------------------
def _batches(readings: tuple[Reading, ...], size: int) -> Iterator[list[KafkaRecord]]:
    for start in range(0, len(readings), size):
        yield [
            KafkaRecord(r.sensor_id.encode(), r.to_json(), None, f"readings/0@{start + i}")
            for i, r in enumerate(readings[start : start + size])
        ]


def _wait_for(condition: Callable[[], bool], feed: Callable[[], None], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        feed()
        time.sleep(0.02)


def test_worker_tracker_logs_from_its_thread(
    settings: Settings, client: MlflowClient, st_antoine: tuple[Reading, ...], tmp_path: Path
) -> None:
    core = ForecastCore()
    tracker = WorkerTracker.for_worker(settings, core, interval_s=0.2, snapshot_every_s=0.2)
    tracker.start()
    fed = 0
    for records in _batches(st_antoine[:2000], 250):
        out = run_batch(core, decode_batch(records, "test"), "test")
        tracker.observe(out, core)
        fed += out.processed
    idle = BatchOutput()
    _wait_for(lambda: tracker.snapshots >= 1, lambda: tracker.observe(idle, core), 60)
    tracker.close()
    assert tracker.run_id is not None
    assert tracker.failures == 0
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    experiment = client.get_experiment_by_name(WORKER_EXPERIMENT)
    assert experiment is not None
    assert run.info.experiment_id == experiment.experiment_id
    assert run.data.params["candidate_set"] == "default"
    assert run.data.params["partitions"] == str(settings.partitions)
    assert run.data.metrics["readings_total"] == fed == 2000
    assert any(key.startswith("mae/") for key in run.data.metrics)
    assert len(client.get_metric_history(tracker.run_id, "readings_total")) >= 2
    artifacts = client.list_artifacts(tracker.run_id, "snapshots")
    path = Path(client.download_artifacts(tracker.run_id, artifacts[0].path, str(tmp_path)))
    states = read_snapshot(path)
    assert set(states) == set(core.sensors)
    restored = load_state(states["376"])
    assert isinstance(restored, SensorState)
    assert 0 < restored.readings <= core.sensors["376"].readings
    assert read_manifest(path)["core_version"] == CORE_VERSION


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_worker_tracker_survives_an_unreachable_server(
    st_antoine: tuple[Reading, ...], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="models.tracking.worker")
    target = TrackingTarget(f"http://127.0.0.1:{_closed_port()}")
    tracker = WorkerTracker(target, {"app_id": "t"}, interval_s=0.05, snapshot_every_s=0.05)
    core = ForecastCore()
    tracker.start()
    records = next(_batches(st_antoine, 200))
    out = run_batch(core, decode_batch(records, "test"), "test")
    _wait_for(lambda: tracker.failures >= 3, lambda: tracker.observe(out, core), 30)
    started = time.monotonic()
    tracker.close()
    assert time.monotonic() - started < 5
    assert tracker.run_id is None
    assert any("unreachable" in record.getMessage() for record in caplog.records)


def test_observe_is_cheap_and_a_disabled_tracker_does_nothing(
    st_antoine: tuple[Reading, ...], tmp_path: Path
) -> None:
    core = ForecastCore()
    out = run_batch(core, decode_batch(next(_batches(st_antoine, 500)), "test"), "test")
    tracker = WorkerTracker(tracking_target(None, tmp_path), {})
    started = time.perf_counter()
    for _ in range(1000):
        tracker.observe(out, core)
    assert (time.perf_counter() - started) / 1000 < 200e-6
    off = WorkerTracker(tracking_target(None, tmp_path), {}, enabled=False)
    off.start()
    off.observe(out, core)
    off.close()
    assert not (tmp_path / "mlflow.db").exists()
