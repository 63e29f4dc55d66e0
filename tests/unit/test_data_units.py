"""USGS unit labels that contradict the source: the reviewed corrections, and the check that
catches a table read in the wrong unit (consecutive editions a thousand-fold apart)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.check import edition_unit_mismatches, run_checks, world_total_mismatches
from critmin.world import REFERENCE_DIR


@pytest.fixture(scope="module")
def supply() -> pd.DataFrame:
    return pd.read_parquet(REFERENCE_DIR / "supply.parquet")


def _value(supply: pd.DataFrame, mineral: str, edition: str, year: int, country: str) -> float:
    hit = supply[
        (supply["mineral"] == mineral)
        & (supply["edition"] == edition)
        & (supply["year"] == year)
        & (supply["country"] == country)
        & (supply["measure"] == "production")
    ]
    return float(hit["value_t"].sum())


@pytest.mark.parametrize(
    ("mineral", "edition", "year", "country", "published_kt"),
    [
        # MCS2025 titanium chapter: China ilmenite 3,250 (2023) thousand t TiO2; MCS2024: 3,100 kt
        ("titanium_mineral_concentrates", "MCS2025", 2023, "CHN", 3_250),
        # MCS2025 industrial sand: United States 133,000 thousand t (2023); MCS2024: 130,000 kt
        ("sand_and_gravel_industrial", "MCS2025", 2023, "USA", 133_000),
        # MCS2023 chromium: South Africa 18,600 thousand t of chromite ore (2021), noted in kt
        ("chromium", "MCS2023", 2021, "ZAF", 18_600),
    ],
)
def test_thousand_ton_tables_are_read_in_thousand_tons(
    supply: pd.DataFrame, mineral: str, edition: str, year: int, country: str, published_kt: float
) -> None:
    assert _value(supply, mineral, edition, year, country) == pytest.approx(published_kt * 1000)
    row = supply[
        (supply["mineral"] == mineral)
        & (supply["edition"] == edition)
        & (supply["year"] == year)
        & (supply["country"] == country)
    ].iloc[0]
    assert "usgs_unit_corrections.csv" in row["note"]  # provenance: says what was read


def test_editions_agree_in_units(supply: pd.DataFrame) -> None:
    # MCS2025 and MCS2026 both publish titanium concentrates for 2024: China 3,300 vs 3,040 kt
    a = _value(supply, "titanium_mineral_concentrates", "MCS2025", 2024, "CHN")
    b = _value(supply, "titanium_mineral_concentrates", "MCS2026", 2024, "CHN")
    assert 0.8 < a / b < 1.25
    assert edition_unit_mismatches(supply).empty


def test_check_fails_on_a_table_read_in_the_wrong_unit(tmp_path: Path) -> None:
    """A rebuilt copy (hashes in order) whose MCS2025 titanium table is a thousand times too
    small fails 'data check', naming the table and the editions."""
    copy = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, copy)
    path = copy / "supply.parquet"
    df = pd.read_parquet(path)
    hit = (df["mineral"] == "titanium_mineral_concentrates") & (df["edition"] == "MCS2025")
    df.loc[hit, "value_t"] = df.loc[hit, "value_t"] / 1000
    df.to_parquet(path, index=False)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["tables"]["supply"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    failed = [r for r in run_checks(copy) if not r.ok]
    assert [r.name for r in failed] == ["USGS editions agree in units"]
    assert "titanium_mineral_concentrates/mine production" in failed[0].detail
    assert "MCS2026" in failed[0].detail and "MCS2025" in failed[0].detail


def test_world_total_check_says_what_it_compared(supply: pd.DataFrame) -> None:
    counts = world_total_mismatches(supply).attrs["counts"]
    wld = supply[(supply["measure"] == "production") & (supply["country"] == "WLD")]
    assert sum(counts.values()) == len(wld)
    assert counts["not_comparable"] > 0 and counts["lower_bound"] > 0
    result = next(r for r in run_checks() if r.name == "USGS country sums vs world totals")
    checked = counts["complete"] + counts["lower_bound"]
    assert result.detail.startswith(f"{checked} world totals checked")
    assert f"{counts['not_comparable']} not checkable" in result.detail


@pytest.mark.shared_data
def test_reader_applies_the_unit_corrections(shared_data: Path) -> None:
    from critmin.sources import usgs_mcs

    f = usgs_mcs.read_mcs2025_world(shared_data / "usgs_mcs/mcs2025/MCS2025_World_Data.csv")
    chn = f[
        f["commodity"].str.startswith("Titanium Mineral")
        & (f["country"] == "CHN")
        & (f["measure"] == "reserves")
    ]
    assert chn["unit_source"].tolist() == ["metric tons"]  # kept as published
    assert chn["value_t"].tolist() == [110_000_000.0]  # MCS2026: 110,000 thousand t
