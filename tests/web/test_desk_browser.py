"""The desk's analysis pages in a real browser (Playwright + Debian's headless chromium) at a
phone's width (390 px): the sweep, coalition and yearly paths charts draw without labels that
overlap or stick out of the chart. Screenshots go to ``out/screenshots/``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_browser import TIMEOUT, new_page, wait_for_charts
from test_report_browser import CUT_JS, OVERLAPS_JS
from webutil import EXAMPLE1_DICT

pytestmark = pytest.mark.usefixtures("chromium")


def _save(page: Any, url: str, data: dict[str, Any]) -> str:
    answer = page.request.post(f"{url}/api/scenarios", data=data)
    assert answer.status == 201, answer.text()
    sid: str = answer.json()["id"]
    return sid


def test_analysis_charts_fit_a_phone(browser: Any, live_server: Any, screenshots: Path) -> None:
    """Plotly neither wraps a title nor keeps a legend off the axis: the paths charts' legend
    ran over the years and the mechanisms, the coalition charts' axis titles (which name the
    objective) were cut at the chart's edge, and the sweep's x title sat on its ticks."""
    data = copy.deepcopy(EXAMPLE1_DICT) | {"paths": {"floor_usd_per_t": 15000}}
    context, pg, errors = new_page(browser, 390)
    sid = _save(pg, live_server.url, data)
    sweep = "parameter=policy[0].price_usd_per_t&start=10000&stop=20000&steps=3"
    pages = {
        "sweep": f"/sweep?source={sid}&{sweep}",
        "coalition": f"/coalition?run=true&source={sid}&candidates=CHL&candidates=ARG",
        "paths": f"/paths?run=true&source={sid}&draws=0",
    }
    for name, path in pages.items():
        pg.goto(f"{live_server.url}{path}", timeout=TIMEOUT)
        wait_for_charts(pg)
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390, path
        charts = pg.evaluate("Array.from(document.querySelectorAll('div.chart')).map(d => d.id)")
        assert charts, path
        for chart in charts:
            assert pg.get_attribute(f"#{chart}", "data-rendered") == "true", chart
            assert pg.evaluate(OVERLAPS_JS, chart) == [], (name, chart)
            assert pg.evaluate(CUT_JS, chart) == [], (name, chart)
        pg.screenshot(path=str(screenshots / f"{name}-charts-390.png"), full_page=True)
    context.close()
    assert not errors, errors


OFF_SCREEN_JS = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter((el) => { const r = el.getBoundingClientRect(); return r.width < 1 || r.right > innerWidth; })
  .map((el) => el.textContent.trim().slice(0, 40))"""


def test_wide_tables_read_as_cards_on_a_phone(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """The comparison's B and B − A, the sources' links and the saved list's results and
    actions were columns scrolled out of the 390 px screen (only the first one or two showed):
    each row is now a card whose every cell is on the screen. The CSV downloads and the
    actions are 24 px targets or more."""
    context, pg, errors = new_page(browser, 390)
    sid = _save(pg, live_server.url, copy.deepcopy(EXAMPLE1_DICT))
    cells = {
        f"/compare?a={sid}&b=baseline": "#compare-totals-table td",
        "/sources": "table.cards td",
        "/scenarios": "#scenarios-table td",
    }
    for path, selector in cells.items():
        pg.goto(f"{live_server.url}{path}", timeout=TIMEOUT)
        assert pg.locator(selector).count() > 4, path
        assert pg.evaluate(OFF_SCREEN_JS, selector) == [], path
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390, path
    pg.goto(f"{live_server.url}/compare?a={sid}&b=baseline", timeout=TIMEOUT)
    diff = pg.locator("#compare-totals-table tr[data-key=zone_consumer_price_change_pct] td").last
    assert diff.is_visible() and diff.get_attribute("data-label") == "B − A"
    assert diff.inner_text().endswith(" pp")
    pg.screenshot(path=str(screenshots / "compare-cards-390.png"), full_page=True)
    # the downloads and the saved list's actions are targets a finger can hit (words 14 px high)
    for path, links in ((f"/scenarios/{sid}", "#exports a"), ("/scenarios", "td.links a")):
        pg.goto(f"{live_server.url}{path}", timeout=TIMEOUT)
        heights = pg.evaluate(
            f"Array.from(document.querySelectorAll('{links}'))"
            ".map((a) => a.getBoundingClientRect().height)"
        )
        assert len(heights) >= 4 and min(heights) >= 24, (path, heights)
    context.close()
    assert not errors, errors


def test_the_keyboard_reaches_run_past_the_pickers(browser: Any, live_server: Any) -> None:
    """Each picker is one stop of the Tab order and the arrow keys move inside it (every
    checkbox was a stop: Run was 584 presses of Tab from the top of the designer); the option
    the keyboard is on is highlighted, and a chip's × is big enough to tap (it was 13 × 15 px)."""
    context, pg, errors = new_page(browser, 390)
    pg.goto(f"{live_server.url}/designer", timeout=TIMEOUT)
    pg.focus("#name")
    presses = 0
    while presses < 80 and pg.evaluate("document.activeElement.id") != "run":
        pg.keyboard.press("Tab")
        presses += 1
    assert pg.evaluate("document.activeElement.id") == "run", presses
    pg.focus("#members .picker-search")
    pg.keyboard.type("european union")
    pg.keyboard.press("ArrowDown")
    assert pg.evaluate("document.activeElement.value") == "EU27"
    pg.keyboard.press("Space")
    assert pg.locator("#members input[value=EU27]").is_checked()
    pg.fill("#members .picker-search", "")
    pg.locator("#members input[value=EU27]").focus()
    pg.keyboard.press("ArrowDown")
    assert pg.evaluate("document.activeElement.value") != "EU27"
    pg.keyboard.press("ArrowUp")
    assert pg.evaluate("document.activeElement.value") == "EU27"
    background = "el => getComputedStyle(el).backgroundColor"
    focused = pg.locator("#members label:has(input[value=EU27])").evaluate(background)
    assert focused != pg.locator("#members label:has(input[value=APEC])").evaluate(background)
    pg.keyboard.press("Tab")  # out of the list, to the next picker
    assert pg.evaluate("document.activeElement.closest('.picker').id") == "watch"
    remove = pg.locator("#members .chip button").bounding_box()
    assert remove is not None and remove["width"] >= 24 and remove["height"] >= 24
    context.close()
    assert not errors, errors


# a shown select whose chosen option's text is wider than the box (less the arrow's room)
CUT_SELECTS_JS = """() => {
  const ctx = document.createElement("canvas").getContext("2d");
  return Array.from(document.querySelectorAll("select")).filter((s) => s.checkVisibility())
    .filter((s) => {
      const style = getComputedStyle(s), option = s.options[s.selectedIndex];
      ctx.font = style.fontSize + " " + style.fontFamily;
      return option && ctx.measureText(option.text).width + 36 > s.clientWidth;
    }).map((s) => s.id + ": " + s.options[s.selectedIndex].text);
}"""


def test_select_boxes_show_their_choice(browser: Any, live_server: Any) -> None:
    """The instruments' and the game's fields are 190 px columns: a select whose choices are
    long words takes two ('variable levy on non-member imports' showed as 'variable levy on
    non-memb', the rule of origin's 'none (all member output qu')."""
    context, pg, errors = new_page(browser, 1440)
    for path in (
        "/designer?preset=lithium-floor-levy",
        "/designer?preset=lithium-chain-refine-floor",
        "/coalition",
    ):
        pg.goto(f"{live_server.url}{path}", timeout=TIMEOUT)
        assert pg.evaluate(CUT_SELECTS_JS) == [], path
    context.close()
    assert not errors, errors


def test_the_first_tab_skips_the_navigation(browser: Any, live_server: Any) -> None:
    """Every page began with the ten links of the navigation: a keyboard user pressed Tab ten
    times on each page before reaching it. The first Tab now shows a *Skip to the content*
    link, which moves the Tab order to the page; the current page's link is marked."""
    context, pg, errors = new_page(browser, 390)
    for path, focusable in (("/designer", "#name"), ("/sweep", "#source")):
        pg.goto(f"{live_server.url}{path}", timeout=TIMEOUT)
        pg.keyboard.press("Tab")
        skip = pg.locator("a.skip-link")
        assert pg.evaluate("document.activeElement.className") == "skip-link", path
        box = skip.bounding_box()
        assert box is not None and box["y"] >= 0 and box["x"] + box["width"] <= 390, path
        pg.keyboard.press("Enter")
        presses = 0
        while presses < 12 and not pg.evaluate(
            "(sel) => document.activeElement.matches(sel)", focusable
        ):
            assert pg.evaluate("!document.activeElement.closest('#topbar')"), path
            pg.keyboard.press("Tab")
            presses += 1
        assert pg.evaluate("(sel) => document.activeElement.matches(sel)", focusable), path
    assert pg.locator("#topbar nav a[aria-current=page]").all_inner_texts() == ["Sweep"]
    context.close()
    assert not errors, errors


def test_a_saved_scenarios_answer_starts_on_a_phones_first_screen(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """The answer first: on a 390 x 844 phone, a saved scenario's page showed its six buttons
    in four rows of 49 px and began the answer 545 px down; the buttons are compact chips
    there now (still targets a finger can hit), and the answer's first lines are on the first
    screen."""
    context, pg, errors = new_page(browser, 390)
    sid = _save(pg, live_server.url, copy.deepcopy(EXAMPLE1_DICT))
    pg.goto(f"{live_server.url}/scenarios/{sid}", timeout=TIMEOUT)
    top = pg.evaluate(
        "Array.from(document.querySelectorAll('h2'))"
        ".find((h) => h.textContent.trim() === 'The answer').getBoundingClientRect().top"
    )
    assert top < 500, top
    heights = pg.evaluate(
        "Array.from(document.querySelectorAll('header.header .actions .btn'))"
        ".map((b) => b.getBoundingClientRect().height)"
    )
    assert len(heights) >= 5 and min(heights) >= 24, heights
    pg.screenshot(path=str(screenshots / "scenario-answer-390.png"))
    context.close()
    assert not errors, errors


def test_a_refused_form_puts_the_keyboard_on_what_to_change(browser: Any, live_server: Any) -> None:
    """After a refused form the keyboard started at the top of the page, above the
    navigation; it now starts on the summary of what to change, whose next Tab stop is the
    link to the first refused field."""
    context, pg, errors = new_page(browser, 390)
    sid = _save(pg, live_server.url, copy.deepcopy(EXAMPLE1_DICT))
    pg.goto(f"{live_server.url}/scenarios/{sid}?draws=0&seed=1", timeout=TIMEOUT)
    assert pg.evaluate("document.activeElement.id") == "form-error"
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.getAttribute('href')") == "#draws"
    context.close()
    assert [e for e in errors if "422" not in e] == [], errors


# a shown drop-down whose chosen text is cut: one line wider than the box (less the arrow's
# room), or, where the box wraps its text (appearance: base-select), more lines than it shows
CUT_CHOICE_JS = """() => {
  const ctx = document.createElement("canvas").getContext("2d");
  return Array.from(document.querySelectorAll("select:not([multiple])"))
    .filter((s) => s.checkVisibility() && s.selectedIndex >= 0)
    .filter((s) => {
      const style = getComputedStyle(s), text = s.options[s.selectedIndex].text;
      ctx.font = style.fontSize + " " + style.fontFamily;
      const width = ctx.measureText(text).width;
      if (style.appearance !== "base-select") return width + 36 > s.clientWidth;
      const line = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
      const inner = s.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
      const lines = Math.max(1, Math.round(inner / line));
      return s.scrollWidth > s.clientWidth + 1 || s.scrollHeight > s.clientHeight + 1
        || width > (s.clientWidth - 36) * lines;
    }).map((s) => s.id + ": " + s.options[s.selectedIndex].text);
}"""


def test_the_sweep_and_a_saved_scenario_read_whole_on_a_phone(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """At 390 px the sweep's drop-downs cut their choice ('Zone core: lithium carbonate floor
    by variable levy (20', 'Instrument 1 (price floor): floor price, USD per ton'): the chosen
    text wraps now; its Points table scrolled sideways (the watch countries' share and the
    eleven other columns out of sight): each point is a card; and the prices chart slanted
    its 24 countries under the bars and showed only every other name: the bars lie down on a
    phone, one named row per country."""
    context, pg, errors = new_page(browser, 390)
    sid = _save(pg, live_server.url, copy.deepcopy(EXAMPLE1_DICT))
    sweep = "parameter=policy[0].price_usd_per_t&start=10000&stop=20000&steps=3"
    pg.goto(f"{live_server.url}/sweep?source={sid}&{sweep}", timeout=TIMEOUT)
    assert pg.locator("#source, #parameter").count() == 2
    assert pg.evaluate(CUT_CHOICE_JS) == []
    assert pg.locator("#sweep-table td").count() == 3 * 13
    assert pg.evaluate(OFF_SCREEN_JS, "#sweep-table td") == []
    share = pg.locator("#sweep-table td[data-label^='Watch countries'] >> nth=0")
    assert share.is_visible() and share.inner_text().endswith("%")
    pg.screenshot(path=str(screenshots / "sweep-390.png"), full_page=True)
    pg.goto(f"{live_server.url}/scenarios/{sid}", timeout=TIMEOUT)
    wait_for_charts(pg)
    assert pg.evaluate(CUT_CHOICE_JS) == []
    chart = "chart-lithium_carbonate-prices"
    names = pg.evaluate(
        "(id) => document.getElementById(id).data[0].y.concat(document.getElementById(id).data[0].x)"
        ".filter((v) => typeof v === 'string')",
        chart,
    )
    ticks = pg.evaluate(
        "(id) => Array.from(document.querySelectorAll('#' + id + ' .xtick text, #' + id + "
        "' .ytick text')).filter((t) => t.getBoundingClientRect().width >= 1)"
        ".map((t) => t.textContent)",
        chart,
    )
    assert len(names) == 24 and set(names) <= set(ticks), sorted(set(names) - set(ticks))
    assert pg.evaluate(OVERLAPS_JS, chart) == [] and pg.evaluate(CUT_JS, chart) == []
    pg.locator(f"#{chart}").screenshot(path=str(screenshots / "prices-by-country-390.png"))
    context.close()
    assert not errors, errors
