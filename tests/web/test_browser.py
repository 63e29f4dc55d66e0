"""The dashboard and the report in a real browser (Playwright + Debian's headless chromium).

The server runs under uvicorn in a thread on 127.0.0.1 (fixture ``live_server``). Charts are
checked as drawn (Plotly's ``.main-svg`` inside each chart div); screenshots at 1440 and 390 px
go to ``out/screenshots/``. The report and ``/docs`` are opened with every request outside
the file or the test server refused. Kept few and fast: one designer flow end to end, one
phone-width pass, the offline API docs, the offline report.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from webutil import EXAMPLE1, EXAMPLE1_DICT

from critmin.report import write_report
from critmin.report.format import pct
from critmin.scenario import load_scenario
from critmin.simulation import simulate

pytestmark = pytest.mark.usefixtures("chromium")
TIMEOUT = 90_000


def new_page(browser: Any, width: int, **options: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    return context, pg, errors


def wait_for_charts(pg: Any) -> None:
    pg.wait_for_selector("body[data-charts=done]", timeout=TIMEOUT)
    charts = pg.locator("div.chart")
    for i in range(charts.count()):
        div = charts.nth(i)
        if div.is_visible():
            assert div.get_attribute("data-rendered") == "true", div.get_attribute("id")


OVERLAPS_JS = """(selector) => {
  const boxes = [];
  // each element's box, clipped by every scrolling or hidden-overflow ancestor
  document.querySelectorAll(selector).forEach((el) => {
    const r = el.getBoundingClientRect();
    let [x0, y0, x1, y1] = [r.left, r.top, r.right, r.bottom];
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p);
      if (o.overflowX !== 'visible' || o.overflowY !== 'visible') {
        const c = p.getBoundingClientRect();
        x0 = Math.max(x0, c.left); y0 = Math.max(y0, c.top);
        x1 = Math.min(x1, c.right); y1 = Math.min(y1, c.bottom);
      }
    }
    const shown = el.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true});
    if (x1 - x0 > 0 && y1 - y0 > 0 && shown) {
      boxes.push({text: el.textContent.trim().slice(0, 40), x: x0 + scrollX,
                  y: y0 + scrollY, w: x1 - x0, h: y1 - y0});
    }
  });
  const hits = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      const dx = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const dy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (dx > 1 && dy > 1) { hits.push([a.text, b.text]); }
    }
  }
  return {count: boxes.length, hits: hits};
}"""
LABELS = "label, .lbl, .kpi .label, .kpi .value, h1, h2, .btn, .chip, .picker-head"


def assert_no_overlaps(pg: Any) -> None:
    found = pg.evaluate(OVERLAPS_JS, LABELS)
    assert found["count"] > 10
    assert found["hits"] == [], found["hits"][:5]


def pick(pg: Any, picker: str, search: str, value: str) -> None:
    """Type ``search`` in a picker's search box and tick the option ``value``."""
    box = pg.locator(f"#{picker}")
    box.locator(".picker-search").fill(search)
    option = box.locator(f"input[value='{value}']")
    assert option.is_visible()
    assert box.locator(".opt:visible").count() < 10  # the search narrowed the list
    option.check()


def test_overview(browser: Any, live_server: Any, screenshots: Path) -> None:
    context, pg, errors = new_page(browser, 1440)
    pg.goto(f"{live_server.url}/overview", timeout=TIMEOUT)
    wait_for_charts(pg)
    assert pg.locator("#chart-supply-map path.choroplethlocation").count() > 100
    assert pg.locator("#assess-table tbody tr").count() > 20
    pg.screenshot(path=str(screenshots / "overview-1440.png"))
    context.close()
    assert not errors


def test_designer_flow_build_run_save_reopen_compare_export(
    browser: Any,
    live_server: Any,
    screenshots: Path,
    example1_result: dict[str, Any],
    tmp_path: Path,
) -> None:
    from openpyxl import load_workbook

    context, pg, errors = new_page(browser, 1440, accept_downloads=True)
    pg.goto(f"{live_server.url}/designer", timeout=TIMEOUT)
    pg.fill("#name", "Browser: lithium floor")
    pick(pg, "members", "european union", "EU27")
    assert "source:" in pg.locator("#members label:has(input[value=EU27]) .sub").inner_text()
    for name, code in [
        ("united states", "USA"),
        ("canada", "CAN"),
        ("australia", "AUS"),
        ("japan", "JPN"),
        ("korea", "KOR"),
    ]:
        pick(pg, "members", name, code)
    assert pg.locator("#members .picked .chip").count() == 6
    pick(pg, "watch", "china", "CHN")
    pick(pg, "products", "lithium carb", "lithium_carbonate")
    assert pg.locator("#products .picked .chip").inner_text().startswith("Lithium carbonate")
    pg.select_option("#policy-0-type", "price_floor")
    pg.fill("#policy-0-price", "15000")
    assert pg.locator("#policy-0-rate_pct").is_hidden()  # fields follow the instrument
    pg.click("#add-policy")
    assert pg.locator("#policies .policy").count() == 2
    pg.locator("#policies .policy").nth(1).locator(".remove-policy").click()
    assert pg.locator("#policies .policy").count() == 1
    assert_no_overlaps(pg)
    pg.screenshot(path=str(screenshots / "designer-1440.png"), full_page=True)

    pg.click("#run")
    pg.wait_for_url("**/designer?run=*", timeout=TIMEOUT)
    wait_for_charts(pg)
    heading = pg.locator("#results h2").first.bounding_box()
    nav = pg.locator("#topbar").bounding_box()
    assert heading["y"] >= nav["y"] + nav["height"] - 1  # results below the sticky nav
    assert pg.locator("#save").is_visible()
    expected = example1_result["products"]["lithium_carbonate"]["summary"]
    product = pg.locator("section.product[data-product=lithium_carbonate]")
    tile = product.locator(".kpi[data-key=zone_consumer_price_change_pct]")
    assert float(tile.get_attribute("data-value")) == pytest.approx(
        expected["zone_consumer_price_change_pct"], rel=1e-12
    )
    assert tile.locator(".value").inner_text() == pct(expected["zone_consumer_price_change_pct"])
    share_link = pg.locator("#share-link").get_attribute("href")
    assert_no_overlaps(pg)
    pg.screenshot(path=str(screenshots / "designer-results-1440.png"))

    pg.click("#save")
    pg.wait_for_url("**/scenarios/*saved=1*", timeout=TIMEOUT)
    wait_for_charts(pg)
    assert pg.locator("#saved-notice").is_visible()
    saved_url = pg.url.split("?")[0]
    sid = saved_url.rsplit("/", 1)[1]

    # the shared address opens the same run
    pg.goto(f"{live_server.url}{share_link}")
    assert pg.locator("h1").inner_text() == "Browser: lithium floor"

    # reopened in the designer, the form is as it was built
    pg.goto(saved_url)
    pg.click("#reopen")
    pg.wait_for_url("**/designer?from=*")
    assert pg.locator("#members input[value=EU27]").is_checked()
    assert pg.locator("#watch input[value=CHN]").is_checked()
    assert pg.locator("#policy-0-price").input_value() == "15000"

    # compared with another saved scenario
    other = copy.deepcopy(EXAMPLE1_DICT)
    other["name"] = "Browser: higher floor"
    other["policy"][0]["price_usd_per_t"] = 18000
    pg.request.post(f"{live_server.url}/api/scenarios", data=other)
    pg.goto(f"{live_server.url}/scenarios")
    assert pg.locator("#scenarios-table [data-key=self_sufficiency]").count() >= 2
    pg.goto(saved_url)
    pg.select_option(
        "#compare-b",
        label=pg.locator("#compare-b option", has_text="higher floor").first.inner_text(),
    )
    pg.click("#compare-form button[type=submit]")
    pg.wait_for_url("**/compare?*")
    row = pg.locator("#compare-totals-table tr[data-key=zone_consumer_price_change_pct]")
    assert float(row.get_attribute("data-diff")) > 0  # a higher floor raises zone prices more
    pg.screenshot(path=str(screenshots / "compare-1440.png"), full_page=True)

    # exported to Excel
    pg.goto(saved_url)
    with pg.expect_download() as download:
        pg.click("#export-xlsx")
    path = tmp_path / "result.xlsx"
    download.value.save_as(path)
    book = load_workbook(path)
    assert {"summary", "products", "countries", "flows", "welfare"} <= set(book.sheetnames)
    assert sid
    context.close()
    assert not errors, errors


def test_phone_width_fits_and_the_nav_does_not_cover_content(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    context, pg, errors = new_page(browser, 390)
    for url, name in [
        ("/designer?preset=lithium-floor-levy", "designer-390"),
        ("/overview", "overview-390"),
        ("/scenarios", "scenarios-390"),
    ]:
        pg.goto(f"{live_server.url}{url}", timeout=TIMEOUT)
        if name == "overview-390":
            wait_for_charts(pg)
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390, url
        assert pg.evaluate("getComputedStyle(document.getElementById('topbar')).position") == (
            "static"
        )
        pg.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    pg.goto(f"{live_server.url}/designer?preset=lithium-floor-levy")
    pg.click("#run")
    pg.wait_for_url("**/designer?run=*", timeout=TIMEOUT)
    wait_for_charts(pg)
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    assert pg.locator("#results h2").first.is_visible()
    assert_no_overlaps(pg)
    pg.screenshot(path=str(screenshots / "designer-results-390.png"))
    context.close()
    assert not errors


def _offline_context(browser: Any, allowed: str) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    outside: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url.startswith(allowed):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", refuse)
    return context, outside


def test_api_docs_render_offline(browser: Any, live_server: Any, screenshots: Path) -> None:
    context, outside = _offline_context(browser, live_server.url)
    pg = context.new_page()
    pg.goto(f"{live_server.url}/docs", timeout=TIMEOUT)
    pg.wait_for_selector(".swagger-ui .opblock", timeout=TIMEOUT)
    assert pg.locator(".swagger-ui .opblock").count() > 15
    assert "critmin" in pg.locator(".swagger-ui .title").inner_text()
    # the docs have no navigation bar: their description links back to the dashboard
    assert pg.locator(".swagger-ui .info a[href='/overview']").is_visible()
    pg.screenshot(path=str(screenshots / "docs-1440.png"))
    context.close()
    assert outside == []


def test_report_renders_offline(browser: Any, tmp_path: Path, screenshots: Path) -> None:
    path = tmp_path / "report.html"
    scenario = load_scenario(EXAMPLE1)
    write_report(scenario, simulate(scenario).to_dict(), path)
    context, outside = _offline_context(browser, "file://")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    wait_for_charts(page)
    assert page.locator("#chart-lithium_carbonate-map path.choroplethlocation").count() > 100
    assert outside == []
    assert not errors
    page.screenshot(path=str(screenshots / "report.png"), full_page=True)
    context.close()
