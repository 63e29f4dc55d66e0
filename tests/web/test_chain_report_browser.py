"""The report of a linked-chain scenario in a real browser (Playwright + Debian's headless
chromium) at 1440 and 390 px: the chain section states the chain's answer, its diagram and
capture chart are drawn with no overlapping labels, and the page fits the width. Screenshots go
to ``out/screenshots/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_report_browser import OVERLAPS_JS, open_report
from webutil import EXAMPLES

from critmin.figures import chart_id
from critmin.narrative import headline
from critmin.report import write_report
from critmin.scenario import load_scenario
from critmin.simulation import simulate

pytestmark = pytest.mark.usefixtures("chromium")

WIDTHS = (1440, 390)
CHAINS = (
    "lithium_floor_ore_and_refined",
    "gallium_china_ban_byproduct",
    "rare_earths_ndpr_floor_china_ban",
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("chain-reports")
    out = {}
    for name in CHAINS:
        scenario = load_scenario(EXAMPLES / "chains" / f"{name}.toml")
        data = simulate(scenario).to_dict()
        write_report(scenario, data, folder / f"{name}.html")
        out[name] = (folder / f"{name}.html", data)
    return out


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", CHAINS)
def test_chain_section_draws_without_overlaps_and_fits(
    browser: Any, reports: dict[str, Any], name: str, width: int, screenshots: Path
) -> None:
    path, data = reports[name]
    context, page, errors = open_report(browser, path, width)
    page.wait_for_selector("body[data-charts=done]", timeout=120_000, state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for cid, chain in data["chains"].items():
        section = page.locator(f"section.chain[data-chain={cid}]")
        assert section.count() == 1
        # the chain's written answer, as critmin.narrative words it
        assert section.locator(".chain-answer").inner_text() == headline(data).chains[cid]
        assert section.locator("table.chain-stages tbody tr").count() == len(chain["stages"])
        for fig in ("chain-diagram", "chain-capture"):
            div = chart_id("chain", cid, fig)
            assert page.get_attribute(f"#{div}", "data-rendered") == "true", div
            assert page.evaluate(OVERLAPS_JS, div) == [], div
            # every node label of the diagram is drawn inside the chart
            if fig == "chain-diagram":
                labels = page.locator(f"#{div} .annotation-text")
                assert labels.count() == 2 * (len(chain["stages"]) + 1)
            page.locator(f"#{div}").screenshot(
                path=str(screenshots / f"chain-{name}-{fig}-{width}.png")
            )
    for chart in page.evaluate("Array.from(document.querySelectorAll('div.chart')).map(d => d.id)"):
        assert page.evaluate(OVERLAPS_JS, chart) == [], chart
    section = page.locator("section.chain").first
    section.screenshot(path=str(screenshots / f"chain-{name}-section-{width}.png"))
    assert not errors
    context.close()
