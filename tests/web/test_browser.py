"""The dashboard and the report in a real browser (Playwright + Debian's headless chromium).

The server runs under uvicorn in a thread on 127.0.0.1 (fixture ``live_server``). Every page is
checked for drawn charts (Plotly's ``.main-svg`` inside each chart div) and screenshotted into
``out/screenshots/``. The report is opened from disk with every network request refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webutil import CHROMIUM_ARGS, EXAMPLE1

from critmin.report import write_report
from critmin.report.format import pct, usd
from critmin.simulation import simulate

pytestmark = pytest.mark.usefixtures("chromium")


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def wait_for_charts(pg: Any) -> None:
    pg.wait_for_selector("body[data-charts=done]", timeout=90_000)
    charts = pg.locator("div.chart")
    n = charts.count()
    assert n > 0
    for i in range(n):
        div = charts.nth(i)
        assert div.get_attribute("data-rendered") == "true", div.get_attribute("id")
        assert div.locator(".main-svg").count() > 0, div.get_attribute("id")


def test_overview(page: Any, live_server: Any, screenshots: Path) -> None:
    page.goto(f"{live_server.url}/overview", timeout=90_000)
    wait_for_charts(page)
    assert page.locator("#chart-hhi .main-svg").count() > 0
    assert page.locator("#chart-supply-map path.choroplethlocation").count() > 100
    assert page.locator("#assess-table tbody tr").count() > 20
    page.screenshot(path=str(screenshots / "overview.png"), full_page=True)


def test_design_run_and_save_example1(
    page: Any, live_server: Any, screenshots: Path, example1_result: dict[str, Any]
) -> None:
    page.goto(f"{live_server.url}/designer")
    page.fill("#name", "Browser: lithium floor")
    page.check("input[name=member_groups][value=EU27]")
    page.select_option("#member_countries", ["USA", "CAN", "AUS", "JPN", "KOR"])
    page.select_option("#watch", ["CHN"])
    page.check("input[name=products][value=lithium_carbonate]")
    page.select_option("#policy-0-type", "price_floor")
    page.select_option("#policy-0-mechanism", "variable_levy")
    page.fill("#policy-0-price", "15000")
    assert page.locator("#policy-0-rate_pct").is_hidden()  # fields follow the instrument
    page.click("#add-policy")
    assert page.locator("#policy-2-type").count() == 1
    page.screenshot(path=str(screenshots / "designer.png"), full_page=True)

    page.click("#run")
    wait_for_charts(page)
    product = page.locator("section.product[data-product=lithium_carbonate]")
    assert product.locator("#chart-lithium_carbonate-sankey g.sankey").count() > 0
    expected = example1_result["products"]["lithium_carbonate"]["summary"]
    tile = product.locator(".kpi[data-key=zone_consumer_price_change_pct]")
    assert float(tile.get_attribute("data-value")) == pytest.approx(
        expected["zone_consumer_price_change_pct"], rel=1e-12
    )
    assert tile.locator(".value").inner_text() == pct(expected["zone_consumer_price_change_pct"])
    revenue = product.locator(".kpi[data-key=tariff_revenue_change_usd] .value").inner_text()
    assert revenue == "USD " + usd(expected["tariff_revenue_change_usd"], signed=True)
    page.screenshot(path=str(screenshots / "designer-results.png"), full_page=True)

    page.click("#save")
    page.wait_for_url("**/scenarios/*saved=1*")
    wait_for_charts(page)
    assert page.locator("#saved-notice").is_visible()
    page.screenshot(path=str(screenshots / "scenario.png"), full_page=True)
    # Monte Carlo draws from the saved scenario's page: fan charts for the product
    page.fill("#uncertainty-form input[name=draws]", "30")
    page.click("#uncertainty-form button[type=submit]")
    page.wait_for_url("**draws=30**")
    wait_for_charts(page)
    assert page.locator("#chart-lithium_carbonate-fan_pct .main-svg").count() > 0
    assert page.locator("#chart-lithium_carbonate-fan_usd .main-svg").count() > 0
    page.screenshot(path=str(screenshots / "scenario-uncertainty.png"), full_page=True)
    page.goto(f"{live_server.url}/scenarios")
    assert page.locator("#scenarios-table").inner_text().count("Browser: lithium floor") == 1
    page.screenshot(path=str(screenshots / "scenarios.png"), full_page=True)


def test_sources_page(page: Any, live_server: Any, screenshots: Path) -> None:
    page.goto(f"{live_server.url}/sources")
    assert page.locator("h1").inner_text() == "Data sources"
    assert "CEPII" in page.content()
    page.screenshot(path=str(screenshots / "sources.png"), full_page=True)


def test_report_renders_offline(browser: Any, tmp_path: Path, screenshots: Path) -> None:
    path = tmp_path / "report.html"
    write_report(EXAMPLE1, simulate(EXAMPLE1).to_dict(), path)
    context = browser.new_context(viewport={"width": 1300, "height": 900}, offline=True)
    requests: list[str] = []

    def refuse(route: Any) -> None:
        requests.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", refuse)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    wait_for_charts(page)
    assert page.locator("#chart-lithium_carbonate-map path.choroplethlocation").count() > 100
    assert [u for u in requests if not u.startswith("file://")] == []
    assert not errors
    page.screenshot(path=str(screenshots / "report.png"), full_page=True)
    context.close()
