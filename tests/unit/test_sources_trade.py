"""BACI and Comtrade readers (flows schema)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import one

from critmin.errors import SourceFormatError
from critmin.sources import COMTRADE_COLUMNS, FLOWS_COLUMNS, read_baci, read_comtrade_bulk


def _check_flows(frame: pd.DataFrame) -> None:
    assert list(frame.columns[: len(FLOWS_COLUMNS)]) == FLOWS_COLUMNS
    assert frame["hs6"].str.fullmatch(r"\d{6}").all()
    assert frame["year"].dtype == np.int64
    assert frame["value_usd"].dtype == float and frame["quantity_t"].dtype == float


def test_baci_atlas_csv_and_parquet(tmp_path: Path, source_fixtures: Path) -> None:
    df = read_baci(source_fixtures / "baci_2024_atlas_fixture.csv")
    _check_flows(df)
    row = one(df, exporter="CHL", importer="CHN", hs6="283691")
    assert row["value_usd"] == pytest.approx(2_027_527_918.0)
    assert row["quantity_t"] == pytest.approx(185_819.781) and row["year"] == 2024
    assert np.isnan(one(df, exporter="TWN")["quantity_t"])  # S19 -> TWN, empty qty
    parquet = tmp_path / "atlas.parquet"
    pd.read_csv(source_fixtures / "baci_2024_atlas_fixture.csv", dtype={"hs6": str}).to_parquet(
        parquet
    )
    pd.testing.assert_frame_equal(read_baci(parquet), df)


def test_baci_value_only_and_raw(source_fixtures: Path) -> None:
    df = read_baci(source_fixtures / "baci_2022_value_only_fixture.csv")
    _check_flows(df)
    assert set(df["year"]) == {2022}  # from the file name
    assert one(df, exporter="CHL", hs6="283691")["value_usd"] == 5_995_868_008.0
    assert df["quantity_t"].isna().all()
    assert "081010" in set(df["hs6"])  # zero-padded
    assert set(
        read_baci(source_fixtures / "baci_2022_value_only_fixture.csv", year=2021)["year"]
    ) == {2021}
    raw = read_baci(source_fixtures / "baci_raw_fixture.csv")
    row = one(raw, exporter="CHL")
    assert row["importer"] == "CHN" and row["value_usd"] == pytest.approx(5_995_868_008.0)
    assert one(raw, exporter="TWN")["importer"] == "JPN"


def test_baci_errors(tmp_path: Path, source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"garbage\.csv"):
        read_baci(source_fixtures / "garbage.csv")
    odd = tmp_path / "baci_2022.csv"
    odd.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="unknown BACI layout"):
        read_baci(odd)
    noyear = tmp_path / "flows.csv"
    noyear.write_text("i,j,cmd,value\nCHL,CHN,283691,1\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="without a year"):
        read_baci(noyear)
    bad_country = tmp_path / "baci_2022_x.csv"
    bad_country.write_text("i,j,cmd,value\nXXQ,CHN,283691,1\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="XXQ"):
        read_baci(bad_country)
    bad_parquet = tmp_path / "x.parquet"
    bad_parquet.write_bytes(b"PAR1 not really")
    with pytest.raises(SourceFormatError, match="Parquet"):
        read_baci(bad_parquet)


def test_comtrade_dedup_max_not_sum(tmp_path: Path, source_fixtures: Path) -> None:
    gz = tmp_path / "comtrade_2022.csv.gz"
    gz.write_bytes(gzip.compress((source_fixtures / "comtrade_2022_fixture.csv").read_bytes()))
    df = read_comtrade_bulk(gz)
    assert list(df.columns) == COMTRADE_COLUMNS
    _check_flows(df)
    chl = one(df, reporter="CHL", partner="CHN", flow="X")
    assert chl["value_usd"] == 5_977_169_000.0  # max of duplicates + breakdown, never a sum
    assert chl["quantity_t"] == pytest.approx(120_435.36)
    assert chl["exporter"] == "CHL" and chl["importer"] == "CHN"
    mirror = one(df, reporter="CHN", partner="CHL", flow="M")
    assert mirror["exporter"] == "CHL" and mirror["importer"] == "CHN"
    taiwan = one(df, reporter="USA", partner="TWN")
    assert np.isnan(taiwan["quantity_t"])  # netwgt 0 with a value: not reported
    assert "WLD" not in set(df["partner"])
    assert set(df["flow"]) == {"M", "X"}
    assert df.attrs["dropped_non_country_rows"] == 1  # partner 899 "Areas, nes"
    world = read_comtrade_bulk(gz, include_world=True)
    assert one(world, partner="WLD")["value_usd"] == 7e9


def test_comtrade_errors(tmp_path: Path, source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"garbage\.csv"):
        read_comtrade_bulk(source_fixtures / "garbage.csv")
    missing = tmp_path / "comtrade_2022.csv"
    missing.write_text("reporter,partner,cmd\n1,2,3\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="missing required column"):
        read_comtrade_bulk(missing)
    broken = tmp_path / "comtrade_2024.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(SourceFormatError, match="gzip"):
        read_comtrade_bulk(broken)


@pytest.mark.shared_data
def test_real_baci(shared_data: Path) -> None:
    folder = shared_data / "trade/critical_materials_atlas/baci_hs17_v202601"
    df = read_baci(folder / "baci_2024_trade_with_qty.parquet")
    assert len(df) == 21723
    row = one(df, exporter="CHL", importer="CHN", hs6="283691")
    assert row["value_usd"] == pytest.approx(2_027_527_918.0)
    assert row["quantity_t"] == pytest.approx(185_819.781)
    assert df["quantity_t"].isna().sum() == 1030
    csv = read_baci(folder / "baci_2024_trade_with_qty.csv")
    pd.testing.assert_frame_equal(csv, df)
    v22 = read_baci(folder / "baci_2022_value_only.csv")
    assert one(v22, exporter="CHL", importer="CHN", hs6="283691")["value_usd"] == 5_995_868_008.0


@pytest.mark.shared_data
def test_real_comtrade(shared_data: Path) -> None:
    folder = shared_data / "trade/critical_materials_atlas/comtrade_raw"
    df = read_comtrade_bulk(folder / "comtrade_2022.csv.gz")
    chl = one(df, reporter="CHL", partner="CHN", hs6="283691", flow="X")
    assert chl["value_usd"] == pytest.approx(5_977_169_000.0, rel=1e-6)  # published rounded
    assert chl["quantity_t"] == pytest.approx(120_435.36)
    chn = one(df, reporter="CHN", partner="CHL", hs6="283691", flow="M")
    assert chn["value_usd"] == pytest.approx(6_358_010_071.0)
    cod = one(df, reporter="COD", partner="CHN", hs6="282200", flow="X")
    assert cod["value_usd"] == pytest.approx(968_441_700.0)
    assert not df.duplicated(["reporter", "partner", "hs6", "flow"]).any()
    d24 = read_comtrade_bulk(folder / "comtrade_2024.csv.gz")
    assert set(d24["year"]) == {2024}
    assert one(d24, reporter="CHL", partner="CHN", hs6="283691", flow="X")[
        "value_usd"
    ] == pytest.approx(1.750843e9, rel=1e-6)


def test_comtrade_api_extract_keeps_one_total_row_per_flow(tmp_path: Path) -> None:
    from critmin.sources.comtrade import read_comtrade_api

    head = "refYear,reporterCode,partnerCode,flowCode,cmdCode,motCode,customsCode,netWgt,"
    head += "primaryValue\n"
    rows = [
        "2024,36,156,X,253090,0,C00,3761884000,3037597000",
        "2024,36,156,X,253090,9900,C00,3761884000,3037597000",  # the mode-of-transport copy
        "2024,156,0,M,253090,0,C00,0,5199966000",  # 0 kg next to a value: not reported
    ]
    path = tmp_path / "lithium_trade_data.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    df = read_comtrade_api(path)
    assert len(df) == 2
    aus = one(df, reporter="AUS", partner="CHN")
    assert aus["value_usd"] == 3_037_597_000 and aus["quantity_t"] == pytest.approx(3_761_884)
    assert np.isnan(one(df, reporter="CHN", partner="WLD")["quantity_t"])


def test_real_comtrade_api_and_asean_extract(shared_data: Path) -> None:
    from critmin.sources.baci_asean import read_baci_asean
    from critmin.sources.comtrade import read_comtrade_api

    df = read_comtrade_api(shared_data / "comtrade_cmm_gold_qa/lithium_trade_data.csv")
    aus = one(df, reporter="AUS", partner="CHN", flow="X", code="253090", year=2024)
    assert aus["value_usd"] == pytest.approx(3.038e9, rel=1e-3)  # SOURCES.md 2a
    asean = read_baci_asean(
        shared_data / "trade/baci_asean_minerals/baci-asean-minerals-bilateral-2010-2024.csv"
    )
    _check_flows(asean)
    matte = one(asean, year=2024, hs6="750110", exporter="IDN", importer="CHN")
    assert matte["value_usd"] == pytest.approx(2_107_298_435.0)  # SOURCES.md section 9
    assert matte["quantity_t"] == pytest.approx(299_865.203)


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ("CHL,CHN,283691,1\nAUS,CHN,283691,nan\n", "holds 'nan' in data row 2"),
        ("CHL,CHN,283691,inf\n", "holds 'inf' in data row 1"),
        ("CHL,CHN,283691,-235.0\n", "holds '-235.0' in data row 1"),
        ("CHL,CHN,283691,\n", "holds 'nan' in data row 1"),
    ],
)
def test_baci_values_that_are_not_amounts_are_refused(
    tmp_path: Path, rows: str, needle: str
) -> None:
    """A BACI file whose trade value is missing, NaN, infinite or negative: read as such, it
    went into the flows table of ``critmin data build`` (which replaced the earlier dataset)."""
    path = tmp_path / "baci_2022_value_only.csv"
    path.write_text("i,j,cmd,value\n" + rows, encoding="utf-8")
    with pytest.raises(SourceFormatError, match=re.escape(needle)) as caught:
        read_baci(path)
    assert "expected a finite number >= 0" in str(caught.value)
    atlas = tmp_path / "atlas.csv"  # a quantity may be missing, not negative
    atlas.write_text(
        "year,exporter,importer,hs6,value_kusd,qty_t\n2024,CHL,CHN,283691,1,\n"
        "2024,CHL,KOR,283691,1,-3\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceFormatError, match=r"'qty_t' holds '-3.0' in data row 2"):
        read_baci(atlas)
