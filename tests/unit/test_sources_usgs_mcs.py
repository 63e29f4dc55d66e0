"""USGS MCS world readers: hand-made fixtures for each defect, then the real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import one

from critmin.errors import SourceFormatError
from critmin.sources import (
    MINERAL_SUPPLY_COLUMNS,
    read_mcs2025_world,
    read_mcs2026,
    read_mcs_world_dir,
    read_mcs_world_per_commodity,
)
from critmin.sources.usgs_mcs import mineral_id

MISSING = {"W", "NA", "--", "blank", "band", "XX", "E", "text", "non_mass_unit", None}


def _check_schema(frame: pd.DataFrame) -> None:
    assert list(frame.columns[: len(MINERAL_SUPPLY_COLUMNS)]) == MINERAL_SUPPLY_COLUMNS
    assert frame["year"].dtype == np.int64 and frame["source_row"].dtype == np.int64
    assert frame["value_t"].dtype == float and frame["estimated"].dtype == bool
    assert set(frame["stage"]) <= {"mine", "refine"}
    assert set(frame["measure"]) <= {"production", "reserves", "capacity"}
    assert set(frame["missing_reason"]) <= MISSING
    assert frame.loc[frame["value_t"].isna(), "missing_reason"].notna().all()
    assert (frame["country"].str.fullmatch(r"[A-Z]{3}")).all()
    assert not frame["source_file"].str.contains("/").any()


def test_world_per_commodity_fixture(source_fixtures: Path) -> None:
    df = read_mcs_world_per_commodity(source_fixtures / "mcs2024-lithi_world.csv")
    _check_schema(df)
    assert set(df["mineral"]) == {"lithium"} and set(df["edition"]) == {"MCS2024"}
    aus = one(df, country="AUS", year=2023, measure="production")
    assert aus["value_t"] == 86000 and aus["estimated"] and aus["basis"] == "contained"
    assert aus["stage"] == "mine" and aus["unit_source"] == "t" and aus["source_row"] == 2
    assert not one(df, country="AUS", year=2022, measure="production")["estimated"]
    chile = one(df, country="CHL", year=2022, measure="production")  # "38,000", "Chile "
    assert chile["value_t"] == 38000 and chile["country_name"] == "Chile"
    china = one(df, country="CHN", year=2022, measure="production")  # "Chinae"
    assert china["estimated"] and china["country_name"] == "China"
    us = one(df, country="USA", year=2023, measure="production")
    assert np.isnan(us["value_t"]) and us["missing_reason"] == "W"
    assert one(df, country="CHN", measure="reserves")["missing_reason"] == "NA"
    other = one(df, country="OTH", year=2022, measure="production")
    assert other["missing_reason"] == "--" and other["country_name"] == "Other countries"
    band = one(df, country="OTH", measure="reserves")
    assert band["value_t"] == 2_000_000 and band["missing_reason"] == "band"
    assert band["value_text"] == ">2000000" and band["year"] == 2023
    world = one(df, country="WLD", year=2023, measure="production")
    assert world["value_t"] == 180000 and world["note"] == "Excludes U.S. production."
    assert len(df) == 6 * 3  # blank trailing rows/columns dropped


def test_world_pgm_split_and_units(source_fixtures: Path) -> None:
    df = read_mcs_world_per_commodity(source_fixtures / "mcs2023-plati_world.csv")
    _check_schema(df)
    pd_row = one(df, mineral="palladium", year=2021)
    assert pd_row["value_t"] == pytest.approx(84.3) and pd_row["unit_source"] == "kg"
    assert one(df, mineral="platinum", year=2021, country="ZAF")["value_t"] == 137.0
    reserves = df.loc[df["measure"] == "reserves"]
    assert set(reserves["mineral"]) == {"platinum_group_metals"}
    assert one(df, country="KOR", year=2021)["missing_reason"] == "text"


def test_world_titanium_sponge_is_not_pigment(source_fixtures: Path) -> None:
    # MCS2023/2024 title every row "Sponge Metal Production and Sponge and Pigment Capacity";
    # the column (Prod_Sponge_t_..., Cap_Pigment_t_...) says which product a value is.
    df = read_mcs_world_per_commodity(source_fixtures / "mcs2024-titan_world.csv")
    _check_schema(df)
    production = df.loc[df["measure"] == "production"]
    assert set(production["mineral"]) == {"titanium_sponge_metal"}
    assert set(production["basis"]) == {"contained"} and set(production["stage"]) == {"refine"}
    china = one(production, country="CHN", year=2022)
    assert china["value_t"] == 180000
    assert one(production, country="WLD", year=2022)["value_t"] == 270000
    capacity = df.loc[df["measure"] == "capacity"]
    assert one(capacity, country="CHN", mineral="titanium_sponge_metal")["value_t"] == 260000
    assert one(capacity, country="CHN", mineral="tio2_pigment")["value_t"] == 5_500_000


def test_world_misnamed_type_header_and_missing_source(source_fixtures: Path) -> None:
    df = read_mcs_world_per_commodity(source_fixtures / "mcs2024-fluor_world.csv")
    _check_schema(df)
    assert set(df["edition"]) == {"MCS2024"}  # from the file name
    row = one(df, year=2022, measure="production")
    assert row["country"] == "COD" and row["value_t"] == 1500.0 and row["mineral"] == "fluorspar"


def test_world_unknown_unit_is_an_error(source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"xxxxx_world\.csv.*unknown unit 'furlongs'"):
        read_mcs_world_per_commodity(source_fixtures / "mcs2024-xxxxx_world.csv")


def test_world_errors(tmp_path: Path, source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"garbage\.csv"):
        read_mcs_world_per_commodity(source_fixtures / "garbage.csv")
    bad = tmp_path / "mcs2024-lithi_world.csv"
    bad.write_text("Foo,Bar\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="expected columns 'Source', 'Country'"):
        read_mcs_world_per_commodity(bad)
    unknown = tmp_path / "mcs2024-tin_world.csv"
    unknown.write_text(
        "Source,Country,Type,Prod_t_2022\nMCS2024,Atlantis,Mine production,5\n", encoding="utf-8"
    )
    with pytest.raises(SourceFormatError, match="Atlantis"):
        read_mcs_world_per_commodity(unknown)


def test_mcs2025_fixture(source_fixtures: Path) -> None:
    df = read_mcs2025_world(source_fixtures / "MCS2025_World_Data_fixture.csv")
    _check_schema(df)
    aus = one(df, mineral="lithium", country="AUS", year=2024, measure="production")
    assert aus["value_t"] == 88000 and aus["estimated"] and aus["commodity"] == "Lithium"
    assert not one(df, mineral="lithium", country="AUS", year=2023, measure="production")[
        "estimated"
    ]
    assert (
        one(df, mineral="lithium", country="CHL", year=2024, measure="production")["value_t"]
        == 49000
    )
    cod = one(df, mineral="cobalt", country="COD", year=2024, measure="production")
    assert cod["value_t"] == 220000 and cod["country_name"] == "Congo (Kinshasa)"
    assert one(df, mineral="cobalt", country="COD", measure="reserves")["year"] == 2024
    germanium = df.loc[df["mineral"] == "germanium"]
    assert set(germanium["missing_reason"]) == {"blank"} and set(germanium["stage"]) == {"refine"}
    assert set(germanium["commodity"]) == {"Gemanium"}
    gallium = one(df, mineral="gallium", measure="capacity")
    assert gallium["value_t"] == pytest.approx(10.0) and gallium["year"] == 2024
    potash = one(df, mineral="potash", measure="reserves")  # marker in the notes column
    assert potash["missing_reason"] == "text" and potash["value_text"] == "Large"
    sierra = one(df, country="SLE", year=2023, measure="production")  # empty UNIT_MEAS
    assert sierra["value_t"] == 110 and sierra["basis"] == "TiO2"
    helium = one(df, mineral="helium", year=2023, measure="production")
    assert np.isnan(helium["value_t"]) and helium["missing_reason"] == "non_mass_unit"
    assert helium["value"] == 66


def test_mcs2026_fixture(source_fixtures: Path) -> None:
    df = read_mcs2026(source_fixtures / "MCS2026_Commodities_Data_fixture.csv")
    _check_schema(df)
    assert set(df["edition"]) == {"MCS2026"}
    aus = one(df, mineral="lithium", country="AUS", year=2024)
    assert aus["value_t"] == 82700 and aus["estimated"] and aus["basis"] == "contained"
    assert aus["source_row"] == 7
    assert not one(df, mineral="lithium", country="CHL")["estimated"]
    assert one(df, mineral="lithium", country="OTH")["missing_reason"] == "--"
    assert one(df, mineral="lithium", country="WLD")["measure"] == "reserves"
    ga = one(df, mineral="gallium", measure="production")
    assert ga["stage"] == "refine" and ga["value_t"] == 750.0
    assert one(df, mineral="gallium", measure="capacity")["stage"] == "refine"
    ree = one(df, mineral="rare_earths")
    assert ree["basis"] == "REO" and ree["country"] == "MMR"
    assert one(df, mineral="palladium")["country"] == "KOR"
    graphite = one(df, mineral="graphite")
    assert graphite["basis"] == "gross" and graphite["country"] == "MOZ"
    assert len(df) == 10  # salient and import-source rows are not supply rows


def test_mcs2026_requires_columns(tmp_path: Path) -> None:
    bad = tmp_path / "MCS2026_Commodities_Data.csv"
    bad.write_bytes("Section,Commodity\nWorld,Lithium\n".encode("cp1252"))
    with pytest.raises(SourceFormatError, match="missing required column"):
        read_mcs2026(bad)


def test_world_dir(tmp_path: Path, source_fixtures: Path) -> None:
    shutil.copy(source_fixtures / "mcs2024-lithi_world.csv", tmp_path)
    shutil.copy(source_fixtures / "mcs2024-fluor_world.csv", tmp_path)
    (tmp_path / "notes.txt").write_text("not data", encoding="utf-8")
    df = read_mcs_world_dir(tmp_path)
    assert set(df["mineral"]) == {"lithium", "fluorspar"}
    with pytest.raises(SourceFormatError, match="no MCS2023 rows"):
        read_mcs_world_dir(tmp_path, edition="MCS2023")


def test_mineral_ids() -> None:
    assert mineral_id("Gemanium") == "germanium"
    assert mineral_id("Graphite (Natural)") == "graphite"
    assert mineral_id("Rare Earths ") == "rare_earths"
    assert mineral_id("Platinum-Group metals", "Mine production, Palladium content") == "palladium"
    assert mineral_id("Platinum-Group metals", "Mine production, Platinum content") == "platinum"
    assert mineral_id("Bauxite", "Refinery production, alumina") == "alumina"
    assert mineral_id("Manganese") == "manganese"
    title = "Sponge Metal Production and Sponge and Pigment Capacity"
    tt = "Titanium and titanium dioxide"
    assert mineral_id(tt, f"{title} Sponge") == "titanium_sponge_metal"
    assert mineral_id(tt, f"{title} Pigment", "capacity") == "tio2_pigment"


# ------------------------------------------------------------------ real files


@pytest.mark.shared_data
def test_real_mcs2026(shared_data: Path) -> None:
    df = read_mcs2026(shared_data / "usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv")
    _check_schema(df)
    li = df.loc[(df["mineral"] == "lithium") & (df["measure"] == "production")]
    assert one(li, country="AUS", year=2024)["value_t"] == 82700
    assert one(li, country="AUS", year=2025)["value_t"] == 92000
    assert one(li, country="CHL", year=2024)["value_t"] == 48900
    assert one(li, country="WLD", year=2025)["value_t"] == 290000
    reserves = df.loc[(df["mineral"] == "lithium") & (df["measure"] == "reserves")]
    assert one(reserves, country="CHL")["value_t"] == 9_200_000
    cobalt = df.loc[(df["mineral"] == "cobalt") & (df["measure"] == "production")]
    assert one(cobalt, country="COD", year=2025)["value_t"] == 230000
    copper = df.loc[df["mineral"] == "copper"]
    assert {"mine", "refine"} <= set(copper["stage"])
    assert df["mineral"].nunique() > 70  # every commodity, not only critical ones


@pytest.mark.shared_data
def test_real_mcs2025(shared_data: Path) -> None:
    df = read_mcs2025_world(shared_data / "usgs_mcs/mcs2025/MCS2025_World_Data.csv")
    _check_schema(df)
    prod = df.loc[df["measure"] == "production"]
    aus = one(prod, mineral="lithium", country="AUS", year=2024)
    assert aus["value_t"] == 88000 and aus["estimated"]
    assert one(prod, mineral="lithium", country="CHL", year=2024)["value_t"] == 49000
    assert one(prod, mineral="lithium", country="WLD", year=2023)["value_t"] == 204000
    assert one(prod, mineral="cobalt", country="COD", year=2024)["value_t"] == 220000
    assert one(df, mineral="cobalt", country="COD", measure="reserves")["value_t"] == 6_000_000
    assert set(df.loc[df["mineral"] == "germanium", "missing_reason"]) == {"blank"}
    assert df["commodity"].nunique() == 77
    subset = read_mcs2025_world(
        shared_data / "usgs_mcs/mcs2025/MCS2025_World_Data_critical_subset.csv"
    )
    assert (
        one(
            subset.loc[subset["measure"] == "production"],
            mineral="lithium",
            country="AUS",
            year=2024,
        )["value_t"]
        == 88000
    )


@pytest.mark.shared_data
def test_real_mcs2024_and_2023_world(shared_data: Path) -> None:
    df = read_mcs_world_dir(shared_data / "usgs_mcs/mcs2024/world")
    _check_schema(df)
    li = df.loc[(df["mineral"] == "lithium") & (df["measure"] == "production")]
    assert one(li, country="WLD", year=2023)["value_t"] == 180000
    assert one(li, country="AUS", year=2022)["value_t"] == 74700
    assert one(li, country="CHN", year=2023)["value_t"] == 33000
    old = read_mcs_world_per_commodity(
        shared_data / "usgs_mcs/mcs2023/world/mcs2023-lithi_world.csv"
    )
    prod = old.loc[old["measure"] == "production"]
    assert one(prod, country="CHN", year=2021)["value_t"] == 14000  # published "14,000"
    assert one(prod, country="AUS", year=2022)["value_t"] == 61000
    sub = read_mcs_world_dir(shared_data / "usgs_mcs/mcs2022_subset")
    assert set(sub["edition"]) == {"MCS2022"} and sub["mineral"].nunique() == 13
