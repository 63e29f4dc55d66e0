"""Linked chains outside the dashboard: the written answer (critmin.narrative), the chain
figures (critmin.figures.chains), the tidy tables and the workbook (frames, export), the
terminal summary (summary.print_chains), the report's chain section, ``critmin report`` and
``critmin sweep`` over a chain scenario.

The sentences are checked against a small hand-made chain result whose numbers are chosen so
that every stated figure is known exactly, then against a real solved chain (example
``examples/chains/lithium_floor_ore_and_refined.toml``)."""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from critmin import simulate
from critmin.errors import CritminError
from critmin.export import table_csv, write_csvs, write_xlsx
from critmin.figures import CHAIN_FIGURES, chain_figure_names, chart_id, figure
from critmin.frames import CHAIN_TABLES, TABLES, column_header, table, table_names
from critmin.narrative import chain_region_flows, chain_sentences, headline, stage_producers
from critmin.numbers import pct, share, usd
from critmin.summary import print_chains

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chains"
LITHIUM = EXAMPLE / "lithium_floor_ore_and_refined.toml"


def _flow(a: str, b: str, before: float, after: float) -> dict[str, Any]:
    return {
        "exporter": a,
        "importer": b,
        "baseline_value_usd": before,
        "value_usd": after,
        "quantity_change_pct": (after / before - 1) * 100,
        "banned": False,
    }


def _product(name: str, stage: str, flows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "hs6": "000000",
        "mineral": "testium",
        "stage": stage,
        "chain": "testium",
        "converged": True,
        "iterations": 3,
        "max_residual": 1e-13,
        "message": "converged",
        "solve_seconds": 0.001,
        "parameters": {"sigma": 4.0, "demand_elasticity": -0.5, "supply_elasticity_median": 1.0},
        "countries": {},
        "flows": flows,
        "zone": {
            "self_sufficiency_baseline": 0.5,
            "self_sufficiency": 0.6,
            "watch_share_baseline": 0.1,
            "watch_share": 0.05,
        },
        "summary": {},
        "warnings": [],
        "notes": [],
        "estimated_domestic_sales": [],
        "sources": [],
    }


def _stage(stage: str, key: str, zone_ps: float, out_ps: float, dp: float) -> dict[str, Any]:
    return {
        "stage": stage,
        "products": [key],
        "key": key,
        "link": "none" if stage == "mine" else "input",
        "input_cost_share": None if stage == "mine" else 0.4,
        "zone_price_change_pct": dp,
        "outside_price_change_pct": -dp / 10,
        "zone_producer_price_change_pct": dp / 2,
        "outside_producer_price_change_pct": -dp / 20,
        "zone_output_change_pct": 1.0,
        "outside_output_change_pct": -1.0,
        "zone_self_sufficiency_before": 0.5,
        "zone_self_sufficiency_after": 0.6,
        "watch_share_before": 0.1,
        "watch_share_after": 0.05,
        "producer_surplus_usd": {"zone": zone_ps, "outside": out_ps},
        "consumer_surplus_usd": {"zone": -2 * zone_ps, "outside": 1e6},
        "welfare_usd": {"zone": -zone_ps, "outside": out_ps + 1e6, "world": out_ps + 1e6 - zone_ps},
        "tariff_revenue_usd": 0.0,
        "subsidy_cost_usd": 0.0,
        "quota_rent_usd": 0.0,
        "non_qualifying_member_sales_usd": 0.0,
        "notes": [],
    }


@pytest.fixture()
def made() -> dict[str, Any]:
    """A two-stage chain: zone miners gain USD 10 m, zone refiners USD 30 m (75% of the zone
    producers' gain); outside miners lose USD 5 m, outside refiners USD 20 m."""
    ore = [
        _flow("AUS", "AUS", 100.0, 110.0),
        _flow("AUS", "CHN", 1000.0, 900.0),
        _flow("CHL", "USA", 50.0, 40.0),
        _flow("CHL", "CHN", 400.0, 420.0),
    ]
    refined = [_flow("USA", "USA", 300.0, 360.0), _flow("CHN", "USA", 200.0, 150.0)]
    stages = [
        _stage("mine", "t_ore", 10e6, -5e6, 4.0),
        _stage("refine", "t_refined", 30e6, -20e6, 8.0),
    ]
    captured = [
        {
            "stage": s["stage"],
            "products": s["products"],
            "zone_producers_usd": s["producer_surplus_usd"]["zone"],
            "outside_producers_usd": s["producer_surplus_usd"]["outside"],
            "share_of_zone_producer_gain": g,
        }
        for s, g in zip(stages, (0.25, 0.75), strict=True)
    ]
    return {
        "scenario": "made up",
        "year": 2024,
        "members": ["AUS", "USA"],
        "watch": ["CHN"],
        "converged": True,
        "products": {
            "t_ore": _product("Testium ore", "mine", ore),
            "t_refined": _product("Refined testium", "refine", refined),
        },
        "chains": {
            "testium": {
                "id": "testium",
                "mineral": "testium",
                "converged": True,
                "iterations": 3,
                "max_residual": 1e-13,
                "message": "converged in 3 iterations",
                "solve_seconds": 0.001,
                "countries": 4,
                "stages": stages,
                "welfare": {"zone": -40e6, "outside": -23e6, "world": -63e6},
                "captured_by_stage": captured,
                "notes": ["a chain note"],
            }
        },
    }


# ----------------------------------------------------------------------------- the words


def test_sentences_state_who_captures_the_rent_and_the_prices(made: dict[str, Any]) -> None:
    text = " ".join(chain_sentences(made, "testium"))
    assert text.startswith("In the testium chain (mine → refine, solved as one system), ")
    assert (
        "the zone's refiners capture most of the zone producers' gain: USD 30.0 m (75.0%), "
        "against USD 10.0 m (25.0%) for its miners." in text
    )
    assert "Outside the zone, miners lose USD 5.0 m and refiners lose USD 20.0 m" in text
    assert "mine +4.00% in the zone and -0.40% outside; refine +8.00% in the zone and -0.80%" in (
        text
    )
    assert "a loss of USD 40.0 m in the zone, a loss of USD 23.0 m outside it and a loss of " in (
        text
    )
    # the headline ends with the chain's paragraph, and keeps it by chain id
    answer = headline(made)
    assert answer.chains == {"testium": text}
    assert answer.paragraph.endswith(text)
    assert answer.to_dict()["chains"] == {"testium": text}


def test_sentences_follow_the_numbers(made: dict[str, Any]) -> None:
    ch = made["chains"]["testium"]
    # now the miners gain most
    for cap, gain, part in zip(ch["captured_by_stage"], (30e6, 10e6), (0.75, 0.25), strict=True):
        cap["zone_producers_usd"], cap["share_of_zone_producer_gain"] = gain, part
    text = " ".join(chain_sentences(made, "testium"))
    assert (
        "the zone's miners capture most of the zone producers' gain: USD 30.0 m "
        "(75.0%), against USD 10.0 m (25.0%) for its refiners" in text
    )
    # an even split is "the largest part", not "most"
    for cap in ch["captured_by_stage"]:
        cap["zone_producers_usd"], cap["share_of_zone_producer_gain"] = 20e6, 0.5
    assert "capture the largest part of the zone producers' gain: USD 20.0 m (50.0%)" in " ".join(
        chain_sentences(made, "testium")
    )
    for cap, gain, part in zip(ch["captured_by_stage"], (30e6, 10e6), (0.75, 0.25), strict=True):
        cap["zone_producers_usd"], cap["share_of_zone_producer_gain"] = gain, part
    # a stage whose gainers take a share while its producers lose on balance: the share and
    # the net loss, not a negative "gain" with a share (cobalt_drc_quota's refiners)
    ch["captured_by_stage"][1].update(
        zone_producers_usd=-117.8e6, share_of_zone_producer_gain=0.149
    )
    ch["captured_by_stage"][0].update(zone_producers_usd=139.1e6, share_of_zone_producer_gain=0.851)
    text = " ".join(chain_sentences(made, "testium"))
    assert (
        "the zone's miners capture most of the zone producers' gain: USD 139.1 m (85.1%), "
        "against 14.9% for its refiners, who lose USD 117.8 m net. Outside" in text
    )
    assert "USD -117.8 m" not in text and text.count("117.8") == 1
    # the stage taking the largest share loses on balance
    ch["captured_by_stage"][0].update(zone_producers_usd=-3e6, share_of_zone_producer_gain=0.6)
    ch["captured_by_stage"][1].update(zone_producers_usd=5e6, share_of_zone_producer_gain=0.4)
    text = " ".join(chain_sentences(made, "testium"))
    assert (
        "the zone's miners capture most of the zone producers' gain: 60.0%, though they lose "
        "USD 3.0 m net, against USD 5.0 m (40.0%) for its refiners." in text
    )
    for cap, gain, part in zip(ch["captured_by_stage"], (30e6, 10e6), (0.75, 0.25), strict=True):
        cap["zone_producers_usd"], cap["share_of_zone_producer_gain"] = gain, part
    # only one stage gains; the other loses
    ch["captured_by_stage"][1].update(zone_producers_usd=-2e6, share_of_zone_producer_gain=0.0)
    ch["captured_by_stage"][0].update(share_of_zone_producer_gain=1.0)
    text = " ".join(chain_sentences(made, "testium"))
    assert "only the zone's miners gain: USD 30.0 m; the zone's refiners lose USD 2.0 m." in text
    # nobody in the zone gains
    for cap in ch["captured_by_stage"]:
        cap.update(zone_producers_usd=-1e6, share_of_zone_producer_gain=None)
    text = " ".join(chain_sentences(made, "testium"))
    assert "no zone producers gain at any stage (producer surplus, USD: miners -1.0 m and " in text
    # a chain that did not converge says so, and tells none of its last iterate's figures
    # (it told them, then "Caution: ... its numbers are unreliable": "only the zone's
    # refiners gain: USD -50 k; the zone's refiners lose USD 50 k")
    ch["converged"], ch["message"] = False, "stopped after 50 iterations"
    (only,) = chain_sentences(made, "testium")
    assert only.startswith(
        "The testium chain (mine → refine, solved as one system) did not converge "
        "(stopped after 50 iterations): it has no result numbers"
    )
    assert "USD" not in only and "%" not in only


def test_repeated_stages_are_told_apart(made: dict[str, Any]) -> None:
    ch = made["chains"]["testium"]
    ch["stages"][0]["stage"] = "refine"
    assert stage_producers(ch, 0) == "refiners (step 1)"
    assert stage_producers(ch, 1) == "refiners (step 2)"
    text = " ".join(chain_sentences(made, "testium"))
    assert "refine (step 1) +4.00% in the zone" in text


def test_region_flows_sum_the_stage_flows(made: dict[str, Any]) -> None:
    rows = {(r["step"], r["seller"], r["buyer"]): r for r in chain_region_flows(made, "testium")}
    assert len(rows) == 8
    assert rows[1, "zone", "zone"]["baseline_value_usd"] == 100.0
    assert rows[1, "zone", "outside"]["value_usd"] == 900.0
    assert rows[1, "outside", "zone"]["value_usd"] == 40.0
    assert rows[1, "outside", "outside"]["baseline_value_usd"] == 400.0
    assert rows[2, "zone", "outside"]["baseline_value_usd"] == 0.0
    assert rows[2, "outside", "zone"]["value_usd"] == 150.0
    # an undefined flow value leaves its sum undefined, not too small
    made["products"]["t_refined"]["flows"][0]["value_usd"] = None
    rows = {(r["step"], r["seller"], r["buyer"]): r for r in chain_region_flows(made, "testium")}
    assert rows[2, "zone", "zone"]["value_usd"] is None


# ----------------------------------------------------------------------------- figures


def test_chain_diagram_shows_prices_and_flows(made: dict[str, Any]) -> None:
    fig = figure(made, "chain-diagram")
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert len(texts) == 2 * 3  # zone and outside at two stages and the final buyers
    assert texts[0] == "<b>Zone</b><br>sells " + pct(2.0, 1)  # miners sell, pay nothing
    assert texts[1] == f"<b>Zone</b><br>sells {pct(4.0, 1)}<br>pays {pct(4.0, 1)}"
    assert texts[2] == "<b>Zone</b><br>pays " + pct(8.0, 1)  # final buyers pay only
    assert fig["layout"]["xaxis"]["ticktext"] == ["1. mine", "2. refine", "final buyers"]
    lines = [t for t in fig["data"] if t.get("mode") == "lines"]
    assert len(lines) == 6  # stage 2 has no sales by zone producers to outside buyers, and
    # none between outside producers and buyers
    widths = {(t["x"][0], t["y"][0], t["y"][1]): t["line"]["width"] for t in lines}
    # the widest line is the largest flow (mine, zone -> outside, USD 900)
    assert max(widths, key=widths.__getitem__) == (0, 1.0, 0.0)
    assert widths[0, 1.0, 0.0] > widths[0, 0.0, 1.0]  # 900 > 40


def test_a_by_product_stage_buys_no_input(made: dict[str, Any]) -> None:
    made["chains"]["testium"]["stages"][1]["link"] = "byproduct"
    fig = figure(made, "chain-diagram")
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert texts[1] == f"<b>Zone</b><br>sells {pct(4.0, 1)}<br>by-product"
    assert fig["layout"]["xaxis"]["ticktext"][1] == "2. refine<br>(by-product)"
    dashes = {t["x"][0]: t["line"]["dash"] for t in fig["data"] if t.get("mode") == "lines"}
    assert dashes == {0: "dot", 1: "solid"}  # ore goes to other buyers; refined to final buyers


def test_chain_capture_and_figures_by_name(made: dict[str, Any]) -> None:
    fig = figure(made, "chain-capture", chain="testium")
    zone, outside = fig["data"]
    # in the unit the text uses (USD m), named in the axis title: not Plotly's "-20M"
    assert zone["x"] == [10.0, 30.0] and outside["x"] == [-5.0, -20.0]
    assert "USD m" in fig["layout"]["xaxis"]["title"]["text"]
    assert fig["layout"]["xaxis"]["exponentformat"] == "none"
    assert zone["customdata"] == [share(0.25), share(0.75)]
    assert chain_figure_names(made) == [(name, "testium") for name in CHAIN_FIGURES]
    with pytest.raises(CritminError, match="unknown chain 'nickel'; the results hold testium"):
        figure(made, "chain-diagram", chain="nickel")
    made["chains"]["other"] = copy.deepcopy(made["chains"]["testium"])
    with pytest.raises(CritminError, match="drawn per chain: name one of testium, other"):
        figure(made, "chain-diagram")
    with pytest.raises(CritminError, match="the results hold none"):
        figure({**made, "chains": {}}, "chain-capture")


# ----------------------------------------------------------------------------- tables


def test_chain_tables_hold_the_contract(made: dict[str, Any]) -> None:
    assert table_names(made) == (*TABLES, *CHAIN_TABLES)
    assert table_names({**made, "chains": {}}) == TABLES
    stages = table(made, "chain_stages")
    assert list(stages["step"]) == [1, 2] and list(stages["stage"]) == ["mine", "refine"]
    assert list(stages["producer_surplus_zone_usd"]) == [10e6, 30e6]
    assert list(stages["share_of_zone_producer_gain"]) == [0.25, 0.75]
    assert list(stages["welfare_world_usd"]) == [
        s["welfare_usd"]["world"] for s in made["chains"]["testium"]["stages"]
    ]
    welfare = table(made, "chain_welfare").set_index("group")
    assert welfare.loc["zone", "welfare_change_usd"] == -40e6
    assert welfare.loc["world", "producer_surplus_change_usd"] == pytest.approx(15e6)
    assert welfare.loc["world", "consumer_surplus_change_usd"] == pytest.approx(-80e6 + 2e6)
    flows = table(made, "chain_flows")
    assert len(flows) == 8 and flows["value_change_usd"].iloc[0] == pytest.approx(10.0)
    assert table({**made, "chains": {}}, "chain_stages").empty
    assert column_header("share_of_zone_producer_gain") == (
        "share of zone producer gain (fraction 0-1)"
    )
    assert column_header("zone_self_sufficiency_before").endswith("(fraction 0-1)")
    assert column_header("producer_surplus_zone_usd") == "producer surplus zone (USD)"
    csv = pd.read_csv(io.StringIO(table_csv(made, "chain_stages")))
    assert "zone price change (%)" in csv.columns


def test_workbook_and_csvs_have_the_chain_sheets(made: dict[str, Any], tmp_path: Path) -> None:
    path = write_xlsx(made, tmp_path / "chain.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    for name in CHAIN_TABLES:
        assert name in sheets
    summary = sheets["summary"].set_index("item")["value"]
    assert summary["chain testium"] == headline(made).chains["testium"]
    names = [p.name for p in write_csvs(made, tmp_path / "csv")]
    assert names[-3:] == [f"{t}.csv" for t in CHAIN_TABLES]
    # a run without chains into the same folder leaves no chain table of the earlier one
    (tmp_path / "csv" / "my_notes.txt").write_text("kept")
    plain = {k: v for k, v in made.items() if k != "chains"}
    again = {p.name for p in write_csvs(plain, tmp_path / "csv")}
    left = {p.name for p in (tmp_path / "csv").iterdir()}
    assert left == again | {"my_notes.txt"}


# ----------------------------------------------------------------------------- terminal


def test_chain_summary_fits_100_columns_and_states_units(made: dict[str, Any]) -> None:
    console = Console(width=100, force_terminal=False)
    with console.capture() as cap:
        print_chains(console, made["chains"])
    text = cap.get()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "Chain testium: mine -> refine (2 stages solved together)" in text
    assert "zone -40.0 m, outside -23.0 m, world -63.0 m" in text
    assert re.search(
        r"1\. mine\s+\+4\.00%\s+-0\.40%\s+50\.0->60\.0\s+10\.0->5\.0\s+\+10\.0 m", text
    )
    assert re.search(r"\+30\.0 m\s+-20\.0 m\s+75\.0%", text)
    assert "% change" in text and "USD" in text and "% of zone demand" in text
    assert "note: a chain note" in text


# ----------------------------------------------------------------------------- a real chain


@pytest.fixture(scope="module")
def lithium() -> dict[str, Any]:
    data: dict[str, Any] = simulate(LITHIUM).to_dict()
    return data


def test_real_chain_words_match_its_numbers(lithium: dict[str, Any]) -> None:
    ch = lithium["chains"]["lithium"]
    text = headline(lithium).chains["lithium"]
    cap = {c["stage"]: c for c in ch["captured_by_stage"]}
    top = max(cap.values(), key=lambda c: c["share_of_zone_producer_gain"] or 0.0)
    assert (
        f"USD {usd(top['zone_producers_usd'])} ({share(top['share_of_zone_producer_gain'])})"
        in (text)
    )
    for s in ch["stages"]:
        assert f"{s['stage']} {pct(s['zone_price_change_pct'])} in the zone and " in text
    assert usd(abs(ch["welfare"]["world"])) in text
    # the chain tables agree with the contract
    stages = table(lithium, "chain_stages")
    assert list(stages["zone_price_change_pct"]) == [
        s["zone_price_change_pct"] for s in ch["stages"]
    ]
    welfare = table(lithium, "chain_welfare").set_index("group")["welfare_change_usd"]
    assert welfare["world"] == pytest.approx(welfare["zone"] + welfare["outside"])


def test_chain_welfare_parts_add_up_to_its_welfare(lithium: dict[str, Any]) -> None:
    """chain_welfare has every part of welfare (the levy's revenue too), so that in the workbook
    and the CSV they add up to the chain's welfare, as the welfare table's do."""
    frame = table(lithium, "chain_welfare").set_index("group")
    parts = (
        frame["consumer_surplus_change_usd"]
        + frame["producer_surplus_change_usd"]
        + frame["tariff_revenue_change_usd"]
        + frame["quota_rent_usd"]
        - frame["subsidy_cost_usd"]
    )
    assert frame.loc["zone", "tariff_revenue_change_usd"] > 0  # the floor's levy
    for group in ("zone", "outside", "world"):
        assert parts[group] == pytest.approx(frame.loc[group, "welfare_change_usd"], abs=1.0)
    total = table(lithium, "welfare").set_index(["product", "group"])
    assert frame.loc["zone", "tariff_revenue_change_usd"] == pytest.approx(
        total.loc[("all", "zone"), "tariff_revenue_change_usd"]
    )


def test_a_stage_row_says_why_its_input_cost_share_was_cut(lithium: dict[str, Any]) -> None:
    """The refined stage's input cost share (0.57) is below the estimate its own note gives
    (0.67) because the chain cut it where recorded purchases of the input fall short: a chain
    note that the CSV and workbook row of the stage did not carry."""
    ch = lithium["chains"]["lithium"]
    stages = table(lithium, "chain_stages")
    cut = [n for n in ch["notes"] if "input cost share cut" in n]
    assert cut, ch["notes"]
    for note in cut:
        step = int(note.split()[1])
        row = stages.loc[stages["step"] == step].iloc[0]
        assert note in row["notes"]
        assert row["input_cost_share"] < 0.666  # below the estimate the stage's note gives
    for _, row in stages.iterrows():  # a stage's row has no other stage's note
        assert f"stage {row['step'] + 1} (" not in row["notes"]


def test_report_has_the_chain_section(lithium: dict[str, Any]) -> None:
    from critmin.report import render_report

    html = render_report(LITHIUM, lithium)
    assert 'id="chain-lithium"' in html and 'data-chain="lithium"' in html
    for name in CHAIN_FIGURES:
        assert f'class="chart" id="{chart_id("chain", "lithium", name)}"' in html
    assert "Chain welfare, zone" in html and "Who captures the rent" in html


def test_cli_report_and_its_refusal_of_draws(tmp_path: Path) -> None:
    from critmin.cli import app

    runner = CliRunner()
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(LITHIUM), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 100_000
    res = runner.invoke(app, ["report", str(LITHIUM), "-o", str(out), "--draws", "5"])
    assert res.exit_code == 2
    assert "does not cover linked chains" in " ".join(res.output.split())


def test_sweep_over_a_chain_stage_floor(lithium: dict[str, Any]) -> None:
    from critmin.sweep import run_sweep

    sweep = run_sweep(LITHIUM, "policy[1].price_usd_per_t", [12_000, 15_000]).to_dict()
    assert sweep["label"] == "price floor (USD/t)" and sweep["converged"]
    low, at15 = sweep["points"]
    refined = lithium["products"]["lithium_carbonate"]["summary"]
    assert at15["products"]["lithium_carbonate"]["zone_consumer_price_change_pct"] == (
        pytest.approx(refined["zone_consumer_price_change_pct"], rel=1e-9)
    )
    # a lower floor on refined lithium raises the zone's refined price less
    assert (
        low["products"]["lithium_carbonate"]["zone_consumer_price_change_pct"]
        < at15["products"]["lithium_carbonate"]["zone_consumer_price_change_pct"]
    )
