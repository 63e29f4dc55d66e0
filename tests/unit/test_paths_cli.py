"""``critmin paths`` on the command line: JSON, CSV and HTML outputs; bad input exits 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.figures.paths import paths_figures

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "paths" / "lithium_floor_2026_2035.toml"
)


def test_json_csv_and_html(tmp_path: Path) -> None:
    html = tmp_path / "paths.html"
    res = runner.invoke(
        app,
        [
            "paths", str(EXAMPLE), "--years", "2025-2029", "--draws", "3", "--json",
            "--csv", str(tmp_path / "csv"), "--html", str(html), "--no-progress",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [y["year"] for y in data["years"]] == list(range(2025, 2030))
    assert set(data["mechanisms"]) == {"variable_levy", "producer_subsidy", "price_gap", "offtake"}
    levy = data["mechanisms"]["variable_levy"]
    assert levy["npv"]["fiscal_cost_usd"]["expected"] == 0.0
    assert levy["who_pays"]["zone_buyers_usd"] > 0  # a levy floor: zone buyers pay
    cfd = data["mechanisms"]["producer_subsidy"]
    assert cfd["who_pays"]["taxpayers_usd"] > 0  # a CfD: taxpayers pay
    stage = data["years"][1]["mechanisms"]["offtake"]["stages"]["lithium_carbonate"]
    assert stage["price_usd_per_t"] > 0 and stage["supply_t"] > 0
    assert data["facts"]["shock_fit"]["source"].startswith("USGS")
    for name in ("mechanisms.csv", "npv.csv", "stages.csv"):
        assert (tmp_path / "csv" / name).stat().st_size > 100
    # each NPV row says how it was discounted (the terminal's "NPV at 3.0%"), and its
    # expected value is the JSON's
    with (tmp_path / "csv" / "npv.csv").open(newline="") as f:
        npv_rows = list(csv.DictReader(f))
    fiscal = next(
        r
        for r in npv_rows
        if r["mechanism"] == "producer_subsidy" and r["measure"] == "fiscal_cost_usd"
    )
    assert float(fiscal["discount_rate"]) == data["settings"]["discount_rate"]
    assert int(fiscal["discounted_to"]) == 2025
    assert float(fiscal["expected"]) == pytest.approx(cfd["npv"]["fiscal_cost_usd"]["expected"])
    # no "-0.0" cells (a levy's fiscal cost of nothing, negated, was written so)
    for name in ("mechanisms.csv", "npv.csv", "stages.csv"):
        with (tmp_path / "csv" / name).open(newline="") as f:
            assert "-0.0" not in {cell for row in csv.reader(f) for cell in row}, name
    page = html.read_text(encoding="utf-8")
    assert "Who pays" in page and 'src="http' not in page
    figs = paths_figures(data)
    assert set(figs) == {"price-fan", "fiscal-fan", "who-pays"}
    assert len(figs["who-pays"]["data"]) == 4


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--years", "2035-2025"], "years"),
        (["--years", "soon"], "years"),
        (["--scheduler", "not an address"], "scheduler"),
    ],
)
def test_bad_input_exits_2(args: list[str], needle: str) -> None:
    res = runner.invoke(app, ["paths", str(EXAMPLE), "--draws", "0", *args])
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert "Traceback" not in res.output


def test_a_scenario_without_paths_table_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(
        'name = "x"\n[zone]\nmembers = ["USA"]\n[[product]]\nid = "lithium_carbonate"\n',
        encoding="utf-8",
    )
    res = runner.invoke(app, ["paths", str(f)])
    assert res.exit_code == 2 and "[paths]" in res.output


def test_draws_whose_results_would_not_fit_in_memory_are_refused_up_front(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """10^6 draws of a decade (within the option's bound) need about 20 GB for their
    results: refused before any year is solved, with the most that fit."""
    import critmin.util
    from critmin.errors import CritminError
    from critmin.paths import run_paths

    monkeypatch.setattr(critmin.util, "physical_memory", lambda: 64 * 2**20)  # 64 MiB
    example = Path(__file__).resolve().parents[2] / "examples/paths/lithium_floor_2026_2035.toml"
    with pytest.raises(CritminError, match=r"2,000 draws of 11 years and 4 mechanism") as e:
        run_paths(example, draws=2_000)
    assert "use at most 1,525 draws" in str(e.value)


def test_the_central_path_alone_is_called_so() -> None:
    """``-n 0`` solves the central path alone: the title said "0 draws" and the table's
    constant column "draws = 1"."""
    res = CliRunner().invoke(app, ["paths", str(EXAMPLE), "-n", "0", "--years", "2025-2026"])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.stdout.split())
    assert "the central path only (no draws)" in flat and "draws = 1" not in flat


def test_notes_that_warn_print_as_warnings(tmp_path: Path) -> None:
    """A ``no effect:`` or ``left out:`` note prints as a warning (every note was a
    ``note:``, so a policy the paths leave out went unseen among the information)."""
    text = EXAMPLE.read_text() + (
        '\n[[policy]]\ntype = "export_licensing"\nexporters = ["CHL"]\ngrant_share = 0.5\n'
    )
    text = text.replace("offtake_budget_usd = 1e10", "offtake_budget_usd = 0")
    path = tmp_path / "left_out.toml"
    path.write_text(text)
    res = runner.invoke(
        app, ["paths", str(path), "--years", "2025-2027", "--draws", "0", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert "warning: left out: policy[0] (export_licensing)" in " ".join(res.stderr.split())
    assert "warning: no effect: paths.offtake_budget_usd = 0" in " ".join(res.stderr.split())
    assert "note: left out" not in res.stderr


def test_the_scenarios_own_extreme_results_are_warnings_in_text_and_json(tmp_path: Path) -> None:
    """The lithium example with a producer subsidy of its own at USD 1e8/t: the text output
    and ``--json`` carry simulate's ``extreme:`` warnings once (the paths printed none)."""
    text = EXAMPLE.read_text().replace(
        "[[disruption]]",
        '[[policy]]\ntype = "price_floor"\nmechanism = "producer_subsidy"\n'
        "price_usd_per_t = 1e8\n\n[[disruption]]",
    )
    path = tmp_path / "subsidy.toml"
    path.write_text(text)
    args = ["paths", str(path), "--years", "2025-2026", "--draws", "0", "--no-progress"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    flat = " ".join(res.stderr.split())
    assert flat.count("warning: extreme: lithium_carbonate under the scenario's own") == 2
    assert "the output of CZE grows 987-fold" in flat
    notes = json.loads(runner.invoke(app, [*args, "--json"]).stdout)["notes"]
    extreme = [n for n in notes if n.startswith("extreme: lithium_carbonate under")]
    assert len(extreme) == 2 and "the consumer price of ROU falls 100.0%" in extreme[0]


def test_a_mechanism_without_a_converged_draw_exits_1(tmp_path: Path) -> None:
    """The cobalt chain under a producer subsidy of USD 30,000/t does not converge in some
    years of its central path (docs/performance.md, session 18: subsidies on an input-linked
    stage): the mechanism has no figures at all. The table and the warnings are printed and
    the command exits 1, as ``simulate`` does when a product does not converge (it exited 0)."""
    text = (
        Path(__file__).resolve().parents[2] / "examples/chains/cobalt_drc_quota.toml"
    ).read_text()
    text += '\n[paths]\nfloor_usd_per_t = 30000\nyears = "2024-2031"\n'
    text += 'mechanisms = ["producer_subsidy", "variable_levy"]\n'
    path = tmp_path / "cobalt.toml"
    path.write_text(text)
    res = runner.invoke(app, ["paths", str(path), "--draws", "0", "--no-progress"])
    flat = " ".join(res.stderr.split())
    assert res.exit_code == 1, res.output
    assert "warning: numerical: producer_subsidy: 1 of 1 draw(s) did not converge" in flat
    assert "producer_subsidy: no draw converged, so it has no figures" in flat
    assert "variable_levy" in res.stdout  # the mechanisms that converged are still shown


def test_the_html_page_shows_its_warnings_first(tmp_path: Path) -> None:
    """``critmin paths --html`` listed its warnings (here an offtake without a budget, which
    buys nothing) among the plain notes at the page's end; they are now in a yellow box above
    the tables, as on the dashboard, and the notes keep the rest."""
    from html import unescape

    text = EXAMPLE.read_text(encoding="utf-8")
    source = tmp_path / "s.toml"
    source.write_text(text.replace("offtake_budget_usd = 1e10", "offtake_budget_usd = 0"))
    html = tmp_path / "paths.html"
    argv = ["paths", str(source), "--years", "2025-2027", "--draws", "0", "--html", str(html)]
    res = runner.invoke(app, [*argv, "--no-progress"])
    assert res.exit_code == 0, res.output
    page = unescape(html.read_text(encoding="utf-8"))
    box = page.split('id="result-warnings"')[1].split("</section>")[0]
    assert "no effect:" in box and "offtake" in box, box
    notes = page.split("<h2>Notes</h2>")[1].split("</section>")[0]
    assert "no effect:" not in notes and "Demand growth" in notes


def test_a_product_that_is_also_a_catalog_chain_stage_carries_the_floor(tmp_path: Path) -> None:
    """A ``[[product]]`` that is also a stage of a catalog ``[[chain]]`` is that stage's
    settings (simulate shows the chain's stage under its id): naming it in ``paths.product``
    was refused as ambiguous ("several markets could carry the floor (lithium,
    lithium_carbonate)"), and no name could pick either; the floor now sits on the chain's
    refining stage, as when the stage is named."""
    head = (
        'name = "product and chain"\n[zone]\nmembers = ["USA", "CAN", "AUS", "JPN", "KOR", '
        '"EU27"]\n[[product]]\nid = "lithium_carbonate"\nsigma = 3.0\n[[chain]]\nid = "lithium"\n'
        "[paths]\nfloor_usd_per_t = 15000\n"
    )
    out = {}
    for target in ("lithium_carbonate", "refine"):
        path = tmp_path / f"{target}.toml"
        path.write_text(head + f'product = "{target}"\n')
        res = runner.invoke(
            app,
            ["paths", str(path), "--years", "2024-2026", "--draws", "0", "--json", "--no-progress"],
        )
        assert res.exit_code == 0, res.output
        out[target] = json.loads(res.stdout)
    assert out["lithium_carbonate"]["mechanisms"] == out["refine"]["mechanisms"]


def test_supply_that_runs_away_from_the_path_without_a_floor_is_an_extreme_warning(
    tmp_path: Path,
) -> None:
    """A producer subsidy 4% above the baseline for 60 years (no growth, no shocks) put
    lithium carbonate's supply at over a thousand times the path without a floor and its
    fiscal cost at tens of trillions of USD, without a word (the capacity rule compounds the
    price gap every year); the run now warns, naming the mechanism, stage and first year
    past ten times. The bundled examples' paths give no such warning."""
    from critmin.paths.run import runaway_supply

    path = tmp_path / "long.toml"
    path.write_text(
        'name = "sixty years"\n[zone]\nmembers = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]\n'
        '[[product]]\nid = "lithium_carbonate"\n[paths]\nfloor_usd_per_t = 15000\n'
        'years = "2024-2083"\nstart_year = 2024\ndraws = 0\ndemand_growth = false\n'
        'shocks = false\nmechanisms = ["variable_levy", "producer_subsidy"]\n'
    )
    res = runner.invoke(app, ["paths", str(path), "--json", "--no-progress"])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.stderr.split())
    assert "warning: extreme: paths mechanism producer_subsidy: supply at lithium_carbonate" in flat
    assert "extreme: paths mechanism variable_levy" not in flat  # buyers pay: no runaway
    for example in sorted((EXAMPLES / "paths").glob("*.toml")):
        res = runner.invoke(app, ["paths", str(example), "--draws", "0", "--no-progress"])
        assert res.exit_code == 0 and "extreme" not in res.stderr, (example, res.stderr)
    # the bound itself, on made-up paths of two stages over three years
    none = {"stage_supply_t": np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 0.0]])}
    fine = {"stage_supply_t": np.array([[1.0, 2.0], [11.0, 2.0], [11.0, 5.0]])}
    away = {"stage_supply_t": np.array([[1.0, 2.0], [1.0, 23.0], [12.0, 30.0]])}
    notes = runaway_supply({"none": none, "a": fine, "b": away}, [2030, 2031, 2032], ["x", "y"])
    assert len(notes) == 1 and notes[0].startswith(
        "extreme: paths mechanism b: supply at y in 2031 is 12 times"
    ), notes
