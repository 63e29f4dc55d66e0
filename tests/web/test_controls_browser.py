"""Export controls in a real browser (Playwright + headless chromium) at 1440 px and 390 px:
the report's controls section fits the width, its routed-flows Sankey is drawn with no two
labels overlapping, and on a phone every figure of a control is on screen (each control a
card). Screenshots go to ``out/screenshots/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_report_browser import OVERLAPS_JS, make_report, open_report
from webutil import EXAMPLES

from critmin.figures import chart_id
from critmin.numbers import usd

pytestmark = pytest.mark.usefixtures("chromium")

LEAKY_LICENCE = EXAMPLES / "controls" / "antimony_licensing_leakage_2025.toml"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("controls") / "controls.html"
    return path, make_report(LEAKY_LICENCE, path)


@pytest.mark.parametrize("width", [1440, 390])
def test_controls_section_reads_at_desktop_and_phone_width(
    browser: Any, report: tuple[Path, dict[str, Any]], width: int, screenshots: Path
) -> None:
    path, data = report
    context, page, errors = open_report(browser, path, width)
    page.wait_for_selector("body[data-charts=done]", timeout=120_000, state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    section = page.locator(".controls").first
    section.scroll_into_view_if_needed()
    chart = chart_id("antimony_unwrought", "routed")
    page.wait_for_selector(f"#{chart}[data-rendered=true]", timeout=60_000)
    assert page.evaluate(OVERLAPS_JS, chart) == []
    # every figure of the control is inside the screen (no sideways scrolling to find it)
    control = data["products"]["antimony_unwrought"]["export_controls"][0]
    leaked = page.locator("table.export-controls td").filter(
        has_text=f"USD {usd(control['leaked_usd'])}"
    )
    box = leaked.first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    section.screenshot(path=str(screenshots / f"report-controls-{width}.png"))
    assert not errors
    context.close()
