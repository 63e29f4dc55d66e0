"""The designer with export controls in a real browser (Playwright + headless chromium) at
1440 px and 390 px: a saved licence with leakage and curated baseline tariffs opens with its
grant share, range and leakage shown, the page fits the width, and a run from the reopened
form gives back the saved scenario. Screenshots go to ``out/screenshots/``."""

from __future__ import annotations

import json
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from test_browser import TIMEOUT, new_page
from webutil import EXAMPLES

pytestmark = pytest.mark.usefixtures("chromium")

LEAKY_BAN = EXAMPLES / "controls" / "ga_ge_sb_ban_us_2024.toml"


def _save(url: str, data: dict[str, Any]) -> str:
    req = urllib.request.Request(
        f"{url}/api/scenarios?run=false",
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        sid: str = json.load(r)["id"]
    return sid


@pytest.mark.parametrize("width", [1440, 390])
def test_designer_shows_licence_leakage_and_tariffs(
    browser: Any, live_server: Any, screenshots: Path, width: int
) -> None:
    original = tomllib.loads(LEAKY_BAN.read_text())
    sid = _save(live_server.url, original)
    context, pg, errors = new_page(browser, width)
    pg.goto(f"{live_server.url}/designer?from={sid}", timeout=TIMEOUT)
    assert pg.locator("#policy-0-leak_via").input_value() == "THA, MEX, BEL, DEU"
    assert pg.locator("#policy-0-leak_cost_pct").is_visible()
    assert not pg.locator("#policy-0-grant_pct").is_visible()  # a ban has no grant share
    assert pg.locator("#policy-1-type").input_value() == "export_licensing"
    assert pg.locator("#policy-1-grant_pct").input_value() == "80"
    assert pg.locator("#policy-1-grant_high_pct").is_visible()
    assert pg.locator("#tariffs_baseline").input_value() == "curated"
    assert pg.locator("#year").input_value() == "2024"
    assert pg.evaluate("document.documentElement.scrollWidth") <= width
    pg.locator("#policy-1").scroll_into_view_if_needed()
    pg.screenshot(path=str(screenshots / f"designer-controls-{width}.png"), full_page=True)
    if width == 1440:
        pg.click("#run")
        pg.wait_for_url("**/designer?run=*", timeout=TIMEOUT)
        rid = pg.url.split("run=")[1].split("#")[0]
        with urllib.request.urlopen(f"{live_server.url}/api/runs/{rid}", timeout=60) as r:
            scenario = json.load(r)["scenario"]
        assert scenario["policy"] == original["policy"]
        assert scenario["tariffs"] == original["tariffs"]
        # a new instrument: the licence's fields appear, importers default to all
        pg.goto(f"{live_server.url}/designer", timeout=TIMEOUT)
        assert pg.locator("#policy-0-importers").input_value() == "members"
        pg.select_option("#policy-0-type", "export_licensing")
        assert pg.locator("#policy-0-importers").input_value() == "all"
        assert pg.locator("#policy-0-grant_pct").is_visible()
        assert pg.locator("#policy-0-leak_via").is_visible()
        assert not pg.locator("#policy-0-rate_pct").is_visible()
        pg.select_option("#policy-0-type", "tariff")
        assert pg.locator("#policy-0-importers").input_value() == "members"
        assert not pg.locator("#policy-0-leak_via").is_visible()
    context.close()
    assert not errors, errors


@pytest.mark.parametrize("width", [1440, 390])
def test_designer_edits_market_shocks(
    browser: Any, live_server: Any, screenshots: Path, width: int
) -> None:
    """Example 1 with a market shock: the shock opens in its own box, a second one is added
    with the button (no page load), a product ticked in its picker, the first removed; the
    run posts exactly the shock left, and the page fits the width."""
    original = tomllib.loads((EXAMPLES / "01_lithium_floor_levy.toml").read_text())
    original["shock"] = [{"type": "demand", "countries": "members", "change": 0.1}]
    sid = _save(live_server.url, original)
    context, pg, errors = new_page(browser, width)
    pg.goto(f"{live_server.url}/designer?from={sid}", timeout=TIMEOUT)
    assert pg.locator("#kept-notice").count() == 0  # nothing left that the form cannot edit
    assert pg.locator("#shock-0-type").input_value() == "demand"
    assert pg.locator("#shock-0-change_pct").input_value() == "10"
    pg.click("#add-shock")
    assert pg.locator("#shock-1 .shock-title").inner_text() == "Market shock 2"
    pg.select_option("#shock-1-type", "supply")
    pg.fill("#shock-1-countries", "CHN")
    pg.fill("#shock-1-change_pct", "-20")
    pg.locator("#shock-1 summary").click()
    pg.locator("#shock-1 input[type=checkbox][value=lithium_carbonate]").check()
    pg.locator("#shock-0 .remove-shock").click()
    assert pg.locator("#shock-1 .shock-title").inner_text() == "Market shock 1"
    assert pg.evaluate("document.documentElement.scrollWidth") <= width
    pg.locator("#shocks").scroll_into_view_if_needed()
    pg.screenshot(path=str(screenshots / f"designer-shocks-{width}.png"), full_page=True)
    pg.click("#run")
    pg.wait_for_url("**/designer?run=*", timeout=TIMEOUT)
    rid = pg.url.split("run=")[1].split("#")[0]
    with urllib.request.urlopen(f"{live_server.url}/api/runs/{rid}", timeout=60) as r:
        scenario = json.load(r)["scenario"]
    assert scenario["shock"] == [
        {"type": "supply", "countries": ["CHN"], "change": -0.2, "products": ["lithium_carbonate"]}
    ]
    assert scenario["policy"] == original["policy"]
    assert pg.locator("#shock-0-change_pct").input_value() == "-20"  # the run's page shows it
    if width == 1440:  # boxes added after a removal keep the page's order and are all read
        pg.goto(f"{live_server.url}/designer?preset=lithium-floor-levy", timeout=TIMEOUT)
        for _ in range(3):
            pg.click("#add-shock")
        pg.locator("#shock-0 .remove-shock").click()
        pg.click("#add-shock")
        boxes = pg.locator("#shocks .shock")
        assert boxes.count() == 3 and pg.locator("#shock-3").count() == 1
        for k, idx in enumerate(("1", "2", "3")):
            pg.select_option(f"#shock-{idx}-type", "demand")
            pg.fill(f"#shock-{idx}-change_pct", str(k + 1))
        pg.click("#run")
        pg.wait_for_url("**/designer?run=*", timeout=TIMEOUT)
        rid = pg.url.split("run=")[1].split("#")[0]
        with urllib.request.urlopen(f"{live_server.url}/api/runs/{rid}", timeout=60) as r:
            changes = [s["change"] for s in json.load(r)["scenario"]["shock"]]
        assert changes == [0.01, 0.02, 0.03]
        # at the most the button adds, it says so and is disabled; a removal enables it again
        pg.goto(f"{live_server.url}/designer", timeout=TIMEOUT)
        for _ in range(8):
            pg.click("#add-shock")
        assert pg.locator("#add-shock").is_disabled()
        assert pg.locator("#add-shock").inner_text() == "At most 8 can be added here"
        pg.locator("#shocks .shock .remove-shock").first.click()
        assert not pg.locator("#add-shock").is_disabled()
        assert pg.locator("#add-shock").inner_text() == "+ Add market shock"
    context.close()
    assert not errors, errors


@pytest.mark.parametrize("javascript", [True, False])
def test_enter_in_a_field_runs_and_removes_nothing(
    browser: Any, live_server: Any, javascript: bool
) -> None:
    """Enter in a text field submits the form with its default button: the run. (The first
    submit button used to be instrument 1's Remove, so Enter deleted the instrument.)"""
    context, pg, errors = new_page(browser, 1440, java_script_enabled=javascript)
    pg.goto(f"{live_server.url}/designer?preset=lithium-floor-levy", timeout=TIMEOUT)
    assert pg.locator("#policies .policy").count() == 1
    price = pg.locator("#policy-0-price")
    price.fill("18000")
    price.press("Enter")
    pg.wait_for_url("**/designer?run=*", timeout=TIMEOUT)
    rid = pg.url.split("run=")[1].split("#")[0]
    with urllib.request.urlopen(f"{live_server.url}/api/runs/{rid}", timeout=60) as r:
        policies = json.load(r)["scenario"]["policy"]
    assert len(policies) == 1 and policies[0]["price_usd_per_t"] == 18000
    assert pg.locator("#policy-0-price").input_value() == "18000"
    context.close()
    assert not errors, errors


def test_removing_a_box_or_a_chip_keeps_the_keyboard_in_place(
    browser: Any, live_server: Any
) -> None:
    context, pg, errors = new_page(browser, 1440)
    pg.goto(f"{live_server.url}/designer?preset=lithium-floor-levy", timeout=TIMEOUT)
    pg.click("#add-policy")
    pg.locator("#policies .policy .remove-policy").last.focus()
    pg.keyboard.press("Enter")
    assert pg.evaluate("document.activeElement.id") == "policy-0-type"
    pg.locator("#policies .policy .remove-policy").first.focus()
    pg.keyboard.press("Enter")
    assert pg.evaluate("document.activeElement.id") == "add-policy"
    chip = pg.locator(".chip button").first
    chip.focus()
    pg.keyboard.press("Enter")
    assert pg.evaluate("document.activeElement.tagName") != "BODY"
    context.close()
    assert not errors, errors


def test_without_javascript_the_pickers_are_plain_checkboxes(
    browser: Any, live_server: Any
) -> None:
    context, pg, _ = new_page(browser, 1440, java_script_enabled=False)
    pg.goto(f"{live_server.url}/designer?preset=lithium-floor-levy", timeout=TIMEOUT)
    assert pg.locator(".picker-search").first.is_hidden()
    assert pg.locator(".picker .picked").first.is_hidden()
    assert pg.locator(".picker input[type=checkbox]:checked").count() > 0
    context.close()
    context, pg, errors = new_page(browser, 1440)
    pg.goto(f"{live_server.url}/designer?preset=lithium-floor-levy", timeout=TIMEOUT)
    assert pg.locator(".picker-search").first.is_visible()
    context.close()
    assert not errors, errors


def test_a_long_name_wraps_on_a_phone(browser: Any, live_server: Any) -> None:
    """A scenario name is one long word to the browser: its page, and the sweep page that
    heads its table with it, still fit 390 px (the sweep table scrolls in its own box)."""
    data = tomllib.loads((EXAMPLES / "01_lithium_floor_levy.toml").read_text())
    data["name"] = "Lithium_carbonate_floor_15000_levy_USMCA_EU27_v3_with_a_very_long_name"
    sid = _save(live_server.url, data)
    context, pg, errors = new_page(browser, 390)
    sweep = "parameter=policy[0].price_usd_per_t&start=10000&stop=20000&steps=3"
    for path in (f"/scenarios/{sid}", f"/sweep?source={sid}&{sweep}"):
        pg.goto(f"{live_server.url}{path}", timeout=TIMEOUT)
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390, path
    context.close()
    assert not errors, errors
