"""The report in a real browser (Playwright + Debian's headless chromium), at a desktop width
(1440 px) and a phone width (390 px): the first screen states the answer, the page fits the
width, and no two chart labels overlap (bounding boxes of tick labels, axis titles, legends,
annotations, bar values and Sankey labels). Screenshots go to ``out/screenshots/``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from webutil import EXAMPLE1, EXAMPLES

from critmin.numbers import share
from critmin.report import write_report
from critmin.scenario import load_scenario
from critmin.simulation import simulate

pytestmark = pytest.mark.usefixtures("chromium")

WIDTHS = (1440, 390)

# label boxes of one chart that intersect (by more than 1 px); x ticks of one axis are not
# compared with each other (Plotly spaces them itself, and rotated labels have overlapping boxes)
OVERLAPS_JS = """(chartId) => {
  const root = document.getElementById(chartId);
  const groups = {
    xtick: ".xtick text", x2tick: ".x2tick text", x3tick: ".x3tick text", ytick: ".ytick text",
    y2tick: ".y2tick text", xtitle: ".g-xtitle text", x2title: ".g-x2title text",
    x3title: ".g-x3title text", ytitle: ".g-ytitle text", y2title: ".g-y2title text",
    y3title: ".g-y3title text", title: ".g-gtitle text",
    legend: ".legendtext", annotation: ".annotation-text", bartext: "text.bartext",
    sankey: ".sankey .node-label", cbtitle: ".cbtitle text", button: ".updatemenu-button text"
  };
  const selfCheck = new Set(["ytick", "legend", "annotation", "bartext", "sankey", "button"]);
  const boxes = [];
  for (const [kind, sel] of Object.entries(groups)) {
    root.querySelectorAll(sel).forEach((el) => {
      if (!el.textContent.trim()) return;
      const r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) return;
      boxes.push({kind, text: el.textContent.trim(), l: r.left, r: r.right, t: r.top, b: r.bottom});
    });
  }
  const clash = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.kind === b.kind && !selfCheck.has(a.kind)) continue;
    if (a.l + 1 < b.r && b.l + 1 < a.r && a.t + 1 < b.b && b.t + 1 < a.b) {
      clash.push(a.kind + ": " + a.text + " x " + b.kind + ": " + b.text);
    }
  }
  return clash;
}"""

# titles and tick labels of one chart that stick out of its box (Plotly cuts them there)
CUT_JS = """(chartId) => {
  const root = document.getElementById(chartId), c = root.getBoundingClientRect(), cut = [];
  root.querySelectorAll(".g-gtitle text, [class^=g-][class$=title] text, .xtick text, .ytick text")
    .forEach((el) => {
      const r = el.getBoundingClientRect();
      if (r.width < 1) return;
      if (r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - 1 || r.bottom > c.bottom + 1) {
        cut.push(el.textContent.trim());
      }
    });
  return cut;
}"""


# bars and markers of one chart under its legend (the legend has a white background: the prices
# chart's legend, hung from above the plot, took two rows on a phone and hid the tallest bar's top)
COVERED_JS = """(chartId) => {
  const root = document.getElementById(chartId), covered = [];
  root.querySelectorAll(".legend").forEach((legend) => {
    const l = legend.getBoundingClientRect();
    if (l.width < 1 || l.height < 1) return;
    root.querySelectorAll(".bars .point path, .scatterlayer .point").forEach((el) => {
      const r = el.getBoundingClientRect();
      if (r.width < 1 && r.height < 1) return;
      if (l.left + 1 < r.right && r.left + 1 < l.right && l.top + 1 < r.bottom && r.top + 1 < l.bottom) {
        covered.push(Math.round(r.left) + "," + Math.round(r.top));
      }
    });
  });
  return covered;
}"""


def make_report(source: Path, path: Path, **kwargs: Any) -> dict[str, Any]:
    scenario = load_scenario(source)
    data = simulate(scenario).to_dict()
    write_report(scenario, data, path, **kwargs)
    return data


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Example 1 with fan charts (40 Monte Carlo draws) and example 2 (two products)."""
    from critmin.uncertainty import fan_data, run_uncertainty

    folder = tmp_path_factory.mktemp("reports")
    fans = fan_data(run_uncertainty(EXAMPLE1, draws=40, seed=3))
    one = make_report(
        EXAMPLE1, folder / "01.html", uncertainty={"draws": 40, "seed": 3, "fans": fans}
    )
    two = make_report(EXAMPLES / "02_china_bans_gallium_magnets.toml", folder / "02.html")
    return {"01": (folder / "01.html", one), "02": (folder / "02.html", two)}


def open_report(browser: Any, path: Path, width: int) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, offline=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    return context, page, errors


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["01", "02"])
def test_report_labels_do_not_overlap_and_the_page_fits(
    browser: Any, reports: dict[str, Any], name: str, width: int, screenshots: Path
) -> None:
    path, _ = reports[name]
    context, page, errors = open_report(browser, path, width)
    page.wait_for_selector("body[data-charts=done]", timeout=120_000, state="attached")
    # the page is no wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    ids = page.evaluate("Array.from(document.querySelectorAll('div.chart')).map(d => d.id)")
    if name == "01":
        assert any(i.endswith("fan_pct") for i in ids)
    for chart in ids:
        assert page.get_attribute(f"#{chart}", "data-rendered") == "true", chart
        # a figure to a screen reader, named by its title (it had no role and no name; not an
        # "img": its modebar buttons are Tab stops that an image would hide)
        assert page.get_attribute(f"#{chart}", "role") == "figure", chart
        name = page.get_attribute(f"#{chart}", "aria-label") or ""
        assert name.startswith("Chart: ") and len(name) > 12 and "<" not in name, (chart, name)
        assert page.evaluate(OVERLAPS_JS, chart) == [], chart
        assert page.evaluate(CUT_JS, chart) == [], chart
        assert page.evaluate(COVERED_JS, chart) == [], chart
    page.screenshot(path=str(screenshots / f"report-{name}-{width}.png"), full_page=True)
    assert not errors
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_first_screen_states_the_answer(
    browser: Any, reports: dict[str, Any], width: int, screenshots: Path
) -> None:
    path, data = reports["01"]
    context, page, errors = open_report(browser, path, width)
    answer = page.locator("#answer .answer-text")
    box = answer.bounding_box()
    assert box is not None and box["y"] < 900, "the answer is not on the first screen"
    text = answer.inner_text()
    zone = data["products"]["lithium_carbonate"]["zone"]
    assert f"rises from {share(zone['self_sufficiency_baseline'])} to " in text
    assert re.search(r"Consumer prices rise \d+\.\d\d% inside the zone", text)
    assert "Zone welfare" in text and "USD" in text
    # the key figures follow the paragraph; on a desktop they are on the first screen too
    tile = page.locator("#headline .kpi[data-key=zone_welfare_change_usd]")
    assert float(tile.get_attribute("data-value") or "nan") == pytest.approx(
        data["products"]["lithium_carbonate"]["summary"]["zone_welfare_change_usd"]
    )
    if width >= 1000:
        tile_box = tile.bounding_box()
        assert tile_box is not None and tile_box["y"] + tile_box["height"] < 900
    page.screenshot(path=str(screenshots / f"report-first-screen-{width}.png"))
    assert not errors
    context.close()


def test_thirty_products_small_and_charts_drawn_in_view(
    browser: Any, tmp_path: Path, screenshots: Path
) -> None:
    """Example 04 (30 products): under 5 MB; the first charts are drawn before the rest, and a
    chart far down the page is drawn as soon as it is scrolled into view."""
    path = tmp_path / "04.html"
    data = make_report(EXAMPLES / "04_full_zone_all_products.toml", path)
    assert len(data["products"]) == 30
    assert path.stat().st_size < 5_000_000
    context, page, errors = open_report(browser, path, 1440)
    page.wait_for_selector("#chart-price_summary[data-rendered=true]", timeout=60_000)
    for chart in ("chart-zone_shares", "chart-price_summary"):
        assert page.evaluate(OVERLAPS_JS, chart) == [], chart
        assert page.evaluate(CUT_JS, chart) == [], chart
    # a tall summary chart has its value axis at the top as well as the bottom
    assert page.locator("#chart-price_summary .xaxislayer-above .x3tick").count() > 0 or (
        page.locator("#chart-price_summary g.x3tick").count() > 0
    )
    # drawn lazily: when the first charts are there, most of the 122 are not yet
    rendered = page.evaluate("document.querySelectorAll('div.chart[data-rendered]').length")
    total = page.evaluate("document.querySelectorAll('div.chart').length")
    assert total == 2 + 4 * 30 and rendered < total / 2
    last = page.evaluate("Array.from(document.querySelectorAll('div.chart')).map(d => d.id).pop()")
    page.locator(f"#{last}").scroll_into_view_if_needed()
    page.wait_for_selector(f"#{last}[data-rendered=true]", timeout=60_000)
    page.screenshot(path=str(screenshots / "report-30-products.png"))
    assert not errors
    context.close()


# while the page is laid out for print (page.pdf): the drawn width of every chart and whether
# the source addresses are shown whole
PRINT_PROBE_JS = """() => {
  window.printProbe = [];
  window.matchMedia("print").addEventListener("change", (e) => {
    if (!e.matches) return;
    document.querySelectorAll("div.chart").forEach((el) => {
      const svg = el.querySelector(".main-svg");
      const drawn = svg ? svg.getBoundingClientRect().width : 0;
      window.printProbe.push({id: el.id, box: el.clientWidth, drawn: drawn});
    });
    document.querySelectorAll(".uncut").forEach((el) => {
      window.printProbe.push({id: "uncut", shown: getComputedStyle(el).display !== "none"});
    });
  });
}"""


def test_printed_charts_fit_the_paper_and_sources_are_whole(
    browser: Any, reports: dict[str, Any], tmp_path: Path
) -> None:
    """Printed from a desktop screen, every chart is drawn within its card (they kept their
    1,300 px screen width and were cut at the card's edge on A4) and a long source address is
    printed whole, not cut to "https://www.cepii.fr/CEPII/en/bdd_modele/bdd_..."; after
    printing the charts are at their screen width again."""
    path, _ = reports["01"]
    context, page, errors = open_report(browser, path, 1440)
    page.wait_for_selector("body[data-charts=done]", timeout=120_000, state="attached")
    screen = page.evaluate("document.querySelector('div.chart').clientWidth")
    page.evaluate(PRINT_PROBE_JS)
    page.pdf(path=str(tmp_path / "report.pdf"), format="A4", print_background=True)
    probe = page.evaluate("window.printProbe")
    charts = [p for p in probe if p["id"] != "uncut"]
    assert charts and all(p["box"] < screen for p in charts)
    assert [p["id"] for p in charts if p["drawn"] > p["box"] + 1] == []
    addresses = [p for p in probe if p["id"] == "uncut"]
    assert addresses and all(p["shown"] for p in addresses)
    page.wait_for_timeout(300)
    assert (
        page.evaluate("document.querySelector('div.chart .main-svg').getBoundingClientRect().width")
        >= screen - 1
    )
    assert page.evaluate("document.querySelector('.uncut').getBoundingClientRect().width") == 0
    assert not errors
    context.close()


def test_the_coalition_page_fits_a_phone(browser: Any, tmp_path: Path, screenshots: Path) -> None:
    """`critmin coalition --html` at 390 px: the page was 846 px wide (its candidates table,
    ten players with two columns per objective, unwrapped; and no viewport, so a phone drew
    it at desktop width). Its tables now scroll sideways in their own box."""
    from typer.testing import CliRunner

    from critmin.cli import app

    page_path = tmp_path / "coalition.html"
    argv = ["coalition", str(EXAMPLES / "coalition_core.toml"), "--no-cache"]
    res = CliRunner().invoke(app, [*argv, "--html", str(page_path)])
    assert res.exit_code == 0, res.output
    context, page, errors = open_report(browser, page_path, 390)
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    viewport = page.get_attribute("meta[name=viewport]", "content")
    assert viewport is not None and "width=device-width" in viewport
    # the candidates table is still whole: it scrolls inside its box
    assert page.evaluate(
        "(() => { const d = document.querySelector('.table-wrap');"
        " return d.scrollWidth > d.clientWidth; })()"
    )
    page.screenshot(path=str(screenshots / "coalition-390.png"), full_page=True)
    assert not errors
    context.close()
