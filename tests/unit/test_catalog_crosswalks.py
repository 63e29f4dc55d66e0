"""The crosswalks between critmin's minerals and the publishers' names: curated CSVs with a
reason per row, validated on load (critmin.catalog.crosswalks, sources._parse.reviewed_rows)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from critmin.catalog import STAGES, crosswalks
from critmin.errors import DataIntegrityError
from critmin.sources._parse import reviewed_rows

LOADERS = (
    crosswalks.usgs_ids,
    crosswalks.usgs_series,
    crosswalks.eu_stages,
    crosswalks.eu_materials,
    crosswalks.salient_ids,
    crosswalks.nir_series,
    crosswalks.nir_consumption_kinds,
    crosswalks.eu_groups,
)


@pytest.fixture
def fresh() -> Iterator[None]:
    """Clear the loaders' caches before and after a test that feeds them other rows."""
    for f in LOADERS:
        f.cache_clear()
    yield
    for f in LOADERS:
        f.cache_clear()


def test_the_crosswalks_as_shipped() -> None:
    assert crosswalks.usgs_ids()[("titanium", "mine")] == ("titanium_mineral_concentrates",)
    assert crosswalks.usgs_ids()[("magnesium", "refine")] == ("magnesium_metal",)
    assert crosswalks.usgs_series() == {("silicon", "refine"): "silicon metal"}
    assert crosswalks.eu_stages() == {"mine": "E", "refine": "P"}
    assert set(crosswalks.eu_stages()) < set(STAGES)  # product has no EU stage
    assert crosswalks.eu_materials()[("rare_earths", "P")] == "neodymium"
    assert crosswalks.salient_ids()["bauxite"] == ("bauxite", "bauxite_and_alumina")
    assert crosswalks.eu_groups()["dysprosium"] == "hree"
    assert crosswalks.eu_groups()["palladium"] == "pgm"
    series = crosswalks.nir_series()
    assert series["cobalt"].production == "secondary"
    assert series["cobalt"].numerator == "consumption_less_production"
    assert series["arsenic"].numerator == "imports" and series["nickel"].stocks == "consumer"
    for spec in series.values():
        assert spec.why  # every choice carries its evidence


def test_silicon_series_pattern_picks_the_metal_not_ferrosilicon() -> None:
    pattern = crosswalks.nir_series()["silicon"].nir
    assert pattern is not None
    details = {
        "Net import reliance as a percentage of apparent consumption: Silicon metal": True,
        "Net import reliance as a percentage of apparent consumption: Ferrosilicon, all grades": False,
        "Net import reliance as a percentage of apparent consumption: Total": False,
        "Consumption, apparent, ferrosilicon and silicon metal": False,
        "si": True,  # the MCS2023-2025 CSV header word
        "fesi": False,
        "fesi_si": False,
    }
    for detail, hit in details.items():
        assert bool(re.search(pattern, detail, re.IGNORECASE)) is hit, detail


def _feed(monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, str]]) -> None:
    monkeypatch.setattr(crosswalks, "read_curated", lambda _name: rows)


@pytest.mark.usefixtures("fresh")
@pytest.mark.parametrize(
    ("loader", "row", "message"),
    [
        (
            crosswalks.usgs_ids,
            {"mineral": "x", "stage": "mine", "usgs_mineral": "y", "reason": " "},
            "usgs_ids.csv line 2: blank reason",
        ),
        (
            crosswalks.usgs_ids,
            {"mineral": "x", "stage": "smelt", "usgs_mineral": "y", "reason": "r"},
            "usgs_ids.csv line 2: unknown stage 'smelt'",
        ),
        (
            crosswalks.nir_series,
            {"mineral": "x", "numerator": "net_imports", "imports": "(", "reason": "r"},
            "nir_series.csv line 2: bad pattern '('",
        ),
        (
            crosswalks.nir_series,
            {"mineral": "x", "numerator": "gross", "reason": "r"},
            "nir_series.csv line 2: unknown numerator 'gross'",
        ),
        (
            crosswalks.eu_groups,
            {"material_id": "x", "eu_group": "lree", "source": ""},
            "eu_groups.csv line 2: blank source",
        ),
    ],
)
def test_a_bad_row_names_the_file_and_line(
    monkeypatch: pytest.MonkeyPatch, loader: object, row: dict[str, str], message: str
) -> None:
    _feed(monkeypatch, [row])
    with pytest.raises(DataIntegrityError, match=re.escape(message)):
        loader()  # type: ignore[operator]


def test_the_readers_corrections_need_a_reason_too() -> None:
    for name, note in (
        ("usgs_mineral_aliases", "reason"),
        ("usgs_file_codes", "source"),
        ("usgs_salient_headers", "reason"),
    ):
        assert reviewed_rows(name, note)
    aliases = {r["usgs_slug"]: r["mineral"] for r in reviewed_rows("usgs_mineral_aliases")}
    assert aliases["barite"] == "baryte" and aliases["gemanium"] == "germanium"
    with pytest.raises(DataIntegrityError, match=r"no_such_table\.csv is missing"):
        reviewed_rows("no_such_table")
