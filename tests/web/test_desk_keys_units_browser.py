"""The desk in a real browser (Playwright + Debian's headless chromium): the world map's
price | welfare switch from the keyboard, the sweep's table of points at 1440 px, and chart
ticks in the units the page's text uses (``USD 60.0 m``, ``15,000``: never ``-60M`` or
``15k``). Screenshots go to ``out/screenshots/``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_browser import TIMEOUT, new_page, wait_for_charts
from test_desk_browser import _save
from webutil import EXAMPLE1_DICT

pytestmark = pytest.mark.usefixtures("chromium")

MAP = "div.chart[id$='-map']"
SI_TICKS_JS = r"""() => Array.from(document.querySelectorAll(
    '.xtick text, .ytick text, .cbaxis text, [class*="x2tick"] text, [class*="y2tick"] text, '
    + '[class*="y3tick"] text, [class*="x3tick"] text'))
  .map((t) => t.textContent.trim()).filter((t) => /\d\s*[kMGBT]%?$/.test(t))"""


def _charts_drawn(pg: Any) -> None:
    """Every chart drawn (they are drawn as they scroll into view)."""
    pg.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    wait_for_charts(pg)
    pg.evaluate("window.scrollTo(0, 0)")


def test_the_map_switch_is_reached_by_tab_and_worked_by_keys(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """Plotly's own buttons (SVG) had no Tab stop: the map's consumer price | welfare switch
    is now radio buttons above the map, reached by Tab, picked with the arrow keys or Space,
    with a visible focus ring; picking one recolours the map as the buttons did."""
    for width in (1440, 390):
        context, pg, errors = new_page(browser, width)
        sid = _save(pg, live_server.url, copy.deepcopy(EXAMPLE1_DICT))
        pg.goto(f"{live_server.url}/scenarios/{sid}", timeout=TIMEOUT)
        pg.locator(MAP).first.scroll_into_view_if_needed()
        pg.wait_for_selector(f"{MAP}[data-rendered=true]", timeout=TIMEOUT)
        group = pg.locator("fieldset.chart-switch").first
        assert group.is_visible()
        assert "Consumer price change" in group.inner_text() and "Welfare" in group.inner_text()
        assert (
            pg.evaluate(f"document.querySelector(\"{MAP}\").querySelector('.updatemenu-container')")
            is None
        )
        # Tab from the text above the map lands on the chosen radio button
        pg.evaluate(
            "() => { const h = document.querySelector('fieldset.chart-switch').previousElementSibling;"
            " h.tabIndex = -1; h.focus(); }"
        )
        pg.keyboard.press("Tab")
        focused = pg.evaluate(
            "() => { const a = document.activeElement; return [a.type, a.checked,"
            " !!a.closest('fieldset.chart-switch'), getComputedStyle(a.closest('label')).boxShadow,"
            " getComputedStyle(a).outlineStyle]; }"
        )
        assert focused[:3] == ["radio", True, True], focused
        assert focused[3] != "none" or focused[4] != "none", focused  # a focus ring shows
        title = f'() => document.querySelector("{MAP}").data[1].colorbar.title.text'
        assert pg.evaluate(title).startswith("Consumer price change")
        pg.keyboard.press("ArrowRight")
        pg.wait_for_function(f"({title})().startsWith('Welfare change (USD')", timeout=TIMEOUT)
        pg.screenshot(path=str(screenshots / f"map-switch-keys-{width}.png"))
        pg.keyboard.press("ArrowLeft")
        pg.wait_for_function(f"({title})().startsWith('Consumer price')", timeout=TIMEOUT)
        pg.keyboard.press("Space")  # Space on the chosen one keeps it
        assert pg.evaluate(title).startswith("Consumer price change")
        context.close()
        assert not errors, errors


def test_the_sweep_table_fits_1440_px_and_the_ticks_use_the_texts_units(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """The sweep's 13 columns ran to 2,165 px (scrolled sideways at 1440 px): grouped, short
    headings now fit, each with its full name as a tooltip, and the phone's cards keep the full
    names. Plotly's SI ticks (``10k`` on the floor price, ``-60M`` for USD) read as the text
    writes them on the scenario, sweep and coalition pages."""
    context, pg, errors = new_page(browser, 1440)
    sid = _save(pg, live_server.url, copy.deepcopy(EXAMPLE1_DICT))
    sweep = (
        f"/sweep?source={sid}&parameter=policy[0].price_usd_per_t&start=10000&stop=20000&steps=3"
    )
    pg.goto(f"{live_server.url}{sweep}", timeout=TIMEOUT)
    _charts_drawn(pg)
    wrap = (
        "() => { const w = document.querySelector('#sweep-table').closest('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    scroll, client = pg.evaluate(wrap)
    assert scroll <= client, (scroll, client)
    assert pg.locator("#sweep-table td").count() == 3 * 13
    assert pg.locator("#sweep-table th[title='Zone consumer surplus (USD)']").count() == 1
    pg.locator("#sweep-table").screenshot(path=str(screenshots / "sweep-table-1440.png"))
    pages = [sweep, f"/scenarios/{sid}", f"/coalition?run=true&source={sid}&candidates=CHL"]
    for path in pages:
        pg.goto(f"{live_server.url}{path}", timeout=TIMEOUT)
        _charts_drawn(pg)
        assert pg.evaluate(SI_TICKS_JS) == [], path
    ticks = pg.evaluate(
        "() => Array.from(document.querySelectorAll('.xtick text')).map(t => t.textContent)"
    )
    assert ticks, "the coalition charts have no ticks"
    pg.goto(f"{live_server.url}/scenarios/{sid}", timeout=TIMEOUT)
    _charts_drawn(pg)
    titles = pg.evaluate(
        "() => Array.from(document.querySelectorAll('.xtitle')).map(t => t.textContent)"
    )
    assert any("sales to zone members (USD m" in t for t in titles), titles
    context.close()
    context, pg, errors2 = new_page(browser, 390)
    pg.goto(f"{live_server.url}{sweep}", timeout=TIMEOUT)
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    label = pg.locator("#sweep-table td").nth(5).get_attribute("data-label")
    assert label == "Zone consumer surplus (USD)", label
    context.close()
    assert not errors and not errors2, errors + errors2
