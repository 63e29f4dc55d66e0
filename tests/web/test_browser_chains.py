"""Linked chains and coalitions in a real browser (Playwright + Debian's headless chromium).

Two flows, kept short: the designer builds a lithium chain with a floor at the refine stage and
a rule of origin, runs it and shows the stage table; the coalition page draws the Shapley bars
of a saved scenario. Screenshots at 1440 and 390 px go to ``out/screenshots/``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from test_browser import TIMEOUT, assert_no_overlaps, new_page, pick, wait_for_charts
from webutil import EXAMPLES

from critmin.numbers import pct

pytestmark = pytest.mark.usefixtures("chromium")


def phone_pass(browser: Any, url: str, shot: Path, section: str | None = None) -> None:
    """The same address at 390 px: drawn without errors, no wider than the screen."""
    context, pg, errors = new_page(browser, 390)
    pg.goto(url, timeout=TIMEOUT)
    wait_for_charts(pg)
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= 391, width
    if section:
        pg.locator(section).first.scroll_into_view_if_needed()
    pg.screenshot(path=str(shot), full_page=section is None)
    context.close()
    assert not errors


def test_designer_lithium_chain_floor_at_refine(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    context, pg, errors = new_page(browser, 1440)
    pg.goto(f"{live_server.url}/designer", timeout=TIMEOUT)
    pg.fill("#name", "Browser: lithium chain floor")
    pick(pg, "members", "european union", "EU27")
    for name, code in [("united states", "USA"), ("australia", "AUS"), ("japan", "JPN")]:
        pick(pg, "members", name, code)
    pick(pg, "watch", "china", "CHN")
    pick(pg, "chains", "lithium", "lithium")
    pg.select_option("#policy-0-type", "price_floor")
    pg.fill("#policy-0-price", "15000")
    pg.select_option("#policy-0-stage", "refine")
    pg.select_option("#origin_rule", "rvc")
    pg.fill("#origin_threshold_pct", "40")
    assert_no_overlaps(pg)
    pg.click("#run")
    pg.wait_for_url("**/designer?run=*", timeout=TIMEOUT)
    wait_for_charts(pg)
    # the chain stage by stage (the report's chain section, in the dashboard)
    table = pg.locator("table.chain-stages").first
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    assert "mine" in rows.nth(0).inner_text() and "refine" in rows.nth(1).inner_text()
    assert "Lithium carbonate" in rows.nth(1).inner_text()
    rid = pg.url.split("run=")[1].split("#")[0]
    result = pg.request.get(f"{live_server.url}/api/runs/{rid}").json()["result"]
    refine = result["chains"]["lithium"]["stages"][1]
    assert refine["stage"] == "refine" and refine["zone_price_change_pct"] > 1  # the floor binds
    assert pct(refine["zone_price_change_pct"]) in rows.nth(1).inner_text()
    diagram = pg.locator("#chart-chain-lithium-chain_diagram")
    diagram.scroll_into_view_if_needed()
    pg.wait_for_selector("#chart-chain-lithium-chain_diagram[data-rendered=true]", timeout=TIMEOUT)
    # the form kept the stage and the rule of origin
    assert pg.locator("#policy-0-stage").input_value() == "refine"
    assert pg.locator("#origin_threshold_pct").input_value() == "40"
    pg.locator("section.chain").first.scroll_into_view_if_needed()
    pg.screenshot(path=str(screenshots / "designer-chain-1440.png"))
    url = pg.url
    context.close()
    assert not errors

    phone_pass(browser, url, screenshots / "designer-chain-390.png", "section.chain")


def test_coalition_page_draws_shapley_bars(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    scenario = tomllib.loads((EXAMPLES / "coalition_core.toml").read_text())
    scenario["product"] = [{"id": "lithium_carbonate"}, {"id": "natural_graphite"}]
    scenario["policy"][2]["products"] = ["natural_graphite"]  # two products keep it fast
    context, pg, errors = new_page(browser, 1440)
    answer = pg.request.post(f"{live_server.url}/api/scenarios?run=false", data=scenario)
    assert answer.status == 201, answer.text()
    saved = answer.json()
    pg.goto(f"{live_server.url}/coalition?source={saved['id']}", timeout=TIMEOUT)
    box = pg.locator("#candidates")
    for code in ("ARG", "BRA", "IND", "ZAF", "PHL", "MAR", "COD", "MYS"):  # keep IDN, CHL
        box.locator(f"input[value={code}]").uncheck()
    assert box.locator("input:checked").count() == 2
    pg.click("#coalition-run")
    pg.wait_for_selector("#ranked-table", timeout=TIMEOUT)
    wait_for_charts(pg)
    bars = pg.locator("#chart-shapley-self-sufficiency-total g.trace.bars path")
    assert bars.count() == 2  # one bar per candidate
    assert pg.locator("#coalition-charts div.chart").count() >= 5  # 4 objectives + heat map
    assert pg.locator("#ranked-table tbody tr").count() == 2
    assert_no_overlaps(pg)
    pg.screenshot(path=str(screenshots / "coalition-1440.png"), full_page=True)
    url = pg.url
    context.close()
    assert not errors

    phone_pass(browser, url, screenshots / "coalition-390.png")
