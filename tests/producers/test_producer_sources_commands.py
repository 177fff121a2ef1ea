"""`flowcast sources check`, and `replay`/`evaluate` with `--source` (replay through the real
broker)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from commands.cli import app
from commands.evaluate import evaluate_files
from commands.replay import EXIT_INPUT, EXIT_OK, run_replay
from flowcast.records import Reading
from flowcast.settings import Settings
from producers.files import InputCounts, ordered_readings
from producers.sources import load_definition

DATA = Path(__file__).resolve().parents[2] / "data"
SCATS = DATA / "melbourne" / "scats_2006-10_site970.csv.gz"
SCATS_TOML = DATA / "melbourne" / "scats.toml"
PEMS = DATA / "california" / "pems_2016-01-02_station.csv.gz"
PEMS_TOML = DATA / "california" / "pems.toml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_sources_check_shows_sensors_readings_and_problems() -> None:
    code, out = run("sources", "check", str(SCATS), "--source", str(SCATS_TOML))
    assert code == 0, out
    assert "sample: the whole file — 62 rows → 1,486 hourly readings, 0 dead letters" in out
    assert "time range (UTC): 2006-09-30 14:00 → 2006-10-31 12:00" in out
    assert "melbourne-scats:970-HIGH_STREET_RD_E_of_WARRIGAL_RD" in out
    assert "2006-10-01 00:00 AEST" in out and "279" in out  # the first reading, local time
    assert "dropped value: nonexistent_local_time" in out


def test_sources_check_says_when_it_stopped_at_the_row_budget() -> None:
    code, out = run("sources", "check", str(PEMS), "--source", str(PEMS_TOML), "--rows", "100")
    assert code == 0, out
    assert "sample: the first 100 rows — 100 rows → 9 hourly readings" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((str(DATA / "absent.csv"), "--source", str(SCATS_TOML)), "absent.csv: no such file"),
        ((str(SCATS), "--source", str(DATA / "absent.toml")), "no such source definition file"),
        ((str(PEMS), "--source", str(SCATS_TOML)), "column 'SCATS Number' (and 98 more)"),
        ((str(SCATS_TOML), "--source", str(SCATS_TOML)), "column 'SCATS Number'"),
        ((str(DATA / "paris" / "referentiel-comptages-routiers.csv.gz"),), "not traffic counts"),
    ],
)
def test_sources_check_fails_in_one_clear_line(args: tuple[str, ...], message: str) -> None:
    code, out = run("sources", "check", *args)
    assert code == EXIT_INPUT
    assert message in out.replace("\n", " ") or message in out
    assert "Traceback" not in out and out.startswith("cannot check:")


def test_evaluate_with_a_source_reports_its_input_counts(tmp_path: Path) -> None:
    definition = load_definition(PEMS_TOML)
    report = evaluate_files([PEMS], definition=definition)
    assert report["records"] == 27 * 24 and report["sensors"] == 1
    assert report["input"]["rows"] == 27 * 288 and report["input"]["incomplete_hours"] == 0
    assert report["source"]["name"] == "pems"


def test_evaluate_command_refuses_a_bad_definition_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SCATS_TOML.read_text().replace('timezone = "Australia/Melbourne"', ""))
    code, out = run("evaluate", str(SCATS), "--report", str(tmp_path / "r.json"),
                    "--no-track", "--source", str(bad))  # fmt: skip
    assert code == EXIT_INPUT and "timezone: missing" in out and "Traceback" not in out


@pytest.mark.integration
def test_replay_with_a_source_publishes_its_hourly_readings(
    fresh_topics: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_replay(fresh_topics, [PEMS], speed="max", start=None, days=None, sensors=None,
                      source=PEMS_TOML)  # fmt: skip
    assert code == EXIT_OK, capsys.readouterr().err
    expected = list(ordered_readings([PEMS], InputCounts(), load_definition(PEMS_TOML)))
    from test_producer_replay_kafka import consume_all

    records = consume_all(fresh_topics, fresh_topics.readings_topic, len(expected))
    got = [Reading.from_json(r.value) for r in records]  # type: ignore[attr-defined]
    assert got == expected and len(got) == 27 * 24
    assert {orjson.loads(r.value)["calendar"] for r in records} == {"America/Los_Angeles|US|CA"}  # type: ignore[attr-defined]
    assert next(r.key for r in records) == b"pems:station-lane1"  # type: ignore[attr-defined]
