"""The ``critmin data`` commands, end to end through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.world import REFERENCE_DIR

runner = CliRunner()


def test_show_production_lithium_2024_names_editions() -> None:
    res = runner.invoke(
        app, ["data", "show", "production", "--mineral", "lithium", "--year", "2024"]
    )
    assert res.exit_code == 0, res.output
    for name in ("Australia", "Chile", "China", "Argentina"):
        assert name in res.output
    assert "82,700" in res.output and "MCS2025: 88,000 (est.)" in res.output
    assert "MCS2026" in res.output and "contained" in res.output


def test_show_json_is_parseable_and_ordered() -> None:
    res = runner.invoke(
        app, ["data", "show", "production", "--mineral", "lithium", "--year", "2024", "--json"]
    )
    rows = json.loads(res.stdout)
    named = [r for r in rows if r["country"] not in ("WLD", "OTH")]
    assert named[0]["country"] == "AUS" and named[0]["value_t"] == 82700
    assert all(r["edition"] == "MCS2026" for r in rows)


def test_show_flows_csv_filters() -> None:
    res = runner.invoke(
        app,
        [
            "data",
            "show",
            "flows",
            "--product",
            "lithium_carbonate",
            "--exporter",
            "CHL",
            "--importer",
            "KOR",
            "--csv",
        ],
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("year,hs6,product_id,exporter,importer,value_usd")
    assert len(lines) == 2 and ",CHL,KOR," in lines[1]


def test_list_and_sources() -> None:
    res = runner.invoke(app, ["data", "list", "--json"])
    info = json.loads(res.stdout)
    assert "lithium_carbonate" in [p["product_id"] for p in info["products"]]
    assert info["trade_years"] == [2022, 2024] and "MSP" in info["groups"]
    res = runner.invoke(app, ["data", "sources"])
    assert res.exit_code == 0 and "doi.org/10.5066/P1WKQ63T" in res.output and "CEPII" in res.output


def test_bad_input_is_one_clear_message() -> None:
    for args, needle in (
        (["data", "show", "nonsense"], "unknown table"),
        (["data", "show", "production", "--mineral", "lithum"], "did you mean lithium"),
        (["data", "show", "production", "--year", "1990"], "no supply figures for 1990"),
        (["data", "show", "flows", "--exporter", "ZZZ"], "unknown country or group 'ZZZ'"),
        (["data", "show", "flows", "--stage", "mine"], "cannot be filtered by stage"),
        (["data", "show", "wgi", "--mineral", "lithium"], "its filters: year, country"),
        (["data", "show", "production", "--stage", "foo"], "unknown stage 'foo'"),
        (["data", "show", "eu_supply_shares", "--stage", "mine"], "stages in it: E, P"),
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert needle in res.output, (args, res.output)
        assert "Traceback" not in res.output


def test_filters_that_apply_still_filter() -> None:
    from critmin.assessment.tables import show_table

    df, _ = show_table("estimate_balance", product="lithium_ores")
    assert len(df) > 0 and set(df["product_id"]) == {"lithium_ores"}
    df, _ = show_table("production", stage="Mine", mineral="lithium")
    assert len(df) > 0 and set(df["stage"]) == {"mine"}


def test_check_passes_then_fails_on_tampered_copy(tmp_path: Path) -> None:
    res = runner.invoke(app, ["data", "check"])
    assert res.exit_code == 0, res.output
    assert "all" in res.output and "checks passed" in res.output
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    flows = pd.read_parquet(copy / "flows.parquet")
    flows = flows.iloc[1:]  # drop one flow
    flows.to_parquet(copy / "flows.parquet", index=False)
    res = runner.invoke(app, ["data", "check", "--reference", str(copy)])
    assert res.exit_code == 1
    assert "FAIL flows: sha256" in res.output and "FAIL flows: rows" in res.output


@pytest.mark.shared_data
def test_check_against_a_source_folder(shared_data: Path, tmp_path: Path) -> None:
    """The shared source folder: the BACI totals are compared and pass. A folder that is not
    one (empty, or without one of the BACI files) is a usage error naming what it lacks."""
    res = runner.invoke(app, ["data", "check", "--source", str(shared_data)])
    assert res.exit_code == 0, res.output
    assert "PASS BACI 2024 totals per HS6" in res.output and "checks passed" in res.output
    folder = tmp_path / "trade" / "critical_materials_atlas" / "baci_hs17_v202601"
    folder.mkdir(parents=True)
    (folder / "baci_2022_value_only.csv").write_text("t,i,j,k,v\n")
    for source in (tmp_path / "trade", tmp_path):
        res = runner.invoke(app, ["data", "check", "--source", str(source)])
        flat = " ".join(res.output.split())
        assert res.exit_code == 2, res.output
        assert f"--source {source} is not a source folder" in flat
        assert "baci_2024_trade_with_qty.parquet" in flat and "PASS" not in flat
        assert ("baci_2022_value_only.csv" in flat) == (source != tmp_path)


@pytest.mark.parametrize("manifest", ["{}", "[]", '{"built": "x", "tables": {"flows": {}}}'])
def test_a_manifest_without_its_tables_gets_one_message(tmp_path: Path, manifest: str) -> None:
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    (copy / "manifest.json").write_text(manifest)
    for args in (
        ["--data", str(copy), "data", "sources"],
        ["data", "check", "--reference", str(copy)],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 1, (args, res.output)
        assert "manifest.json" in res.output and "rebuild it" in res.output
        assert "internal error" not in res.output


def simulate_with_data(data: Path) -> subprocess.CompletedProcess[str]:
    """``critmin --data DATA simulate`` of example 01 in a process of its own (this one has
    the bundled dataset's world in its caches)."""
    example = Path(__file__).resolve().parents[2] / "examples" / "01_lithium_floor_levy.toml"
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("critmin")),
            "--data",
            str(data),
            "simulate",
            str(example),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("bad", [float("nan"), -1e9, float("inf")])
def test_a_dataset_with_flows_that_are_not_amounts_is_refused(tmp_path: Path, bad: float) -> None:
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    flows = pd.read_parquet(copy / "flows.parquet")
    rows = flows.index[(flows["product_id"] == "lithium_carbonate") & (flows["year"] == 2024)][:3]
    flows.loc[rows, "value_usd"] = bad
    flows.to_parquet(copy / "flows.parquet", index=False)
    res = simulate_with_data(copy)
    assert res.returncode == 1, res.stdout + res.stderr
    flat = " ".join(res.stderr.split())
    # refused when the table is read, naming its file and column (before: when the model
    # was built, naming the product); compared without spaces: the terminal may wrap the
    # long path anywhere, "flows.parquet" + newline + ": column" included
    assert "flows.parquet:column'value_usd'" in "".join(res.stderr.split()), flat
    assert "rebuild it" in flat, flat
    assert "internal error" not in flat


def test_a_damaged_groups_table_is_the_datasets_fault_not_the_scenarios(tmp_path: Path) -> None:
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    (copy / "groups.parquet").write_bytes(b"")
    res = simulate_with_data(copy)
    flat = " ".join(res.stderr.split())
    assert res.returncode == 1 and "cannot be read" in flat and "rebuild it" in flat, flat
    assert "scenario field" not in flat


def test_docs_data_md_is_generated_from_the_schema() -> None:
    res = runner.invoke(app, ["data", "schema", "--markdown"])
    doc = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(encoding="utf-8")
    assert res.stdout == doc, (
        "docs/data.md is stale: run 'make data' (critmin data schema --markdown)"
    )


def test_list_json_shows_every_chain_with_its_products_and_basis() -> None:
    res = runner.invoke(app, ["data", "list", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    chains = {c["chain"]: c for c in info["chains"]}
    assert len(chains) >= 12
    named = {"253090", "282520", "810520", "284690", "280530", "250410", "380110", "260400"}
    named |= {"750110", "750120", "260300", "260800", "281820", "261710", "261100"}
    listed = {p["hs6"]: p for c in chains.values() for s in c["steps"] for p in s["products"]}
    assert named <= set(listed)
    for p in listed.values():
        assert {"hs6", "stage", "mineral", "basis"} <= set(p)
    assert listed["253090"]["basis"] == "estimate" and listed["283691"]["basis"] == "observed"
    lithium = chains["lithium"]["steps"]
    assert [s["stage"] for s in lithium] == ["mine", "refine"]
    assert lithium[1]["input_coefficient"] == 1.15


def test_show_flows_spodumene_australia_china_is_an_estimate_within_band() -> None:
    res = runner.invoke(
        app,
        [
            "data",
            "show",
            "flows",
            "--product",
            "253090",
            "--year",
            "2024",
            "--exporter",
            "AUS",
            "--importer",
            "CHN",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert {"exporter", "importer", "value_usd", "quantity_t", "basis", "source"} <= set(row)
    assert row["basis"] == "estimate"
    assert abs(row["value_usd"] / 3.04e9 - 1) <= 0.35  # Australia reported USD 3.04 bn


def test_info_names_the_bundled_dataset() -> None:
    res = runner.invoke(app, ["data", "info", "--json"])
    info = json.loads(res.stdout)
    assert info["in_use_because"] in {"bundled", "user data folder", "CRITMIN_DATA"}
    assert "estimate" in info["flows_by_basis"] and "observed" in info["flows_by_basis"]


def _critmin_on(dataset: Path, argv: list[str]) -> tuple[subprocess.CompletedProcess[str], str]:
    """``critmin --data DATASET ARGV`` in a new process: the process and its output (stdout
    and stderr) on one line."""
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("critmin")), "--data", str(dataset), *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, " ".join((proc.stdout + proc.stderr).split())


def _damage(folder: Path, how: str) -> None:
    flows = folder / "flows.parquet"
    if how == "missing":
        flows.unlink()
    elif how == "a folder":
        flows.unlink()
        flows.mkdir()
    elif how == "truncated":
        flows.write_bytes(flows.read_bytes()[:500])
    elif how == "empty table":
        pd.read_parquet(flows).iloc[:0].to_parquet(flows)


@pytest.mark.parametrize("how", ["missing", "a folder", "truncated", "empty table"])
def test_a_damaged_flows_table_gets_a_message_from_every_data_command(
    tmp_path: Path, how: str
) -> None:
    """``data info``, ``data check`` and ``assess`` on a dataset whose flows table is missing,
    a folder, cut short or empty: one message each, never an internal error (each of these
    was one: FileNotFoundError, ArrowInvalid, IsADirectoryError, min() of no years)."""
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    _damage(copy, how)
    for argv in (["data", "info"], ["data", "check", "--reference", str(copy)], ["assess"]):
        proc, flat = _critmin_on(copy, argv)
        assert "internal error" not in flat and "Traceback" not in flat, (argv, flat[-600:])
        if argv[:2] == ["data", "check"]:
            assert proc.returncode == 1 and "FAIL" in flat, (argv, flat[-400:])
        elif argv == ["data", "info"] and how == "empty table":
            assert proc.returncode == 0 and "warning: this dataset has no trade flows" in flat
        else:
            assert proc.returncode in (1, 2) and "error:" in flat, (argv, flat[-400:])


def _rewrite_table(folder: Path, name: str, df: pd.DataFrame) -> None:
    """Write ``df`` as table ``name`` of the dataset in ``folder`` and record it in the
    manifest (a dataset consistent with its manifest, its values wrong)."""
    import hashlib

    path = folder / f"{name}.parquet"
    df.to_parquet(path, index=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["tables"][name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest["tables"][name]["rows"] = len(df)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _value_damage(df: pd.DataFrame, how: str) -> pd.DataFrame:
    df = df.copy()
    if how == "value as text":
        df["value_usd"] = df["value_usd"].astype(str)
    elif how == "year as float":
        df["year"] = df["year"].astype("float64")
    elif how == "NaN value":
        df.loc[df.index[::3], "value_usd"] = float("nan")
    elif how == "negative value":
        df["value_usd"] = -df["value_usd"]
    elif how == "infinite quantity":
        df.loc[df.index[::7], "quantity_t"] = float("inf")
    return df


@pytest.mark.parametrize(
    ("how", "needle"),
    [
        ("value as text", "column 'value_usd' holds"),
        ("year as float", "column 'year' holds double, not int"),
        ("NaN value", "column 'value_usd' has 17,746 missing values"),
        ("negative value", "values below 0"),
        ("infinite quantity", "column 'quantity_t' has 7,606 infinite values"),
    ],
)
def test_a_flows_table_of_wrong_types_or_values_is_refused_by_name(
    tmp_path: Path, how: str, needle: str
) -> None:
    """A flows table with the documented columns but a value column of text, a float year,
    NaN, negative or infinite amounts, its manifest updated to match: ``data check`` passed
    all its checks and ``assess`` printed figures from it (or an internal error, for a year
    of text); now both name the file and the column."""
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    _rewrite_table(copy, "flows", _value_damage(pd.read_parquet(copy / "flows.parquet"), how))
    for argv in (["data", "check", "--reference", str(copy)], ["assess"]):
        proc, flat = _critmin_on(copy, argv)
        assert proc.returncode == 1, (argv, flat[-600:])
        assert needle in flat and "flows" in flat, (argv, flat[-600:])
        assert "internal error" not in flat and "Traceback" not in flat, (argv, flat[-600:])
        if argv[0] == "data":
            assert "FAIL flows: types and values" in flat, flat[-600:]
        else:
            assert f"table {copy / 'flows.parquet'}" in flat, flat[-600:]


def test_check_names_estimated_flows_without_a_balance_and_an_empty_flows_table(
    tmp_path: Path,
) -> None:
    """An empty estimate_balance passed the mass-balance check (flows were compared on its
    rows only); an empty flows table (manifest updated) was an internal error in it."""
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    balance = pd.read_parquet(copy / "estimate_balance.parquet")
    _rewrite_table(copy, "estimate_balance", balance.iloc[:0])
    res = runner.invoke(app, ["data", "check", "--reference", str(copy)])
    flat = " ".join(res.output.split())
    assert res.exit_code == 1 and "have no row in estimate_balance" in flat, flat[-600:]
    _rewrite_table(copy, "estimate_balance", balance)
    _rewrite_table(copy, "flows", pd.read_parquet(copy / "flows.parquet").iloc[:0])
    res = runner.invoke(app, ["data", "check", "--reference", str(copy)])
    flat = " ".join(res.output.split())
    assert res.exit_code == 1 and "FAIL estimates: mass balance" in flat, flat[-600:]
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception


@pytest.mark.parametrize(
    ("table", "key", "value", "needle"),
    [
        ("flows", "sha256", 5, "'sha256' that is not a sha256 digest"),
        ("flows", "rows", "many", "'rows' of 'many', not a count"),
        ("flows", "file", 3, "'file' of 3, not flows.parquet"),
        ("flows", "file", "/etc/passwd", "'file' of '/etc/passwd', not flows.parquet"),
        ("supply", "provenance", "x", "'provenance' that is not a list of publications"),
        ("supply", "provenance", [1, None], "'provenance' that is not a list of publications"),
        ("supply", "transformations", 7, "'transformations' that are not a list of texts"),
        ("", "critmin_schema", 99, "dataset version 99, made by a newer critmin"),
        ("", "critmin_schema", "x", "'critmin_schema' of 'x', not a version number"),
    ],
)
def test_a_manifest_entry_of_the_wrong_type_gets_one_message(
    tmp_path: Path, table: str, key: str, value: object, needle: str
) -> None:
    """A manifest whose entries hold values of other types than the build writes: ``data
    check``, ``data info`` and ``data sources`` failed with internal errors (TypeError,
    ValueError) or hashed another file than the table's (``/etc/passwd``); a dataset of a
    newer version was read without a word."""
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    (manifest["tables"][table] if table else manifest)[key] = value
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for args in (
        ["--data", str(copy), "data", "sources"],
        ["--data", str(copy), "data", "info"],
        ["data", "check", "--reference", str(copy)],
    ):
        res = runner.invoke(app, args)
        flat = " ".join(res.output.split())
        assert res.exit_code == 1, (args, flat[-500:])
        assert needle in flat and "manifest.json" in flat, (args, flat[-500:])
        assert "internal error" not in flat, (args, flat[-500:])


def test_a_path_with_an_emoji_code_is_printed_as_it_is(tmp_path: Path) -> None:
    """Rich's emoji codes are off: a dataset folder named ``runs:loop:1`` was printed as
    ``runs➿1`` in the error message (also ``:cd:``, ``:x:`` ...), naming a path that is not
    there."""
    folder = tmp_path / "runs:loop:1"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("critmin")), "--data", str(folder), "data", "info"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert proc.returncode == 2 and "runs:loop:1" in proc.stderr, proc.stderr


def test_check_names_a_row_given_twice() -> None:
    """A governance score given twice (a user's edit; the manifest updated to match) passed
    every check; ``data check`` now fails, naming the table, how many rows repeat and the first
    repeated key. The bundled tables have one row per key (the check passes on them); trade
    flows have no key (the calibration adds up a pair standing on several rows, and a
    release built with ``data build --baci`` may list one more than once)."""
    from critmin.data.check import repeated_keys
    from critmin.data.schema import TABLES

    assert TABLES["flows"].key == () and TABLES["wgi"].key == ("country", "year", "indicator")
    for name, schema in TABLES.items():
        if schema.key:
            table = pd.read_parquet(REFERENCE_DIR / f"{name}.parquet", columns=list(schema.key))
            assert repeated_keys(table) == "", name
    wgi = pd.read_parquet(REFERENCE_DIR / "wgi.parquet")
    key = list(TABLES["wgi"].key)
    twice = pd.concat([wgi, wgi.iloc[[5, 9]]], ignore_index=True)
    first = wgi.iloc[5]
    message = repeated_keys(twice[key])
    assert message.startswith("4 rows share their key with another row"), message
    assert f"country={first['country']}, year={first['year']}" in message, message


def test_data_check_fails_on_a_score_given_twice(tmp_path: Path) -> None:
    """End to end: the damaged dataset's ``data check`` exits 1 with the failing check."""
    copy = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, copy)
    wgi = pd.read_parquet(copy / "wgi.parquet")
    _rewrite_table(copy, "wgi", pd.concat([wgi, wgi.iloc[[0]]], ignore_index=True))
    proc, flat = _critmin_on(copy, ["data", "check", "--reference", str(copy)])
    assert proc.returncode == 1, flat[-600:]
    assert "FAIL wgi: one row per country, year, indicator" in flat, flat[-600:]
    assert "2 rows share their key" in flat and "Traceback" not in flat, flat[-600:]
