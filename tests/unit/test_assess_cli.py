"""``critmin assess`` end to end through the CLI, on the bundled data."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from critmin.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CORE = "USA,CAN,AUS,JPN,KOR,EU27"
REQUIRED = {
    "mineral",
    "stage",
    "year",
    "hhi",
    "top_supplier",
    "top_supplier_share",
    "top3_share",
    "coverage",
    "zone_self_sufficiency",
    "watch_share",
}
SHARES = (
    "top_supplier_share",
    "top3_share",
    "coverage",
    "zone_self_sufficiency",
    "watch_share",
    "zone_supply_share",
    "watch_supply_share",
    "zone_coverage",
)


def _json(args: list[str]) -> Any:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def zone_records() -> list[dict[str, Any]]:
    return _json(["assess", "--members", CORE, "--watch", "CHN", "--json"])  # type: ignore[no-any-return]


def test_json_one_record_per_mineral_stage_year(zone_records: list[dict[str, Any]]) -> None:
    keys = [(r["mineral"], r["stage"], r["year"]) for r in zone_records]
    assert len(keys) == len(set(keys)) and len(keys) >= 40
    for r in zone_records:
        assert set(r) >= REQUIRED, set(REQUIRED) - set(r)
        assert r["year"] == 2024
        for k in SHARES:
            v = r.get(k)
            assert v is None or 0.0 <= v <= 1.0 + 1e-9, (r["mineral"], r["stage"], k, v)
        assert r["zone_basis"] in ("trade", "production_proxy", "share_proxy", None)
        assert r["view"] == "supply"
        if r["zone_basis"] is not None:
            assert r["zone_self_sufficiency"] is not None and r["watch_share"] is not None
            assert r["zone_coverage"] is not None and r["zone_reason"] is None
        else:
            assert r["zone_note"] and r["zone_reason"]
        assert r["sources"] and r["source"] in r["sources"]
    hhis = [r["hhi"] for r in zone_records]
    assert hhis == sorted(hhis, reverse=True)


def test_json_covers_every_bundled_mineral(zone_records: list[dict[str, Any]]) -> None:
    res = runner.invoke(app, ["data", "list", "--json"])
    products = json.loads(res.stdout)["products"]
    minerals = {p["mineral"] for p in products} | {"germanium"}
    assert minerals <= {r["mineral"] for r in zone_records}
    # a zone figure (trade or a labelled proxy) for most (mineral, stage) pairs
    with_basis = [r for r in zone_records if r["zone_basis"] is not None]
    assert len(with_basis) / len(zone_records) > 0.8
    lith_mine = next(r for r in zone_records if (r["mineral"], r["stage"]) == ("lithium", "mine"))
    assert lith_mine["zone_basis"] == "trade"  # estimated flows of lithium ores (HS 253090)
    gallium = next(r for r in zone_records if (r["mineral"], r["stage"]) == ("gallium", "refine"))
    assert gallium["zone_basis"] == "trade" and gallium["top_supplier"] == "CHN"
    assert gallium["watch_share"] > 0.2 and gallium["geopolrisk"] > 0


def test_table_prints_zone_columns_and_sources() -> None:
    res = runner.invoke(
        app, ["assess", "--minerals", "lithium,gallium", "--members", CORE, "--watch", "CHN"]
    )
    assert res.exit_code == 0, res.output
    for needle in ("self-suff. %", "watch %", "basis", "proxy", "trade", "cov %", "Sources"):
        assert needle in res.output, needle
    assert "doi.org/10.5066/P1WKQ63T" in res.output  # USGS MCS2026
    assert "10.2873/725585" in res.output  # EU CRM 2023


def test_zone_file_equals_members_and_watch() -> None:
    args = ["assess", "--minerals", "lithium,cobalt", "--json"]
    from_file = _json([*args, "--zone", str(EXAMPLES / "01_lithium_floor_levy.toml")])
    from_flags = _json([*args, "--members", CORE, "--watch", "CHN"])
    assert from_file == from_flags


def test_csv_output() -> None:
    res = runner.invoke(app, ["assess", "--minerals", "cobalt", "--csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["mineral"], r["stage"]) for r in rows] == [("cobalt", "mine"), ("cobalt", "refine")]
    assert rows[0]["top"] == "COD"


def test_csv_counts_are_integers_where_some_are_missing() -> None:
    """n90 (suppliers for 90%) and the rounded HHI are whole numbers: with a missing n90 in
    the table (vanadium refining) pandas made the column float and the CSV read '2.0'."""
    res = runner.invoke(app, ["assess", "--csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    n90 = [r["n90"] for r in rows]
    assert "" in n90  # some minerals have no n90: the case this is about
    assert all(v == "" or v.isdigit() for v in n90), n90
    assert all(r["HHI"] == "" or r["HHI"].isdigit() for r in rows)


@pytest.mark.parametrize(
    "view", [["--members", CORE, "--watch", "CHN"], ["--view", "nir"], ["--view", "criticality"]]
)
def test_csv_rows_state_their_sources(view: list[str]) -> None:
    """Every CSV row carries its record's edition and sources, as the JSON does (the docs: every
    record states its sources), an estimate named as one."""
    args = ["assess", "--minerals", "cobalt,gallium,alumina", *view]
    res = runner.invoke(app, [*args, "--csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    records = _json([*args, "--json"])
    assert len(rows) == len(records) > 0
    for row, rec in zip(rows, records, strict=True):
        assert (row["sources"].split(" | ") if row["sources"] else []) == rec["sources"]
        assert row["edition"] == (rec.get("edition") or "")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--minerals", "lithum"], "did you mean lithium"),
        (["--stage", "smelt"], "unknown stage 'smelt'"),
        (["--members", "USA,XXX"], "unknown country or group 'XXX'"),
        (["--watch", "CHN"], "--watch needs a zone"),
        (["--members", "USA,CHN", "--watch", "CHN"], "also zone members"),
        (["--year", "1990"], "no bundled production data for 1990"),
        (["--view", "risk"], "unknown view 'risk'"),
        (["--country", "USA"], "--country applies to --view nir"),
        (["--view", "nir", "--country", "Atlantis"], "unknown country"),
        (["--zone", "no_such_file.toml"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_message(args: list[str], needle: str) -> None:
    res = runner.invoke(app, ["assess", *args])
    assert res.exit_code == 2, (args, res.output)
    assert needle in res.output, (args, res.output)
    assert "Traceback" not in res.output
    assert res.output.strip().count("\n") <= 1  # one message (it may wrap once)


def test_criticality_view_json() -> None:
    rows = _json(
        ["assess", "--view", "criticality", "--minerals", "lithium,gallium,cobalt", "--json"]
    )
    by = {(r["material_id"], r["stage"]): r for r in rows}
    lith = by[("lithium", "processing")]
    assert (lith["official_sr_2023"], lith["official_ei_2023"]) == (1.9, 3.9)
    assert by[("gallium", "processing")]["top_country"] == "CHN"
    assert by[("gallium", "processing")]["top_share"] == pytest.approx(0.938)
    assert by[("cobalt", "extraction")]["top_country"] == "COD"
    assert by[("cobalt", "extraction")]["top_share"] == pytest.approx(0.628)
    blocks = [r["hhi_wgi_t_global"] for r in rows]
    assert blocks == sorted(blocks, reverse=True)


def test_nir_view_json_usa_and_another_country() -> None:
    usa = _json(["assess", "--view", "nir", "--minerals", "feldspar,copper", "--json"])
    salient = {r["mineral"]: r for r in usa if r["method"] == "usgs_salient"}
    assert salient["feldspar"]["published_nir"] == "25" and salient["feldspar"]["matches_usgs"]
    trade = [r for r in usa if r["method"] == "production_plus_trade"]
    assert {(r["mineral"], r["stage"]) for r in trade} == {
        ("feldspar", "mine"),
        ("copper", "mine"),
        ("copper", "refine"),
    }
    assert all(r["nir"] is not None or r["reason"] for r in usa)
    aus = _json(
        ["assess", "--view", "nir", "--country", "AUS", "--minerals", "manganese", "--json"]
    )
    assert [r["method"] for r in aus] == ["production_plus_trade"]
    assert aus[0]["nir_text"] == "E"


def test_nir_view_table() -> None:
    res = runner.invoke(app, ["assess", "--view", "nir", "--minerals", "lithium"])
    assert res.exit_code == 0, res.output
    assert ">50" in res.output and "withheld" in res.output
    assert "no USGS refine production" in res.output
