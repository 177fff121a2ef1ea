"""The Paris formats as built-in source definitions: valid definitions, detected from the
content, and read by the definition engine to the Paris reader's flows where a definition can
say enough (the portal's own spellings; not the aliases, states or JSON)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowcast.records import DeadLetter, Reading
from producers.formats import UnknownFormatError
from producers.formats.headers import canonical_field
from producers.normalise import ReadCounts, iter_normalised
from producers.sources.builtin import (
    BUILTINS,
    PARIS_API,
    PARIS_EXPORT,
    PARIS_HISTORIQUE,
    BuiltinSource,
    open_builtin,
)
from producers.sources.check import check_file
from producers.sources.check_view import describe_source
from producers.sources.columns import HeaderMismatchError
from producers.sources.definition import SourceDefinition
from producers.sources.reader import iter_defined

PARIS = Path(__file__).resolve().parents[2] / "data" / "paris"
DETECTED = {
    "export_2022_champs-elysees_4264.csv.gz": PARIS_EXPORT,
    "export_2022_convention_5671.csv.gz": PARIS_EXPORT,
    "export_2022_sts-peres_191.csv.gz": PARIS_EXPORT,
    "extract_2023_69arcs.csv.gz": PARIS_EXPORT,  # a re-save: ',', "Debit horaire"
    "historique_2022_st-antoine_376.csv.gz": PARIS_HISTORIQUE,
    "api_v2.1_records_2026-06-21.json.gz": PARIS_API,
}
PORTAL_SPELLING = [name for name in DETECTED if name.startswith(("export", "historique"))]


@pytest.mark.parametrize("builtin", BUILTINS, ids=lambda b: b.name)
def test_each_builtin_is_a_valid_definition_of_an_hourly_paris_source(
    builtin: BuiltinSource,
) -> None:
    checked = SourceDefinition.model_validate(builtin.definition.model_dump())
    assert checked == builtin.definition
    assert (checked.layout, checked.interval_minutes, checked.calendar) == ("long", 60, None)
    assert checked.calendar_text == "Europe/Paris|FR|"


@pytest.mark.parametrize("builtin", BUILTINS, ids=lambda b: b.name)
def test_the_alias_table_reads_each_column_a_builtin_names(builtin: BuiltinSource) -> None:
    assert {canonical_field(column): field for field, column in builtin.columns.items()} == {
        field: field for field in builtin.columns
    }


@pytest.mark.parametrize(("name", "expected"), DETECTED.items())
def test_each_bundled_paris_file_is_detected_as_its_builtin(
    name: str, expected: BuiltinSource
) -> None:
    with open_builtin(PARIS / name) as (builtin, records):
        assert builtin is expected
        assert next(records).fields["sensor_id"]


def test_the_referential_is_no_builtin() -> None:
    with (
        pytest.raises(UnknownFormatError, match="not traffic counts"),
        open_builtin(PARIS / "referentiel-comptages-routiers.csv.gz"),
    ):
        pass


def _flows(items: list[Reading | DeadLetter], prefix: str = "") -> list[tuple[object, ...]]:
    return [
        (item.sensor_id.removeprefix(prefix), item.ts, item.flow)
        if isinstance(item, Reading)
        else (item.reason, item.position)
        for item in items
    ]


@pytest.mark.parametrize("name", PORTAL_SPELLING)
def test_a_builtin_definition_read_by_the_definition_engine_gives_the_paris_flows(
    name: str,
) -> None:
    """Same hours, flows and dead letters (the DST gap of the historical file) as the Paris
    reader; only the ids differ (`paris-export:4264` vs `4264`)."""
    builtin = DETECTED[name]
    definition = SourceDefinition.model_validate(builtin.definition.model_dump())
    paris = list(iter_normalised([PARIS / name], ReadCounts()))
    defined = list(iter_defined(PARIS / name, definition, ReadCounts()))
    assert len(paris) > 8000
    assert _flows(defined, f"{builtin.name}:") == _flows(paris)


def test_a_resaved_export_needs_the_aliases_a_definition_does_not_have() -> None:
    with pytest.raises(HeaderMismatchError, match="'Débit horaire'"):
        next(iter_defined(PARIS / "extract_2023_69arcs.csv.gz", PARIS_EXPORT.definition,
                          ReadCounts()))  # fmt: skip


def test_sources_check_names_the_builtin_it_detected() -> None:
    summary = check_file(PARIS / "historique_2022_st-antoine_376.csv.gz", max_rows=100)
    assert summary.builtin is PARIS_HISTORIQUE
    assert describe_source(summary).startswith("paris-historique, built-in (detected")
    assert "calendar Europe/Paris|FR|" in describe_source(summary)
