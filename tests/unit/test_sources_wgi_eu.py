"""WGI and EU CRM readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import one

from critmin.errors import SourceFormatError
from critmin.sources import (
    EU_SR_EI_COLUMNS,
    EU_SUPPLY_SHARES_COLUMNS,
    WGI_COLUMNS,
    read_eu_supply_shares,
    read_global_supply_shares,
    read_sr_ei,
    read_wgi,
)


@pytest.fixture()
def wgi_xlsx(tmp_path: Path) -> Path:
    """A tiny workbook in the official long layout, with ".." and legacy codes."""
    path = tmp_path / "wgidataset.xlsx"
    pd.DataFrame(
        {
            "codeindyr": ["AUSge2023", "ZARpv2023", "ROMcc2022", "KSVva2023"],
            "code": ["AUS", "ZAR", "ROM", "KSV"],
            "countryname": ["Australia", "Congo, Dem. Rep.", "Romania", "Kosovo"],
            "year": [2023, 2023, 2022, 2023],
            "indicator": ["ge", "pv", "cc", "va"],
            "estimate": [1.58988, -2.045, "..", 0.1],
            "stddev": [0.27, 0.2, "..", 0.2],
            "nsource": [6, 5, "..", 3],
            "pctrank": [93.867928, 5.21327, "..", 50.0],
            "pctranklower": [80, 1, "..", 40],
            "pctrankupper": [99, 9, "..", 60],
        }
    ).to_excel(path, index=False, engine="openpyxl")
    return path


def test_wgi_fixture(wgi_xlsx: Path) -> None:
    df = read_wgi(wgi_xlsx)
    assert list(df.columns[: len(WGI_COLUMNS)]) == WGI_COLUMNS
    assert one(df, country="AUS")["estimate"] == pytest.approx(1.58988)
    cod = one(df, country="COD")
    assert cod["source_code"] == "ZAR" and cod["estimate"] == pytest.approx(-2.045)
    assert np.isnan(one(df, country="ROU")["estimate"])
    assert one(df, country="XKX")["indicator"] == "va"
    assert set(read_wgi(wgi_xlsx, year=2023)["year"]) == {2023}
    assert set(read_wgi(wgi_xlsx, year=[2022])["country"]) == {"ROU"}


def test_wgi_errors(tmp_path: Path, source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"garbage\.csv.*xlsx"):
        read_wgi(source_fixtures / "garbage.csv")
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04 definitely not a workbook")
    with pytest.raises(SourceFormatError, match=r"fake\.xlsx"):
        read_wgi(fake)
    wrong = tmp_path / "wrong.xlsx"
    pd.DataFrame({"code": ["AUS"], "year": [2023]}).to_excel(wrong, index=False)
    with pytest.raises(SourceFormatError, match="missing required column"):
        read_wgi(wrong)


def test_global_shares_fixture(source_fixtures: Path) -> None:
    df = read_global_supply_shares(source_fixtures / "fact_GlobalSupplyShares_fixture.csv")
    assert list(df.columns[: len(EU_SUPPLY_SHARES_COLUMNS)]) == EU_SUPPLY_SHARES_COLUMNS
    assert set(df["scope"]) == {"global"}
    assert one(df, material="Gallium", stage="P")["share"] == pytest.approx(0.938)
    cod_e = one(df, material="Cobalt", stage="E")
    assert cod_e["country"] == "COD" and cod_e["share"] == pytest.approx(0.628)
    assert cod_e["t"] == pytest.approx(1.1)
    small = one(df, material="Cobalt", stage="P")
    assert small["share"] == 0.0005 and small["share_text"] == "<0.1%"
    turkey = df.loc[df["material_id"] == "natural_graphite", "country"]
    assert set(turkey) == {"TUR"}  # "Türkiye" (cp1252) and the misspelt "Turkyie"
    assert np.isnan(one(df, material="Lithium")["share"])  # "-"


def test_eu_shares_and_sr_ei_fixtures(source_fixtures: Path) -> None:
    eu = read_eu_supply_shares(source_fixtures / "fact_EUSupplyShares_fixture.csv")
    assert one(eu, material="Silicon metal")["share"] == pytest.approx(0.06)  # "6" without %
    assert one(eu, material="Niobium")["country"] == "BRA"  # "Brasil"
    sr = read_sr_ei(source_fixtures / "dimension_CRMsOverTime_fixture.csv")
    assert list(sr.columns[: len(EU_SR_EI_COLUMNS)]) == EU_SR_EI_COLUMNS
    li = one(sr, material="Lithium")
    assert (li["sr"], li["ei"], li["year"]) == (1.9, 3.9, 2023)
    teak = one(sr, year=2011)
    assert teak["material"] == "Natural Teak wood" and np.isnan(teak["sr"])
    assert one(sr, material="Natural graphite")["material_id"] == "natural_graphite"


def test_eu_errors(tmp_path: Path, source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"garbage\.csv"):
        read_global_supply_shares(source_fixtures / "garbage.csv")
    bad = tmp_path / "shares.csv"
    bad.write_text("Material,Stage,Country,Share,t\nCobalt,E,Chile,lots,1\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="'lots' is not a percentage"):
        read_global_supply_shares(bad)
    bad.write_text("Material,Stage,Country,Share,t\nCobalt,X,Chile,1%,1\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="Stage"):
        read_global_supply_shares(bad)
    with pytest.raises(SourceFormatError, match="missing required column"):
        read_sr_ei(source_fixtures / "fact_EUSupplyShares_fixture.csv")


@pytest.mark.shared_data
def test_real_wgi(shared_data: Path) -> None:
    df = read_wgi(shared_data / "wgi/wgidataset_1996-2023.xlsx")
    assert len(df) == 32100
    y23 = df.loc[df["year"] == 2023]
    assert one(y23, country="AUS", indicator="ge")["estimate"] == pytest.approx(1.58988, abs=1e-5)
    assert one(y23, country="COD", indicator="pv")["estimate"] == pytest.approx(-2.045, abs=1e-3)
    assert one(y23, country="CHN", indicator="pv")["estimate"] == pytest.approx(-0.513, abs=1e-3)
    assert df["estimate"].isna().sum() == 1126
    assert not df["country"].isin(["ZAR", "ROM", "ADO", "TMP", "WBG", "KSV"]).any()


@pytest.mark.shared_data
def test_real_eu(shared_data: Path) -> None:
    folder = shared_data / "eu_crm_2023"
    g = read_global_supply_shares(folder / "fact_GlobalSupplyShares_and_t.csv")
    assert len(g) == 2561
    assert one(g, material="Gallium", stage="P", country="CHN")["share"] == pytest.approx(0.938)
    assert one(g, material="Cobalt", stage="E", country="COD")["share"] == pytest.approx(0.628)
    assert one(g, material="Lithium", stage="E", country="AUS")["share"] == pytest.approx(0.53)
    assert one(g, material="Natural Graphite", stage="E", country="CHN")["share"] == pytest.approx(
        0.667
    )
    eu = read_eu_supply_shares(folder / "fact_EUSupplyShares_and_t.csv")
    assert len(eu) == 907
    sr = read_sr_ei(folder / "dimension_CRMsOverTime.csv")
    y23 = sr.loc[sr["year"] == 2023]
    li = one(y23, material_id="lithium")
    assert (li["sr"], li["ei"]) == (1.9, 3.9)
    assert one(y23, material_id="natural_graphite")["sr"] == 1.8
    assert "natural_graphite" in set(g["material_id"])
