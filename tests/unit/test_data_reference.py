"""The bundled reference dataset: published figures, provenance, checks and tampering."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.check import run_checks, world_total_mismatches
from critmin.data.schema import TABLES
from critmin.errors import UnknownCountryError, UnknownProductError, UnknownYearError
from critmin.world import REFERENCE_DIR, load_world, read_manifest


@pytest.fixture(scope="module")
def world():
    return load_world(2024)


def test_every_table_is_bundled_with_provenance() -> None:
    manifest = read_manifest()
    assert set(manifest["tables"]) == set(TABLES)
    for name, entry in manifest["tables"].items():
        assert entry["rows"] > 0, name
        assert entry["provenance"], name
        for pub in entry["provenance"]:
            assert pub["publisher"] and pub["licence"] and pub["doi_or_url"], name
        assert entry["transformations"], name


def test_lithium_2024_both_editions_traceable(world) -> None:
    """MCS2026 revised Australia's 2024 lithium to 82,700 t from MCS2025's 88,000 t estimate."""
    li = world.supply_all_editions
    aus = li[
        (li["mineral"] == "lithium")
        & (li["country"] == "AUS")
        & (li["year"] == 2024)
        & (li["measure"] == "production")
    ].set_index("edition")
    assert aus.loc["MCS2026", "value_t"] == 82_700
    assert aus.loc["MCS2025", "value_t"] == 88_000
    assert bool(aus.loc["MCS2025", "estimated"])
    assert bool(aus.loc["MCS2026", "is_latest"]) and not bool(aus.loc["MCS2025", "is_latest"])
    assert aus.loc["MCS2026", "source_file"] == "MCS2026_Commodities_Data.csv"
    latest = world.production("lithium", "mine", 2024).set_index("country")["value_t"]
    assert latest["CHL"] == 48_900 and latest["CHN"] == 41_400 and latest["ARG"] == 13_800
    assert latest["WLD"] == 222_000
    assert pd.isna(latest["USA"])  # withheld, not zero


def test_published_usgs_figures(world) -> None:
    s = world.supply_all_editions
    cobalt = s[
        (s["mineral"] == "cobalt") & (s["country"] == "COD") & (s["measure"] == "production")
    ]
    by = cobalt.set_index(["edition", "year"])["value_t"]
    assert by[("MCS2025", 2024)] == 220_000
    assert by[("MCS2026", 2025)] == 230_000
    wld = s[
        (s["mineral"] == "lithium")
        & (s["country"] == "WLD")
        & (s["edition"] == "MCS2024")
        & (s["measure"] == "production")
    ].set_index("year")["value_t"]
    assert wld[2023] == 180_000


def _series(u: pd.DataFrame, edition: str, mineral: str, year: int, statistic: str) -> dict:
    rows = u[
        (u["edition"] == edition)
        & (u["mineral"] == mineral)
        & (u["year"] == year)
        & (u["statistic"] == statistic)
    ]
    return dict(zip(rows["detail"], rows["value_text"], strict=True))


def test_us_salient_keeps_every_series(world) -> None:
    """Each published series of a salient statistic is a row, named by ``detail``: USGS's NIR
    uses e.g. cobalt's second consumption series (apparent, 7,960 t) and fluorspar's total
    imports, which a table keeping the first row per statistic loses."""
    u = world.us_salient
    assert "detail" in u.columns
    assert _series(u, "MCS2026", "cobalt", 2024, "consumption") == {
        "Consumption (includes secondary): Estimated": "7,830",
        "Consumption (includes secondary): Apparent": "7,960",
    }
    assert _series(u, "MCS2026", "cobalt", 2024, "production") == {
        "Production: Mine": "200",
        "Production: Secondary": "2,050",
    }
    fluorspar = _series(u, "MCS2026", "fluorspar", 2024, "imports")
    assert fluorspar["Imports for consumption: Acid grade"] == "372"
    assert fluorspar["Imports for consumption: Total fluorspar imports"] == "403"
    assert len(fluorspar) == 6
    assert len(_series(u, "MCS2026", "vanadium", 2024, "imports")) == 8
    assert _series(u, "MCS2026", "rare_earths", 2024, "nir_pct") == {
        "Net import reliance as a percentage of apparent consumption: Compounds and metals": "53",
        "Net import reliance as a percentage of apparent consumption: Mineral concentrates": "E",
    }
    # the MCS2023-2025 CSVs: the header's middle words (Consump_Apparent_Total_t)
    assert _series(u, "MCS2025", "nickel", 2024, "consumption") == {
        "apparent_primary": "84000",
        "apparent_total": "180000",
        "reported_primary": "110000",
        "reported_secondary": "92000",
    }
    # one row per MCS2026 source row; every series of the newest edition is the latest
    m26 = u[u["edition"] == "MCS2026"]
    assert not m26.duplicated(["source_file", "source_row"]).any()
    assert m26["is_latest"].all()
    nickel = u[(u["mineral"] == "nickel") & (u["year"] == 2024) & (u["statistic"] == "consumption")]
    assert nickel.groupby("edition")["is_latest"].all().to_dict() == {
        "MCS2025": False,
        "MCS2026": True,
    }


def test_flows_totals_and_rows(world) -> None:
    f = world.flows
    row = f[(f["exporter"] == "CHL") & (f["importer"] == "CHN") & (f["hs6"] == "283691")].iloc[0]
    assert row["value_usd"] == pytest.approx(2_027_527_918.0)
    assert row["quantity_t"] == pytest.approx(185_819.781)
    f22 = load_world(2022).flows
    r22 = f22[(f22["exporter"] == "CHL") & (f22["importer"] == "CHN") & (f22["hs6"] == "283691")]
    assert r22["value_usd"].iloc[0] == pytest.approx(5_995_868_008.0)
    assert r22["quantity_t"].isna().all()


def test_groups_are_cited(world) -> None:
    assert world.group("G7") == sorted(["CAN", "DEU", "FRA", "GBR", "ITA", "JPN", "USA"])
    assert len(world.group("EU27")) == 27
    assert len(world.group("OECD")) == 38  # incl. the reviewed Costa Rica correction
    msp = set(world.group("MSP"))
    assert {"USA", "AUS", "CAN", "JPN", "KOR", "IND", "GBR", "NOR", "DEU"} <= msp
    assert len(world.group("US_FTA")) == 20
    assert world.groups["citation"].str.len().min() > 10
    assert world.groups["url"].str.startswith("http").all()


def test_resolve_countries_and_errors(world) -> None:
    zone = world.resolve_countries(["USA", "CAN", "EU27"])
    assert "DEU" in zone and "USA" in zone and len(zone) == 29
    with pytest.raises(UnknownCountryError, match="XYZ"):
        world.resolve_countries(["XYZ"])
    with pytest.raises(UnknownCountryError, match="did you mean"):
        world.resolve_countries(["EU72"])
    with pytest.raises(UnknownProductError, match="lithium_carbonate"):
        world.product("lithium_carbonat")
    with pytest.raises(UnknownYearError, match="2022, 2024"):
        load_world(2019)


def test_concordance_content_factors(world) -> None:
    p = world.products.set_index("product_id")
    assert p.loc["lithium_carbonate", "content_factor"] == pytest.approx(
        2 * 6.941 / 73.89, rel=1e-3
    )
    assert (
        "Ga" in p.loc["gallium_germanium", "caveat"]
        or "gallium" in p.loc["gallium_germanium", "caveat"]
    )
    assert "810520" in p.loc["cobalt_oxides", "caveat"]
    assert set(p["stage"]) <= {"mine", "refine", "product"}
    assert set(world.flows["product_id"]) <= set(p.index)


def test_checks_pass_on_bundled_data() -> None:
    results = run_checks()
    failed = [r for r in results if not r.ok]
    assert not failed, failed
    names = {r.name for r in results}
    assert "USGS country sums vs world totals" in names


@pytest.mark.shared_data
def test_flow_totals_equal_baci_source(shared_data: Path) -> None:
    results = run_checks(source=shared_data)
    baci = [r for r in results if r.name.startswith("BACI")]
    assert len(baci) == 2 and all(r.ok for r in baci), baci


def test_check_fails_on_a_tampered_copy(tmp_path: Path) -> None:
    copy = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, copy)
    df = pd.read_parquet(copy / "supply.parquet")
    df.loc[df.index[0], "value_t"] = (df["value_t"].iloc[0] or 0) + 1
    df.to_parquet(copy / "supply.parquet", index=False)
    failed = [r for r in run_checks(copy) if not r.ok]
    assert any(r.name == "supply: sha256" for r in failed)


def test_check_fails_when_a_world_total_does_not_add_up() -> None:
    supply = pd.read_parquet(REFERENCE_DIR / "supply.parquet")
    assert world_total_mismatches(supply)[["mineral"]].isin(["lithium"]).sum().sum() == 0
    mask = (
        (supply["mineral"] == "lithium")
        & (supply["country"] == "CHL")
        & (supply["measure"] == "production")
        & (supply["edition"] == "MCS2024")
        & (supply["year"] == 2022)
    )
    supply.loc[mask, "value_t"] = supply.loc[mask, "value_t"] * 2
    bad = world_total_mismatches(supply)
    assert ((bad["mineral"] == "lithium") & (bad["year"] == 2022)).any()


def test_check_reports_a_missing_manifest(tmp_path: Path) -> None:
    results = run_checks(tmp_path)
    assert len(results) == 1 and not results[0].ok and "manifest.json" in results[0].detail


@pytest.mark.shared_data
def test_rebuild_reproduces_the_bundled_tables(shared_data: Path, tmp_path: Path) -> None:
    """The committed dataset is exactly what the build makes from the source releases."""
    from critmin.data.build import build

    manifest = build(shared_data, tmp_path, log=lambda _m: None)
    bundled = read_manifest()
    for name, entry in manifest["tables"].items():
        assert entry["rows"] == bundled["tables"][name]["rows"], name
        a = pd.read_parquet(tmp_path / entry["file"])
        b = pd.read_parquet(REFERENCE_DIR / entry["file"])
        pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_build_salient_keeps_every_series(source_fixtures: Path, tmp_path: Path) -> None:
    """The build keeps every series of a statistic with its detail (fixtures: the MCS2026
    lithium rows with two prices, the MCS2024 chromium CSV with a duplicated broken header)."""
    from critmin.data.build import build_salient

    mcs = tmp_path / "usgs_mcs"
    for edition in ("mcs2023", "mcs2024", "mcs2025"):
        (mcs / edition / "salient").mkdir(parents=True)
    for name in ("mcs2024-chrom_salient.csv", "mcs2024-cobal_salient.csv"):
        shutil.copy(source_fixtures / name, mcs / "mcs2024/salient" / name)
    (mcs / "mcs2026").mkdir()
    shutil.copy(
        source_fixtures / "MCS2026_Commodities_Data_fixture.csv",
        mcs / "mcs2026/MCS2026_Commodities_Data.csv",
    )
    skipped: list[str] = []
    df = build_salient(tmp_path, skipped.append)
    assert list(df.columns) == TABLES["us_salient"].column_names
    assert any("cobal" in m for m in skipped)  # a world table, not salient statistics
    prices = df[(df["mineral"] == "lithium") & (df["statistic"] == "price")]
    assert sorted(prices["detail"]) == [
        "Price, annual average-real, battery-grade lithium carbonate, dollars per metric ton",
        "Price, copper, cents per pound",
    ]
    assert prices["is_latest"].all()
    chromium = df[df["mineral"] == "chromium"]
    assert (chromium["statistic"] == "unlabelled").sum() == 2  # both broken columns
    assert set(chromium.loc[chromium["statistic"] == "price", "detail"]) == {"ore", "lme"}
    assert len(df) == 4 + 9  # every published cell: 4 MCS2026 rows, 9 chromium columns


def test_a_build_that_makes_an_unusable_table_leaves_the_earlier_dataset(tmp_path: Path) -> None:
    """A table that every reader would refuse (here flows with a negative value: a source file
    that held one) is not written: the folder keeps its earlier dataset, byte for byte.
    Before, the build replaced it and every command then failed on the new one."""
    from critmin.data.build import write_reference
    from critmin.errors import DataIntegrityError

    out = tmp_path / "ds"
    shutil.copytree(REFERENCE_DIR, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    flows = pd.read_parquet(out / "flows.parquet")
    flows.loc[flows.index[5], "value_usd"] = -235.0
    with pytest.raises(DataIntegrityError) as caught:
        write_reference({"flows": flows}, [], tmp_path, out)
    message = str(caught.value)
    assert "nothing was written" in message and "column 'value_usd'" in message, message
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_build_refuses_a_2024_baci_extract_without_quantities(tmp_path: Path) -> None:
    """The 2024 atlas extract is the build's only source of tonnes: a copy whose qty_t column
    is gone must stop the build with one message naming the file, not ship 2024 flows with no
    quantity at all (it was taken silently: every unit value and USD/t floor then falls back)."""
    from critmin.data.build import build_flows, build_products
    from critmin.errors import SourceFormatError

    folder = tmp_path / "trade/critical_materials_atlas/baci_hs17_v202601"
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "year": [2024, 2024],
            "exporter": ["CHL", "AUS"],
            "importer": ["CHN", "CHN"],
            "hs6": ["283691", "283691"],
            "value_kusd": [2027527.918, 1000.0],
        }
    ).to_parquet(folder / "baci_2024_trade_with_qty.parquet")
    (folder / "baci_2022_value_only.csv").write_text("i,j,cmd,value\nCHL,CHN,283691,5995868008.0\n")
    with pytest.raises(SourceFormatError, match="no quantities"):
        build_flows(tmp_path, build_products(), lambda _: None)


def test_estimates_name_every_usgs_edition_they_rest_on() -> None:
    """The estimated flows of a trade year use the newest edition publishing that year's output
    (2022: MCS2024, 2024: MCS2026); the provenance the build writes for ``flows`` and
    ``estimate_balance`` must name each of those editions, not MCS2026 alone."""
    from critmin.data.build import PUBLICATIONS

    supply = pd.read_parquet(REFERENCE_DIR / "supply.parquet")
    flows = pd.read_parquet(REFERENCE_DIR / "flows.parquet", columns=["year", "basis", "source"])
    estimated = flows[flows["basis"] == "estimate"]
    series = estimated["source"].str.extractall(r"usgs:(?P<mineral>\w+):(?P<stage>\w+)")
    keys = set(zip(series["mineral"], series["stage"], strict=True))
    rows = supply[
        supply["is_latest"]
        & (supply["measure"] == "production")
        & supply["year"].isin(set(estimated["year"]))
    ]
    used = {
        e
        for m, st, e in zip(rows["mineral"], rows["stage"], rows["edition"], strict=True)
        if (m, st) in keys
    }
    assert used, "the bundled estimates rest on no USGS figure?"
    for table in ("flows", "estimate_balance"):
        named = {p.edition for p in PUBLICATIONS[table]}
        assert used <= named, (table, sorted(used - named))
