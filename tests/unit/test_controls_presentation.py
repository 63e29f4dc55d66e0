"""Export controls for people: the terminal summary, the report and the dashboard show each
product's controls and routed flows with the figures of the results contract (the JSON), and
nothing when a scenario has no controls."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from critmin.cli import app
from critmin.control_tables import binding_text, controls_view, results_controls
from critmin.figures import chart_id, figure
from critmin.numbers import pct, share, usd
from critmin.report import render_report
from critmin.summary import print_controls, print_summary

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEAKY_LICENCE = EXAMPLES / "controls" / "antimony_licensing_leakage_2025.toml"
LEAKY_BAN = EXAMPLES / "controls" / "ga_ge_sb_ban_us_2024.toml"
NO_CONTROLS = EXAMPLES / "01_lithium_floor_levy.toml"
TIGHT_BAN = EXAMPLES / "02_china_bans_gallium_magnets.toml"
WHOLE_QUOTA = EXAMPLES / "03_drc_cobalt_quota.toml"


def simulate_json(path: Path) -> dict[str, Any]:
    """``critmin simulate PATH --json``: the results contract the CLI prints."""
    r = CliRunner().invoke(app, ["simulate", str(path), "--json"])
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)
    return data


@pytest.fixture(scope="module")
def leaky_licence() -> dict[str, Any]:
    return simulate_json(LEAKY_LICENCE)


@pytest.fixture(scope="module")
def leaky_ban() -> dict[str, Any]:
    return simulate_json(LEAKY_BAN)


def summary_text(data: dict[str, Any]) -> str:
    """The terminal summary on a 100-column console."""
    console = Console(width=100, record=True, file=io.StringIO())
    print_summary(console, data)
    return console.export_text()


def test_cli_shows_the_routed_flows_of_the_json(leaky_licence: dict[str, Any]) -> None:
    r = CliRunner().invoke(app, ["simulate", str(LEAKY_LICENCE)], env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    text = r.stdout
    p = leaky_licence["products"]["antimony_unwrought"]
    assert p["leakage"], "the example must route some antimony around the licence"
    lines = text.splitlines()
    assert "Export controls" in text and "Routed flows: USD" in text
    total = sum(x["value_usd"] for x in p["leakage"])
    assert f"Routed flows: USD {usd(total)} around the controls" in text
    for x in p["leakage"]:  # every route on its own line with its USD and shares
        route = f"{x['origin']} → {x['via']} → {x['destination']}"
        line = next(ln for ln in lines if route in ln)
        cells = line.split()
        assert usd(x["value_usd"]).split()[0] in cells, line
        assert share(x["quantity_share_of_cap"]) in cells
        assert share(x["leaked_share_of_cut"]) in cells
    control = p["export_controls"][0]
    assert control["kind"] == "licence"
    row = next(ln for ln in lines if ln.strip().startswith("CHN") and "licence at" in ln)
    assert pct(control["export_tax_equivalent_pct"], 1) in row
    assert usd(control["leaked_usd"]) in row and share(control["leaked_share_of_cut"]) in row
    chn = p["countries"]["CHN"]
    assert (
        f"USD {usd(chn['export_value_usd_before'])} -> {usd(chn['export_value_usd_after'])}" in text
    )
    z = p["zone"]
    assert (
        f"{share(z['watch_exports_to_zone_share_before'])} -> "
        f"{share(z['watch_exports_to_zone_share_after'])}" in text
    )
    # on a 100-column terminal the tables fit
    assert max(len(ln) for ln in summary_text(leaky_licence).splitlines()) <= 100


def test_leaky_ban_rows_name_the_vias_and_the_route(leaky_ban: dict[str, Any]) -> None:
    members = set(leaky_ban["members"])
    for p in leaky_ban["products"].values():
        view = controls_view(p, members)
        assert view is not None
        bans = [r for r in view["controls"] if r["kind"] == "leaky ban"]
        assert len(bans) == 1 and bans[0]["destinations"] == ["USA"]
        vias = {x["via"] for x in p["leakage"]}
        assert bans[0]["what"] == f"ban, leaks via {', '.join(sorted(vias))}"
        use = p["leakage"][0]["quantity_share_of_cap"]
        assert bans[0]["route_use"] == pytest.approx(use, rel=1e-9)
        text = binding_text(bans[0])
        assert text == "yes; route full" if use >= 1 - 1e-6 else f"{100 * use:.0f}% full" in text
        # a quota binds exactly when its exports reach the cap and it has a tax equivalent
        for r in view["controls"]:
            if r["kind"] == "quota":
                assert r["binding"] == (r["export_tax_equivalent_pct"] > 1e-9)
                assert r["cap_share"] == pytest.approx(0.8)
        assert view["routed_usd"] == pytest.approx(sum(x["value_usd"] for x in p["leakage"]))
        # the routed flows are never more than what leaked around the controls
        leaked = sum(c["leaked_usd"] for c in p["export_controls"])
        assert view["routed_usd"] == pytest.approx(leaked, rel=1e-9)


def test_nothing_is_shown_without_controls() -> None:
    data = simulate_json(NO_CONTROLS)
    assert results_controls(data) == {}
    console = Console(width=100, record=True, file=io.StringIO())
    for p in data["products"].values():
        print_controls(console, p, set(data["members"]), 8)
    assert console.export_text() == ""
    html = render_report(NO_CONTROLS, data)
    assert 'class="controls"' not in html
    assert '<table class="export-controls">' not in html
    assert '<table class="routed-flows">' not in html
    assert chart_id("lithium_carbonate", "routed") not in html


def test_tight_bans_and_whole_exporter_quotas_are_controls_too() -> None:
    data = simulate_json(TIGHT_BAN)
    found = results_controls(data)
    assert found, "a ban without leakage is an export control"
    for pid, view in found.items():
        flows = data["products"][pid]["flows"]
        banned = sum(f["baseline_value_usd"] for f in flows if f["banned"])
        (ban,) = [r for r in view["controls"] if r["kind"] == "ban"]
        assert ban["baseline_usd"] == pytest.approx(banned)
        assert view["routed"] == []
    quota = simulate_json(WHOLE_QUOTA)
    (p,) = quota["products"].values()
    (row,) = controls_view(p, set(quota["members"]))["controls"]  # type: ignore[index]
    assert row["kind"] == "quota on all exports" and row["exporter"] == "COD"
    # the tax equivalent is the gap between the export price and the producer price
    cod = p["countries"]["COD"]
    flow = next(f for f in p["flows"] if f["exporter"] == "COD" != f["importer"])
    expected = (1 + flow["export_price_change_pct"] / 100) / (
        1 + cod["producer_price_change_pct"] / 100
    ) - 1
    assert row["export_tax_equivalent_pct"] == pytest.approx(100 * expected)
    assert row["export_tax_equivalent_pct"] > 0


def test_report_has_the_controls_table_and_the_routed_sankey(
    leaky_licence: dict[str, Any],
) -> None:
    html = render_report(LEAKY_LICENCE, leaky_licence)
    assert 'class="export-controls"' in html and 'class="routed-flows"' in html
    p = leaky_licence["products"]["antimony_unwrought"]
    for x in p["leakage"]:
        attrs = (
            f'data-origin="{x["origin"]}" data-via="{x["via"]}" '
            f'data-destination="{x["destination"]}"'
        )
        at = html.index(attrs)
        assert f'data-value="{x["value_usd"]}">{usd(x["value_usd"])}<' in html[at : at + 800]
    assert f'id="{chart_id("antimony_unwrought", "routed")}"' in html
    fig = figure(leaky_licence, "routed", "antimony_unwrought")
    (trace,) = fig["data"]
    assert trace["type"] == "sankey"
    # every route is a path from the origin through its via: the legs out of the origin
    # carry the total routed value
    total = sum(x["value_usd"] for x in p["leakage"])
    assert fig["layout"]["meta"]["routed_usd"] == pytest.approx(total)
    origin = trace["node"]["customdata"].index("China (CHN), origin")
    links = zip(trace["link"]["source"], trace["link"]["value"], strict=True)
    out = sum(v for s, v in links if s == origin)
    assert out == pytest.approx(total)
    # the scenario's instruments are described with their licensing and leakage
    assert "licences granted for 30% of baseline exports (range 20-50%)" in html
    assert "leaks via THA, MEX at +20% cost, up to 30% of their trade" in html


def test_dashboard_run_page_and_twin_show_the_controls(
    leaky_licence: dict[str, Any], tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from critmin.web.app import create_app
    from critmin.web.store import ScenarioStore

    db = tmp_path / "scenarios.sqlite3"
    with TestClient(create_app(db)) as client:
        # the scenario as a user posts it (the file's own keys)
        scenario = tomllib.loads(LEAKY_LICENCE.read_text(encoding="utf-8"))
        rid = ScenarioStore(db).put_run(scenario, leaky_licence)
        page = client.get(f"/runs/{rid}")
        assert page.status_code == 200
        html = page.text
        assert 'class="export-controls"' in html and 'class="routed-flows"' in html
        p = leaky_licence["products"]["antimony_unwrought"]
        for x in p["leakage"]:
            assert f'data-via="{x["via"]}" data-destination="{x["destination"]}"' in html
        twin = client.get(f"/runs/{rid}", params={"format": "json"}).json()
        view = twin["export_controls"]["antimony_unwrought"]
        assert [(r["via"], r["destination"]) for r in view["routed"]] == [
            (r["via"], r["destination"])
            for r in controls_view(p, set())["routed"]  # type: ignore[index]
        ]
        assert view["routed_usd"] == pytest.approx(sum(x["value_usd"] for x in p["leakage"]))
        # a saved scenario's page and twin too (saving runs it)
        saved = client.post("/api/scenarios", json=scenario)
        assert saved.status_code == 201
        sid = saved.json()["id"]
        assert '<table class="routed-flows">' in client.get(f"/scenarios/{sid}").text
        twin = client.get(f"/scenarios/{sid}", params={"format": "json"}).json()
        assert twin["export_controls"]["antimony_unwrought"]["routed_usd"] == pytest.approx(
            sum(x["value_usd"] for x in twin["result"]["products"]["antimony_unwrought"]["leakage"])
        )
        # a result without controls adds nothing to its twin or page
        plain = simulate_json(NO_CONTROLS)
        scenario = tomllib.loads(NO_CONTROLS.read_text(encoding="utf-8"))
        rid = ScenarioStore(db).put_run(scenario, plain)
        assert "export_controls" not in client.get(f"/runs/{rid}?format=json").json()
        assert 'class="export-controls"' not in client.get(f"/runs/{rid}").text


@pytest.mark.parametrize("path", [TIGHT_BAN, WHOLE_QUOTA, LEAKY_LICENCE, LEAKY_BAN])
def test_a_scenario_with_controls_loads_from_its_own_dump(path: Path) -> None:
    """The report and sweeps dump a scenario with its defaults (``leak_cost = 0`` and
    ``leak_share = 0`` on every ban, quota and licence) and load it again."""
    from critmin.scenario import load_scenario

    spec = load_scenario(path)
    dumped = spec.model_dump(mode="json", exclude_none=True)
    assert load_scenario(dumped).model_dump(mode="json", exclude_none=True) == dumped


def test_the_terminal_says_which_baseline_tariffs_the_market_is_calibrated_with(
    leaky_ban: dict[str, Any], leaky_licence: dict[str, Any]
) -> None:
    """``[tariffs] baseline = "curated"`` changes every number of a product (its t0): the
    terminal names the measures, once each, as the JSON's ``sources`` cite them (it said
    nothing, so a run with Section 301 in the baseline read like one without)."""
    text = " ".join(summary_text(leaky_ban).split())
    assert (
        "tariffs: calibrated with baseline tariffs (t0) from Section 301 List 3; MFN; "
        "Russia: 70% in lieu of column 2" in text
    )
    assert text.count("tariffs: calibrated") == 1  # antimony has no curated row
    assert "tariffs: calibrated" not in summary_text(leaky_licence)  # no [tariffs] table
