"""The terminal presentation: the summary answers first and totals several products; the assess
table fits 100 columns; the export and sweep commands."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from critmin.cli import app
from critmin.narrative import headline
from critmin.numbers import pct
from critmin.simulation import simulate
from critmin.summary import fit_columns, print_summary, table_width

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def render(data: dict[str, Any], **kwargs: Any) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    print_summary(console, data, **kwargs)
    return console.export_text()


@pytest.fixture(scope="module")
def example2() -> dict[str, Any]:
    return simulate(EXAMPLES / "02_china_bans_gallium_magnets.toml").to_dict()


def test_summary_answers_first_and_totals_products(example2: dict[str, Any]) -> None:
    text = render(example2)
    lines = text.splitlines()
    # the written answer comes right after the title and the units line, before any table
    first = next(k for k, line in enumerate(lines) if line.startswith("Under “China bans"))
    assert first <= 4 and text.index("Under “China bans") < text.index("Key figures")
    assert "Units: % for shares and changes" in text
    assert "2 products, largest zone price change first" in text
    total = next(line for line in lines if "all products" in line)
    zone_price = headline(example2).figure("zone_consumer_price_change_pct").value
    assert pct(zone_price, 1) in total
    # the products are sorted by the size of the zone price change
    magnets, gallium = text.index("permanent_magnets"), text.index("gallium_germanium")
    assert magnets < gallium
    assert max(len(line) for line in lines) <= 100
    assert "Trade diversion" in text  # detail shown for up to three products
    assert "Trade diversion" not in render(example2, detail=False)


def test_summary_of_one_product_explains_dashes() -> None:
    data = simulate(EXAMPLES / "01_lithium_floor_levy.toml").to_dict()
    text = render(data, top=40)
    assert "-: not defined: a producer price needs baseline sales" in text
    assert "#" not in text.replace("# ", "")


def test_fit_columns_hides_the_least_important() -> None:
    frame = pd.DataFrame(
        {
            "mineral": ["gallium", "cobalt"],
            "stage": ["refine", "mine"],
            "HHI": [9789, 5750],
            "GPR": [0.25, 0.1],
            "top outside": ["CHN, GBR, TWN", "COD, IDN, RUS"],
            "year": [2024, 2024],
        }
    )
    shown, hidden = fit_columns(frame, 40)
    assert hidden == ["GPR", "top outside"]
    assert list(shown.columns) == ["mineral", "stage", "HHI", "year"]
    assert table_width(shown.drop(columns=["year"])) <= 40
    assert fit_columns(frame, 200)[1] == []


def test_assess_table_fits_100_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(width=100, record=True, file=io.StringIO())
    for module in ("critmin.cli.app", "critmin.cli.assess"):
        monkeypatch.setattr(sys.modules[module], "out", console)
    args = ["assess", "--members", "USA,CAN,AUS,JPN,KOR,EU27", "--watch", "CHN"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "self-suff. %" in text and "hidden to fit 100 columns" in text
    console = Console(width=100, record=True, file=io.StringIO())
    for module in ("critmin.cli.app", "critmin.cli.assess"):
        monkeypatch.setattr(sys.modules[module], "out", console)
    res = CliRunner().invoke(app, [*args, "--wide"])
    assert res.exit_code == 0
    assert "GPR" in console.export_text() and "hidden" not in console.export_text()


def test_simulate_writes_excel_and_csv(tmp_path: Path) -> None:
    xlsx, folder = tmp_path / "run.xlsx", tmp_path / "csv"
    res = CliRunner().invoke(
        app,
        [
            "simulate",
            str(EXAMPLES / "01_lithium_floor_levy.toml"),
            "--json",
            "--xlsx",
            str(xlsx),
            "--csv",
            str(folder),
        ],
    )
    assert res.exit_code == 0, res.output
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert {"summary", "countries", "flows", "welfare", "key_figures"} <= set(sheets)
    assert (folder / "flows.csv").exists()
    countries = pd.read_csv(folder / "countries.csv")
    assert "consumer price change (%)" in countries.columns


def test_sweep_command(tmp_path: Path) -> None:
    page, table = tmp_path / "s.html", tmp_path / "s.csv"
    scenario = str(EXAMPLES / "01_lithium_floor_levy.toml")
    res = CliRunner().invoke(
        app,
        [
            "sweep",
            scenario,
            "--param",
            "policy[0].price_usd_per_t",
            "--values",
            "12000,16000",
            "-o",
            str(page),
            "--csv",
            str(table),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout[res.stdout.index("{") :].split("\nwrote")[0])
    assert [p["value"] for p in data["points"]] == [12000.0, 16000.0]
    assert data["label"] == "price floor (USD/t)"
    assert "chart-sweep" in page.read_text(encoding="utf-8")
    assert 'id="result-warnings"' not in page.read_text(encoding="utf-8")  # none to give
    assert len(pd.read_csv(table)) == 2
    bad = CliRunner().invoke(app, ["sweep", scenario, "--param", "policy[0].price_usd_per_t"])
    assert bad.exit_code == 2 and "--from and --to" in bad.output
    bad = CliRunner().invoke(
        app, ["sweep", scenario, "--param", "policy[5].rate", "--values", "0.1"]
    )
    assert bad.exit_code == 2 and "no policy[5]" in bad.output
    assert "policy[0].price_usd_per_t" in CliRunner().invoke(app, ["sweep", "--help"]).output
    argv = ["sweep", scenario, "--param", "policy[0].price_usd_per_t", "--values", "100,16000"]
    low = CliRunner().invoke(app, [*argv, "-o", str(page)])
    assert low.exit_code == 0, low.output
    assert "warning:" in low.output and "policy[0] (price_floor)" in low.output
    assert "(at 100)" in " ".join(low.output.split())
    # the page says it too, above the chart (it had no warning at all)
    html = page.read_text(encoding="utf-8")
    box = html.split('id="result-warnings"')[1].split("</section>")[0]
    assert "may have no effect" in box and "(at 100)" in box
    bad = CliRunner().invoke(
        app, ["sweep", scenario, "--param", "policy[0].price_usd_per_t", "--values", "-5"]
    )
    assert bad.exit_code == 2 and "sweep value -5" in bad.output


def test_a_sweep_without_out_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--out`` no page is written (a sweep.html of the user's in the current folder
    was overwritten by the old default); the command says how to get one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sweep.html").write_text("mine", encoding="utf-8")
    argv = [
        "sweep",
        str(EXAMPLES / "01_lithium_floor_levy.toml"),
        "-p",
        "policy[0].price_usd_per_t",
    ]
    res = CliRunner().invoke(app, [*argv, "--values", "12000,16000"])
    assert res.exit_code == 0, res.output
    assert "--out FILE.html writes the chart" in res.output and "wrote" not in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.html"]
    assert (tmp_path / "sweep.html").read_text(encoding="utf-8") == "mine"


def test_solver_messages_name_countries_by_iso3() -> None:
    """Resolved markets carry the country codes, so solver messages never say '#109'."""
    from critmin.scenario import load_scenario
    from critmin.scenario.resolution import resolve

    _, resolved = resolve(load_scenario(EXAMPLES / "03_drc_cobalt_quota.toml"), None)
    market = resolved[0].market
    codes = resolved[0].baseline.countries
    assert [market.label(k) for k in range(market.n)] == list(codes)
    assert "COD" in codes


def test_a_small_share_change_is_not_printed_as_none() -> None:
    # example 3 moves zone self-sufficiency 94.52% -> 94.50%: the answer says it falls, and the
    # product's line said "94.5% -> 94.5%"
    data = simulate(EXAMPLES / "03_drc_cobalt_quota.toml").to_dict()
    text = render(data)
    assert "falls from 94.52% to 94.50%" in text
    assert "Zone self-sufficiency 94.52% -> 94.50%" in text
    assert "94.5% -> 94.5%" not in text


def test_the_welfare_line_adds_up_as_printed() -> None:
    """The total and its parts in one unit: the printed parts add up to the printed total
    within one unit of the last digit (each rounded once)."""
    from critmin.numbers import usd_terms

    parts = [673_912.0, 3_834_310.0, 0.0, 0.0]
    cost = 4_950_870.0
    total = sum(parts) - cost
    texts = usd_terms([total, *parts, cost])
    assert texts[0] == "-0.443 m" and texts[1] == "+0.674 m" and texts[-1] == "+4.951 m"
    value = [0.0 if t == "0" else float(t.removesuffix(" m")) for t in texts]
    assert abs(value[0] - (sum(value[1:-1]) - value[-1])) <= 0.0015
    assert usd_terms([None, 5.0]) == ["-", "+5"] and usd_terms([2.4e9, 1e6]) == [
        "+2.400 bn",
        "+0.001 bn",
    ]


def test_a_warning_of_several_products_is_one_line_naming_them() -> None:
    """The brief summary printed a scenario-wide warning once per product (30 identical lines
    for a scenario without an instrument over the 30 bundled products); each distinct warning
    is now one line naming the products that give it, "every product" when all of several do."""
    from critmin.summary import shared_warnings

    idle = "no effect: the scenario sets no instrument"
    cut = "cut off: buyers without a supplier"
    note = "data: a note, not a warning"
    products = {f"p{k}": {"notes": [idle] + ([cut] if k < 2 else []) + [note]} for k in range(7)}
    assert shared_warnings(products) == {idle: "every product", cut: "p0, p1"}
    products["p6"]["notes"] = [cut]
    assert shared_warnings(products)[idle] == "p0, p1, p2, p3, p4, p5"
    assert shared_warnings({"only": {"notes": [idle, idle]}}) == {idle: "only"}
    many = {f"q{k}": {"notes": [cut] if k < 9 else []} for k in range(10)}
    assert shared_warnings(many)[cut] == "q0, q1, q2, q3, q4, q5 and 3 more"


def test_a_sweeps_warning_of_several_products_is_given_once() -> None:
    """A sweep gave a warning once per product (30 times over the bundled products for a
    scenario without an instrument), in the CLI, /api/sweep and the sweep page; it is one
    warning naming "every product", as simulate's summary and the results pages give it."""
    from critmin.sweep import run_sweep

    scenario = {
        "name": "no instrument",
        "zone": {"members": ["USA", "EU27"]},
        "product": [{"id": "lithium_carbonate"}, {"id": "cobalt_oxides"}],
    }
    warnings = run_sweep(scenario, "defaults.sigma", [3.0, 6.0]).warnings
    idle = [w for w in warnings if "sets no instrument" in w]
    assert len(idle) == 1 and idle[0].startswith("every product: no effect: the scenario sets")
    assert idle[0].endswith("(at every point)"), idle
