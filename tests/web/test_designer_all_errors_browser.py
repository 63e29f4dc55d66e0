"""A designer form with three mistakes of different kinds, sent from a real browser
(Playwright + headless chromium) on a 390 px phone: the summary at the top lists all three,
each message stands next to its field, the typed values are kept and the page fits the
width. The screenshot goes to ``out/screenshots/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_browser import TIMEOUT, new_page

pytestmark = pytest.mark.usefixtures("chromium")


def test_the_summary_lists_every_mistake_on_a_phone(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    context, pg, errors = new_page(browser, 390)
    pg.goto(f"{live_server.url}/designer?preset=lithium-floor-levy", timeout=TIMEOUT)
    pg.fill("#demand_elasticity", "abc")
    pg.fill("#sigma", "-2")
    pg.fill("#policy-0-price", "")
    pg.click("#run")
    pg.wait_for_selector("#designer-error", timeout=TIMEOUT)
    links = pg.locator("#designer-error a")
    assert links.count() == 3, pg.locator("#designer-error").inner_text()
    assert [links.nth(k).get_attribute("href") for k in range(3)] == [
        "#demand_elasticity",
        "#policy-0-price",
        "#sigma",
    ]
    for anchor in ("demand_elasticity", "policy-0-price", "sigma"):
        assert pg.locator(f"#err-{anchor}").is_visible(), anchor
    assert pg.locator("#demand_elasticity").input_value() == "abc"
    assert pg.locator("#sigma").input_value() == "-2"
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    links.nth(2).click()  # the summary's link goes to the field
    assert pg.evaluate("location.hash") == "#sigma"
    pg.screenshot(path=str(screenshots / "designer-all-errors-390.png"), full_page=True)
    assert not errors, errors
    context.close()
