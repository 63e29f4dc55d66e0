"""The warnings of a run reach the files the user keeps, not the terminal alone.

- Every CSV output has the run's warnings: ``warnings.csv`` (``where,warning``) in the folder of
  ``critmin simulate --csv`` and ``critmin paths --csv``, ``<name>.warnings.csv`` beside the one
  file of ``critmin sweep --csv`` and ``critmin uncertainty --draws-out x.csv``; the header alone
  when there is no warning; written together with the tables (all or none).
- ``critmin report --draws`` on a scenario without an instrument says what the draws do with its
  ``[[disruption]]`` instead of sending it to ``critmin uncertainty``.
- ``critmin paths``: NumPy's invalid-value warning of a year whose buyers are cut off is a
  ``numerical:`` note of the JSON, the page and ``warnings.csv``, not a terminal line alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.errors import WriteFailedError
from critmin.export import write_csvs, xlsx_bytes
from critmin.note_kinds import result_warnings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE1 = REPO / "examples/01_lithium_floor_levy.toml"
BAN = REPO / "examples/02_china_bans_gallium_magnets.toml"
PATHS = REPO / "examples/paths/lithium_floor_2026_2035.toml"
runner = CliRunner()
HEADER = "where,warning"  # critmin.export.WARNING_COLUMNS


def said(text: str) -> str:
    """Terminal text without its whitespace (Rich wraps long lines, paths included)."""
    return re.sub(r"\s+", "", text)


def rows(path: Path) -> list[dict[str, str]]:
    """A warnings file's rows (its header checked)."""
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER, text
    return list(csv.DictReader(io.StringIO(text)))


NO_INSTRUMENT = """
name = "Gallium without an instrument"
[zone]
members = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]
watch = ["CHN"]
[[product]]
id = "gallium_germanium"
"""


def without_instrument(tmp_path: Path, disruption: str = "") -> Path:
    """Example 2's zone and gallium product without its ban (no instrument at all), with an
    optional ``[[disruption]]`` table (TOML text)."""
    path = tmp_path / "no_instrument.toml"
    path.write_text(NO_INSTRUMENT + disruption)
    return path


def paths_variant(tmp_path: Path, old: str, new: str) -> Path:
    """The paths example with one piece of its text replaced."""
    text = PATHS.read_text()
    assert old in text
    path = tmp_path / "paths.toml"
    path.write_text(text.replace(old, new))
    return path


# ----------------------------------------------------------------------------- simulate --csv


def test_simulate_csv_folder_has_the_workbooks_warnings(tmp_path: Path) -> None:
    scenario = without_instrument(tmp_path)
    folder = tmp_path / "csv"
    (folder).mkdir()
    res = runner.invoke(app, ["simulate", str(scenario), "--csv", str(folder), "--brief"])
    assert res.exit_code == 0, res.output
    assert "warnings.csv" in said(res.stderr)
    (row,) = rows(folder / "warnings.csv")
    assert row["where"] == "gallium_germanium"
    assert row["warning"].startswith("no effect: the scenario sets no instrument")
    # the same rows as the workbook's summary sheet
    js = runner.invoke(app, ["simulate", str(scenario), "--json"])
    data = json.loads(js.stdout)
    summary = pd.read_excel(io.BytesIO(xlsx_bytes(data)), sheet_name="summary")
    in_book = [
        (str(item).removeprefix("warning: "), value)
        for item, value in zip(summary["item"], summary["value"], strict=True)
        if str(item).startswith("warning: ")
    ]
    assert in_book == [(r["where"], r["warning"]) for r in rows(folder / "warnings.csv")]
    # the tables are those of before, unchanged in their columns
    products = pd.read_csv(folder / "products.csv")
    assert "warning" not in " ".join(products.columns)


def test_simulate_csv_without_warnings_writes_the_header_and_replaces_an_old_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "warnings.csv").write_text("where,warning\nx,an earlier run's warning\n")
    res = runner.invoke(app, ["simulate", str(EXAMPLE1), "--csv", str(folder), "--brief"])
    assert res.exit_code == 0, res.output
    assert (folder / "warnings.csv").read_text() == HEADER + "\n"


def test_write_csvs_puts_the_warnings_first(tmp_path: Path) -> None:
    """The library's CSV set has the same file, first (as the workbook's summary sheet)."""
    scenario = without_instrument(tmp_path)
    data = json.loads(runner.invoke(app, ["simulate", str(scenario), "--json"]).stdout)
    paths = write_csvs(data, tmp_path / "lib")
    assert paths[0].name == "warnings.csv"
    assert [r["warning"] for r in rows(paths[0])] == [w["text"] for w in result_warnings(data)]


def test_warning_text_that_looks_like_a_formula_is_quoted_in_csv() -> None:
    from critmin.export import warnings_csv

    text = warnings_csv([("=cmd", "+1 is not a formula")])
    assert text.splitlines() == [HEADER, "'=cmd,'+1 is not a formula"]


# ----------------------------------------------------------------------------- sweep --csv


def test_sweep_csv_has_its_warnings_beside_it(tmp_path: Path) -> None:
    table = tmp_path / "out" / "floor.csv"
    args = ["sweep", str(EXAMPLE1), "-p", "policy[0].price_usd_per_t"]
    res = runner.invoke(app, [*args, "--values", "1000,1000,20000", "--csv", str(table)])
    assert res.exit_code == 0, res.output
    assert said(f"{table.parent / 'floor.warnings.csv'}") in said(res.stderr)
    got = rows(table.parent / "floor.warnings.csv")
    assert got[0] == {
        "where": "",
        "warning": "the values repeat (1000): those points give the same figures",
    }
    assert got[1]["where"] == "lithium_carbonate"
    assert got[1]["warning"].startswith("may have no effect: policy[0] (price_floor)")
    assert got[1]["warning"].endswith("(at 1000, 1000)")
    # the table itself keeps its columns, each header with its unit (shares are fractions)
    columns = list(pd.read_csv(table).columns)
    assert columns[:2] == ["policy[0].price_usd_per_t", "converged"]
    assert "self sufficiency (fraction 0-1)" in columns
    assert "watch share baseline (fraction 0-1)" in columns
    assert "zone consumer price change (%)" in columns
    assert "zone welfare change (USD)" in columns


def test_sweep_csv_warnings_path_is_checked_before_the_work(tmp_path: Path) -> None:
    table = tmp_path / "floor.csv"
    table.write_text("the user's table")
    (tmp_path / "floor.warnings.csv").mkdir()
    args = ["sweep", str(EXAMPLE1), "-p", "policy[0].price_usd_per_t", "--values", "1e4,2e4"]
    res = runner.invoke(app, [*args, "--csv", str(table)])
    assert res.exit_code == 2, res.output
    assert said(f"--csv {tmp_path / 'floor.warnings.csv'} is a folder") in said(res.stderr)
    assert table.read_text() == "the user's table"


# ----------------------------------------------------------------------------- uncertainty


def test_uncertainty_draws_csv_has_its_warnings_beside_it(tmp_path: Path) -> None:
    scenario = without_instrument(
        tmp_path, '[[disruption]]\nexporters = ["CHN"]\nprobability = 0.0\n'
    )
    draws = tmp_path / "draws.csv"
    res = runner.invoke(
        app, ["uncertainty", str(scenario), "-n", "4", "--workers", "1", "--draws-out", str(draws)]
    )
    assert res.exit_code == 0, res.output
    got = rows(tmp_path / "draws.warnings.csv")
    assert {
        "where": "",
        "warning": "no effect: disruption[0] has probability 0: no draw fires it",
    } in got
    assert len(pd.read_csv(draws)) == 4
    # a Parquet file gets none (a CSV's companion): no stray file
    runner.invoke(
        app, ["uncertainty", str(scenario), "-n", "4", "--draws-out", str(tmp_path / "d.parquet")]
    )
    assert not (tmp_path / "d.warnings.csv").exists()


def test_placed_splits_a_product_warning() -> None:
    from critmin.note_kinds import placed

    assert placed("lithium: no effect: x", ["li", "lithium"]) == ("lithium", "no effect: x")
    assert placed("no effect: disruption[0]: y", ["lithium"]) == ("", "no effect: disruption[0]: y")


def test_simulate_writes_json_workbook_and_tables_all_or_none(tmp_path: Path) -> None:
    """A table that cannot be written (a folder in its place) fails the command and leaves the
    earlier run's JSON and workbook as they were, not new ones beside old tables."""
    folder = tmp_path / "csv"
    (folder / "flows.csv").mkdir(parents=True)
    (folder / "warnings.csv").write_text("old warnings")
    old = {tmp_path / "run.json": "old json", tmp_path / "run.xlsx": "old workbook"}
    for path, text in old.items():
        path.write_text(text)
    args = ["simulate", str(EXAMPLE1), "--out", str(tmp_path / "run.json")]
    args += ["--xlsx", str(tmp_path / "run.xlsx"), "--csv", str(folder), "--brief"]
    res = runner.invoke(app, args)
    assert res.exit_code != 0
    assert "flows.csv" in said(res.stderr)
    for path, text in old.items():
        assert path.read_text() == text
    assert (folder / "warnings.csv").read_text() == "old warnings"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csv", "run.json", "run.xlsx"]


def test_files_written_together_are_all_or_none(tmp_path: Path) -> None:
    """A writer that fails (pandas' own error, after the first file is done) leaves every
    file as it was and no temporary file."""
    from critmin.util import write_files_together

    (tmp_path / "draws.csv").write_text("old draws")

    def broken(f: Any) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(WriteFailedError, match=r"draws\.warnings\.csv"):
        write_files_together(
            {
                tmp_path / "draws.csv": lambda f: f.write(b"new draws"),
                tmp_path / "draws.warnings.csv": broken,
            }
        )
    assert (tmp_path / "draws.csv").read_text() == "old draws"
    assert [p.name for p in tmp_path.iterdir()] == ["draws.csv"]


# ----------------------------------------------------------------------------- report --draws


def test_report_draws_without_instrument_says_what_the_draws_do(tmp_path: Path) -> None:
    scenario = without_instrument(
        tmp_path, '[[disruption]]\nexporters = ["CHN"]\nprobability = 0.3\n'
    )
    page = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(scenario), "--draws", "8", "-o", str(page)])
    assert res.exit_code == 0, res.output
    terminal = said(res.stderr)
    assert said("switch its [[disruption]] events on at random") in terminal, res.stderr
    assert said("tables for other commands: [[disruption]]") not in terminal
    assert said("simulate shows its baseline") not in terminal
    html = page.read_text()
    assert "switch its [[disruption]] events on at random" in html
    assert "[[disruption]] (critmin uncertainty" not in html


def test_no_instrument_note_with_draws() -> None:
    from critmin.scenario import Scenario
    from critmin.scenario.no_effect import no_instrument_notes

    data = tomllib.loads(BAN.read_text())
    del data["policy"]
    data["disruption"] = [{"exporters": ["CHN"], "probability": 0.1}]
    data["paths"] = {"product": "gallium_germanium", "floor_usd_per_t": 1e6}
    sc = Scenario.from_dict(data)
    (alone,) = no_instrument_notes(sc)
    assert "tables for other commands: [[disruption]] (critmin uncertainty, critmin paths)" in alone
    (drawn,) = no_instrument_notes(sc, drawn=True)
    assert drawn.startswith("no effect: the scenario sets no instrument")
    assert "the Monte Carlo draws (--draws) switch its [[disruption]] events on" in drawn
    assert drawn.endswith("; tables for other commands: [paths] (critmin paths)")
    del data["disruption"]
    (quiet,) = no_instrument_notes(Scenario.from_dict(data), drawn=True)
    assert "every change is 0, in the Monte Carlo draws (--draws) too" in quiet


# ----------------------------------------------------------------------------- paths


def test_paths_numerical_warning_reaches_json_page_and_csv(tmp_path: Path) -> None:
    """A ban of every exporter on the zone every year: the buyers' surplus is ``inf - inf``
    (NumPy: invalid value encountered in subtract), a terminal line alone before."""
    scenario = paths_variant(
        tmp_path,
        'exporters = ["CHN"]\nimporters = "members"\nprobability = 0.1',
        'exporters = "all"\nimporters = "members"\nprobability = 1.0',
    )
    page, folder = tmp_path / "p.html", tmp_path / "csv"
    args = ["paths", str(scenario), "--years", "2025-2027", "--draws", "0", "--no-progress"]
    res = runner.invoke(app, [*args, "--json", "--html", str(page), "--csv", str(folder)])
    assert res.exit_code == 0, res.output
    numerical = (
        "numerical: invalid value encountered in subtract in the paths' accounts: the "
        "figures concerned are undefined and left out (null)"
    )
    assert numerical in json.loads(res.stdout)["notes"]
    assert "numerical warning:" not in res.stderr  # said once, as the other warnings
    box = re.search(r'id="result-warnings".*?</section>', page.read_text(), re.S)
    assert box is not None and "invalid value encountered in subtract" in box.group(0)
    got = rows(folder / "warnings.csv")
    assert {"where": "lithium_carbonate", "warning": numerical} in got
    assert any(r["warning"].startswith("cut off: disruption[0]") for r in got)
    assert sorted(p.name for p in folder.iterdir()) == [
        "mechanisms.csv",
        "npv.csv",
        "stages.csv",
        "warnings.csv",
    ]


def test_paths_csv_without_warnings_has_the_header(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    (folder).mkdir()
    (folder / "warnings.csv").write_text("where,warning\nx,an earlier run's warning\n")
    args = ["paths", str(PATHS), "--years", "2025-2027", "--draws", "0", "--no-progress"]
    res = runner.invoke(app, [*args, "--json", "--csv", str(folder)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["notes"] == []
    assert (folder / "warnings.csv").read_text() == HEADER + "\n"
