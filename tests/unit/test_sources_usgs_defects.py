"""The USGS source defects found by checking critmin against tables it was not built from,
each read from the raw files through the readers and compared with the published figure.

* MCS2024 fluorspar (and feldspar) salient files: the header has fewer columns than the data
  rows; read as published, fluorspar's NIR 2023 is 360 instead of 100 (feldspar's 240, not 12);
* silicon: the NIR of silicon metal, not of ferrosilicon;
* boron: mine output on a B2O3 basis (China) and in gross weight (the rest), no world total;
* U.S. salient statistics: every series of a statistic, told apart by its detail;
* one mineral id for USGS "barite" and the EU's and HS's "baryte".

The published NIR table is USGS MCS2025 Figure 2 (net import reliance 2024), read as published.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pandas as pd
import pytest
from _helpers import one

from critmin.assessment import us_nir
from critmin.errors import SourceFormatError
from critmin.metrics import dependence
from critmin.sources import read_mcs2026, read_mcs2026_salient, read_salient_csv
from critmin.sources.usgs_mcs import mineral_id, read_mcs_world_per_commodity
from critmin.world import World

pytestmark = pytest.mark.shared_data

MCS = Path("usgs_mcs")


def _salient_world(frames: list[pd.DataFrame]) -> World:
    """A world holding only U.S. salient statistics read by the readers (what us_nir uses)."""
    df = pd.concat(frames, ignore_index=True)
    df["detail"] = df["detail"].fillna("").astype(str).str.strip()
    return cast(World, SimpleNamespace(us_salient=df))


@pytest.fixture(scope="module")
def mcs2026_salient(shared_data: Path) -> pd.DataFrame:
    return read_mcs2026_salient(shared_data / MCS / "mcs2026/MCS2026_Commodities_Data.csv")


@pytest.fixture(scope="module")
def mcs2025_world(shared_data: Path) -> World:
    """Every MCS2025 salient file, read through the reader."""
    files = sorted((shared_data / MCS / "mcs2025/salient").glob("*_salient.csv"))
    return _salient_world([read_salient_csv(f) for f in files])


# ------------------------------------------------------------------ fluorspar, feldspar MCS2024


def test_fluorspar_mcs2024_nir_is_100_not_360(shared_data: Path) -> None:
    """MCS2024 fluorspar, 2023: imports 390 kt (total), exports 22 kt, apparent consumption
    370 kt, NIR 100 % (USGS); read with the published header the NIR column held 360, the
    metallurgical-grade price."""
    df = read_salient_csv(shared_data / MCS / "mcs2024/salient/mcs2024-fluor_salient.csv")
    nir = one(df, year=2023, statistic="nir_pct")
    assert nir["value_text"] == "100" and nir["value"] == 100
    assert one(df, year=2023, statistic="imports", detail="total_fl")["value"] == 390_000
    assert one(df, year=2023, statistic="exports")["value"] == 22_000
    assert one(df, year=2023, statistic="consumption")["value"] == 370_000
    assert one(df, year=2023, statistic="price", detail="metallurgical")["value"] == 360
    assert set(df.loc[df["statistic"] == "nir_pct", "value_text"]) == {"100"}
    net = dependence.net_import_reliance(390_000, 22_000, consumption=370_000)
    assert dependence.matches_usgs(net, "100")
    # the corrected layout is MCS2023's: its 2019 cells are MCS2024's 2019 cells
    old = read_salient_csv(shared_data / MCS / "mcs2023/salient/mcs2023-fluor_salient.csv")
    cols = ["statistic", "detail", "value_text"]
    a = df.loc[df["year"] == 2019, cols].sort_values(cols).reset_index(drop=True)
    b = old.loc[old["year"] == 2019, cols].sort_values(cols).reset_index(drop=True)
    pairs = {(s, t) for s, t in zip(a["statistic"], a["value_text"], strict=True)}
    assert pairs == {(s, t) for s, t in zip(b["statistic"], b["value_text"], strict=True)}


def test_feldspar_mcs2024_nir_is_12_not_240(shared_data: Path) -> None:
    """MCS2024 feldspar misses the nepheline-syenite exports header: NIR 2023 feldspar 12 %,
    nepheline syenite >95 % (USGS); imports 85 - exports 6 over consumption 670 = 11.8 %."""
    df = read_salient_csv(shared_data / MCS / "mcs2024/salient/mcs2024-felds_salient.csv")
    assert one(df, year=2023, statistic="nir_pct", detail="feldspar")["value_text"] == "12"
    assert one(df, year=2023, statistic="nir_pct", detail="nepheline_syenite")["value_text"] == (
        ">95"
    )
    assert one(df, year=2023, statistic="employment")["value"] == 240
    net = dependence.net_import_reliance(85, 6, consumption=670)
    assert dependence.matches_usgs(net, "12")


def _write(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_header_shorter_than_the_rows_is_refused(tmp_path: Path) -> None:
    """Data under no header is never read shifted: one message naming the row and column."""
    f = _write(
        tmp_path / "mcs2024-xxxxx_salient.csv",
        "DataSource,Commodity,Year,Imports_t,NIR_pct,,",  # trailing blank cells, as USGS's
        "MCS2024,Xenotime,2023,5,80,100,",
    )
    with pytest.raises(SourceFormatError, match=r"data row 1 has a value in column 6.*no header"):
        read_salient_csv(f)


def test_reviewed_header_must_still_match_the_file(tmp_path: Path) -> None:
    """A correction is applied only to the header it was reviewed for."""
    f = _write(
        tmp_path / "mcs2024-fluor_salient.csv",
        "DataSource,Commodity,Year,Imports_Total_kt,NIR_pct",
        "MCS2024,Fluorspar,2023,390,100",
    )
    with pytest.raises(SourceFormatError, match="reviewed header correction"):
        read_salient_csv(f)


# ------------------------------------------------------------------ silicon


def test_silicon_nir_is_the_silicon_metal_series(mcs2026_salient: pd.DataFrame) -> None:
    """MCS2026 silicon 2025: ferrosilicon '<50', silicon metal '>50' (total '>50'); critmin's
    silicon (HS 280469, EU 'silicon metal') is the metal. 2024: both '<50'."""
    world = _salient_world([mcs2026_salient])
    r = us_nir(world, "silicon", 2025)
    assert r["published_nir"] == ">50"
    assert r["series"]["nir_pct"] == [
        "Net import reliance as a percentage of apparent consumption: Silicon metal"
    ]
    assert r["series"]["imports"] == ["Imports for consumption: Silicon metal"]
    # production and consumption are published for both products together, withheld
    assert r["nir"] is None and r["reason"]
    assert us_nir(world, "silicon", 2024)["published_nir"] == "<50"


# ------------------------------------------------------------------ boron


def test_boron_mine_output_mixes_bases_without_a_world_total(shared_data: Path) -> None:
    """MCS2026 boron: China in boric oxide (B2O3) equivalent, every other country in gross
    weight of its own product (ulexite, crude ore, datolite ore); world total 'XX' ("not
    reported in a consistent manner"). Added up, Bolivia's 380 kt of ulexite would lead 2025."""
    df = read_mcs2026(shared_data / MCS / "mcs2026/MCS2026_Commodities_Data.csv")
    mine = df[(df["mineral"] == "boron") & (df["stage"] == "mine") & (df["year"] == 2025)]
    mine = mine[mine["measure"] == "production"]
    named = mine[~mine["country"].isin(["WLD", "OTH"]) & mine["value_t"].notna()]
    assert set(named["basis"]) == {"B2O3", "gross"}
    assert one(named, country="CHN")["basis"] == "B2O3"
    assert named.sort_values("value_t")["country"].iloc[-1] == "BOL"
    world = one(mine, country="WLD")
    assert world["missing_reason"] == "XX"


# ------------------------------------------------------------------ every salient series


@pytest.mark.parametrize(
    ("mineral", "published", "statistic"),
    [
        ("antimony", "86", "production"),
        ("arsenic", "100", "imports"),
        ("cobalt", "74", "consumption"),
        ("fluorspar", "100", "imports"),
        ("nickel", "43", "imports"),
        ("rare_earths", "53", "production"),
        ("strontium", "100", "imports"),
        ("vanadium", "46", "imports"),
    ],
)
def test_us_nir_2024_uses_the_series_usgs_uses(
    mcs2026_salient: pd.DataFrame, mineral: str, published: str, statistic: str
) -> None:
    """The eight U.S. 2024 NIR figures that the first row per statistic got wrong: the reader
    keeps every series (several for ``statistic``), and the one USGS's NIR uses reproduces
    the published figure."""
    rows = mcs2026_salient[
        (mcs2026_salient["mineral"] == mineral)
        & (mcs2026_salient["year"] == 2024)
        & (mcs2026_salient["statistic"] == statistic)
    ]
    assert rows["detail"].nunique() >= 2  # several series: the first row is not enough
    r = us_nir(_salient_world([mcs2026_salient]), mineral, 2024)
    assert r["published_nir"] == published and r["matches_usgs"] is True


# MCS2025 Figure 2 commodity -> critmin mineral, for the bundled minerals it lists
FIG2 = {
    "ANTIMONY, metal and oxide": "antimony",
    "ARSENIC, all forms": "arsenic",
    "BARITE": "baryte",
    "BAUXITE": "bauxite",
    "COBALT, metal, oxides, and salts": "cobalt",
    "COPPER, refined": "copper",
    "FELDSPAR": "feldspar",
    "FLUORSPAR": "fluorspar",
    "GALLIUM, metal": "gallium",
    "GERMANIUM": "germanium",
    "GRAPHITE (NATURAL)": "graphite",
    "LITHIUM": "lithium",
    "MAGNESIUM METAL": "magnesium",
    "MANGANESE": "manganese",
    "NICKEL": "nickel",
    "NIOBIUM (COLUMBIUM)": "niobium",
    "PALLADIUM": "palladium",
    "PLATINUM": "platinum",
    "RARE EARTHS, compounds and metals": "rare_earths",
    "SILICON, metal and ferrosilicon": "silicon",
    "STRONTIUM": "strontium",
    "TANTALUM": "tantalum",
    "TITANIUM, sponge metal": "titanium",
    "TUNGSTEN": "tungsten",
    "VANADIUM": "vanadium",
}


def test_us_nir_2024_of_mcs2025_equals_its_published_nir_table(
    shared_data: Path, mcs2025_world: World
) -> None:
    """Edition-matched: the NIR row chosen from each MCS2025 salient file is the figure MCS2025
    printed in its net-import-reliance table (Figure 2) for 2024, for every bundled mineral
    the table lists (MCS2026 revised several: cobalt 76 -> 74, nickel 48 -> 43)."""
    path = shared_data / MCS / "mcs2025/trends/MCS2025_Fig2_Net_Import_Reliance.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        table = {
            r["Commodity"].strip(): r["Net_Import_Reliance_pct_2024"].strip()
            for r in csv.DictReader(f)
        }
    assert set(FIG2) <= set(table)
    for commodity, mineral in FIG2.items():
        r = us_nir(mcs2025_world, mineral, 2024, "MCS2025")
        assert r["edition"] == "MCS2025"
        assert r["published_nir"] == table[commodity], (mineral, r["series"]["nir_pct"])


# ------------------------------------------------------------------ barite / baryte


def test_barite_and_baryte_are_one_mineral(shared_data: Path) -> None:
    """USGS spells it barite; critmin, the EU CRM study and the HS baryte: one id, baryte."""
    assert mineral_id("Barite") == "baryte" == mineral_id("Baryte")
    world = read_mcs_world_per_commodity(
        shared_data / MCS / "mcs2024/world/mcs2024-barit_world.csv"
    )
    assert set(world["mineral"]) == {"baryte"}
    salient = read_salient_csv(shared_data / MCS / "mcs2025/salient/mcs2025-barit_salient.csv")
    assert set(salient["mineral"]) == {"baryte"}
    df = read_mcs2026(shared_data / MCS / "mcs2026/MCS2026_Commodities_Data.csv")
    assert "barite" not in set(df["mineral"]) and "baryte" in set(df["mineral"])
