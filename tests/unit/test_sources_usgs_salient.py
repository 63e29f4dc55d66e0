"""USGS U.S. salient statistics readers."""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers import one

from critmin.errors import SourceFormatError
from critmin.sources import US_SALIENT_COLUMNS, read_mcs2026_salient, read_salient_csv


def test_salient_fixture(source_fixtures: Path) -> None:
    df = read_salient_csv(source_fixtures / "mcs2024-lithi_salient.csv")
    assert list(df.columns[: len(US_SALIENT_COLUMNS)]) == US_SALIENT_COLUMNS
    assert set(df["edition"]) == {"MCS2024"} and set(df["mineral"]) == {"lithium"}
    assert set(df["year"]) == {2022, 2023}
    imports = one(df, year=2023, statistic="imports")
    assert imports["value"] == 3400 and imports["unit"] == "t" and imports["source_row"] == 2
    assert one(df, year=2022, statistic="imports")["value"] == 3270  # "3,270"
    nir = one(df, year=2023, statistic="nir_pct")
    assert nir["value_text"] == ">25" and nir["value"] == 25 and nir["missing_reason"] == "band"
    assert one(df, year=2023, statistic="production")["missing_reason"] == "W"
    price = one(df, year=2023, statistic="price")
    assert price["value"] == 46000 and price["unit"] == "USD/t"


def test_salient_broken_headers(source_fixtures: Path) -> None:
    df = read_salient_csv(source_fixtures / "mcs2024-chrom_salient.csv")
    assert set(df["edition"]) == {"MCS2024"}  # empty DataSource -> file name
    mine = one(df, statistic="production")
    assert mine["detail"] == "mine" and mine["value"] == 0.0
    ore_price = one(df, source_column="CASE STATEMENT ERROROre_dt")
    assert ore_price["statistic"] == "price" and ore_price["value"] == 174
    unlabelled = df.loc[df["statistic"] == "unlabelled"]
    assert len(unlabelled) == 2  # the duplicated broken header keeps both columns
    assert unlabelled["estimated"].any() and 150_000.0 in set(unlabelled["value"])
    lme = one(df, detail="lme")
    assert lme["value"] == pytest.approx(100 * 0.01 / 0.45359237e-3)  # cents/lb -> USD/t
    assert one(df, statistic="nir_pct")["missing_reason"] == "E"
    assert one(df, statistic="shipments")["value"] == pytest.approx(-88.0)
    glued = one(df, source_column="Imports_Metalkg")
    assert glued["detail"] == "metal" and glued["unit_source"] == "kg"
    assert glued["missing_reason"] == "band"


def test_salient_rejects_world_table(source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"cobal_salient\.csv.*not hold U\.S\. salient"):
        read_salient_csv(source_fixtures / "mcs2024-cobal_salient.csv")


def test_salient_garbage(source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"garbage\.csv"):
        read_salient_csv(source_fixtures / "garbage.csv")


def test_mcs2026_salient_fixture(source_fixtures: Path) -> None:
    df = read_mcs2026_salient(source_fixtures / "MCS2026_Commodities_Data_fixture.csv")
    assert len(df) == 4
    assert one(df, statistic="imports")["value"] == 3020
    nir = one(df, statistic="nir_pct")
    assert nir["value"] == 50 and nir["value_text"] == ">50" and nir["unit"] == "percent"
    cents = one(df, statistic="price", unit_source="cents per pound")
    assert cents["unit"] == "USD/t" and cents["value"] == pytest.approx(2204.62262, rel=1e-6)


@pytest.mark.shared_data
def test_real_salient(shared_data: Path) -> None:
    df = read_salient_csv(shared_data / "usgs_mcs/mcs2024/salient/mcs2024-lithi_salient.csv")
    row = one(df, year=2023, statistic="imports")
    assert row["value"] == 3400
    assert one(df, year=2023, statistic="exports")["value"] == 2300
    assert one(df, year=2023, statistic="price")["value"] == 46000
    assert one(df, year=2023, statistic="nir_pct")["value_text"] == ">25"
    mcs25 = read_salient_csv(shared_data / "usgs_mcs/mcs2025/salient/mcs2025-lithium_salient.csv")
    assert one(mcs25, year=2024, statistic="nir_pct")["value_text"] == ">50"
    for code in ("cobal", "gypsu", "kyani"):
        with pytest.raises(SourceFormatError, match=code):
            read_salient_csv(shared_data / f"usgs_mcs/mcs2024/salient/mcs2024-{code}_salient.csv")
    cobalt23 = read_salient_csv(shared_data / "usgs_mcs/mcs2023/salient/mcs2023-cobal_salient.csv")
    assert one(cobalt23, year=2022, statistic="nir_pct")["value"] == 76


@pytest.mark.shared_data
def test_real_every_salient_file_reads_or_is_rejected(shared_data: Path) -> None:
    files = sorted((shared_data / "usgs_mcs").glob("*/salient/*_salient.csv"))
    files += sorted((shared_data / "usgs_mcs/mcs2022_subset").glob("*_salient.csv"))
    rejected = []
    for path in files:
        try:
            df = read_salient_csv(path)
        except SourceFormatError:
            rejected.append(path.name)
            continue
        assert not df.empty
    assert sorted(rejected) == [
        "mcs2024-cobal_salient.csv",
        "mcs2024-gypsu_salient.csv",
        "mcs2024-kyani_salient.csv",
    ]


@pytest.mark.shared_data
def test_real_mcs2026_salient(shared_data: Path) -> None:
    df = read_mcs2026_salient(shared_data / "usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv")
    li = df.loc[df["mineral"] == "lithium"]
    assert one(li, year=2024, statistic="imports")["value"] == 3020
    assert one(li, year=2025, statistic="nir_pct")["value_text"] == ">50"
    assert len(df) == 4863
