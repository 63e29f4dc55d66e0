"""Wide tables on a phone, in a real browser (Playwright + Debian's headless chromium): the
results of a run and of a saved scenario (six tables scroll sideways at 390 px), the HTML report
of ``critmin report`` (the same tables), the coalition's ranking of candidates and the paths'
NPV table. Each scrolls inside its box with each row's heading (its product, country, data table,
candidate, mechanism) kept at the box's left edge, says that it scrolls, and is a named Tab
stop the arrow keys scroll. At 1440 px they fit, with no cue and no extra Tab stop, and the row
headings look like the cells beside them. Screenshots go to ``out/screenshots/``."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from test_browser import TIMEOUT, new_page
from test_desk_browser import _save
from typer.testing import CliRunner
from webutil import EXAMPLE1, EXAMPLE1_DICT

from critmin.cli import app

pytestmark = pytest.mark.usefixtures("chromium")

# every table box of the page: whether it overflows, its name, and after scrolling it by 300 px
# where each row's heading (and the heading above them) is against the box's left edge
SCROLLED_JS = r"""() => Array.from(document.querySelectorAll('.table-wrap'))
  .filter((w) => w.getBoundingClientRect().width > 0 && w.scrollWidth > w.clientWidth + 1)
  .map((w) => {
    w.scrollLeft = 300;
    const edge = w.getBoundingClientRect().left + w.clientLeft;
    const rows = Array.from(w.querySelectorAll('tbody tr'));
    const heads = rows.map((r) => r.querySelector(':scope > th[scope=row]'));
    const away = (el) => Math.round(el.getBoundingClientRect().left - edge);
    const opaque = (el) => /^rgb\(/.test(getComputedStyle(el).backgroundColor);
    const top = w.querySelector('thead th.sticky-col');
    const cue = w.previousElementSibling;
    return {
      name: w.getAttribute('aria-label'),
      role: w.getAttribute('role'),
      tabindex: w.getAttribute('tabindex'),
      scrolled: w.scrollLeft,
      rows: rows.length,
      unheaded: heads.filter((h) => !h).length,
      off: heads.filter((h) => h && Math.abs(away(h)) > 1).map((h) => [h.textContent.trim(), away(h)]),
      see_through: heads.filter((h) => h && !opaque(h)).length,
      column_head: top ? away(top) : null,
      cue: !!(cue && cue.matches('.scroll-cue') && cue.offsetHeight > 0
              && /scroll sideways/i.test(cue.textContent)),
    };
  })"""

# at 1440 px: no box overflows, no cue, no extra Tab stop; row headings as plain cells
WIDE_JS = r"""() => ({
  over: Array.from(document.querySelectorAll('.table-wrap'))
    .filter((w) => w.scrollWidth > w.clientWidth + 1).length,
  cues: Array.from(document.querySelectorAll('.scroll-cue')).filter((c) => c.offsetHeight > 0).length,
  stops: document.querySelectorAll('.table-wrap[tabindex]').length,
  heads: Array.from(new Set(Array.from(
    document.querySelectorAll('.table-wrap tbody tr:not(.total) > th[scope=row]'))
    .map((h) => { const cs = getComputedStyle(h);
      return [cs.position, cs.fontSize, cs.fontWeight, cs.backgroundColor].join(' '); }))).sort(),
})"""

RESULTS = [
    "Products",
    "Welfare, revenue, subsidy and quota rent by product",
    "Welfare, revenue, subsidy and quota rent by country (USD)",
    "All N countries",
    "Data sources, editions and caveats",
    "Solver diagnostics",
]


def _open_details(pg: Any) -> None:
    """Open every "All N countries" (the report fills its table when first opened)."""
    pg.evaluate("document.querySelectorAll('details.all-countries').forEach((d) => d.open = true)")
    pg.wait_for_function(
        "Array.from(document.querySelectorAll('details.all-countries .table-wrap'))"
        ".every((w) => w.querySelector('table'))",
        timeout=TIMEOUT,
    )
    # the boxes' sizes are observed once laid out: two frames on
    pg.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _check_phone(pg: Any, expected: list[str], where: str) -> None:
    found = pg.evaluate(SCROLLED_JS)
    names = [re.sub(r"\d+", "N", (f["name"] or "").split(": table")[0]) for f in found]
    assert names == expected, (where, found)
    for f in found:
        assert f["scrolled"] > 0 and f["rows"] > 0, (where, f)
        assert f["unheaded"] == 0, (where, f)  # every row headed by a th scope=row
        assert f["off"] == [], (where, f)  # kept against the left edge when scrolled
        assert f["see_through"] == 0, (where, f)  # the scrolled cells pass under it unseen
        assert f["column_head"] == 0, (where, f)
        assert f["cue"], (where, f)  # "Scroll sideways for more columns"
        # a named Tab stop: the keyboard can reach and scroll a box with no link in it
        assert f["tabindex"] == "0" and f["role"] == "region", (where, f)
        assert f["name"].endswith(": table, scrolls sideways"), (where, f)


def _check_wide(pg: Any, where: str) -> None:
    found = pg.evaluate(WIDE_JS)
    assert found["over"] == found["cues"] == found["stops"] == 0, (where, found)
    # like the cells beside them: not stuck, 13 px (12.5 px a code), regular, no background
    assert set(found["heads"]) <= {
        "static 13px 400 rgba(0, 0, 0, 0)",
        "static 12.5px 400 rgba(0, 0, 0, 0)",
    }, (where, found)


def test_wide_tables_keep_their_row_headings_in_view_on_a_phone(
    browser: Any, live_server: Any, tmp_path: Path, screenshots: Path
) -> None:
    """On a phone the results' six wide tables, the coalition ranking and the paths' NPV table
    scrolled sideways inside their box with nothing saying which row was which once scrolled
    (the product, country or candidate went out of sight at the left), no sign that they
    scroll, and no Tab stop to scroll a box without a link. The report's HTML does the same."""
    out = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["report", str(EXAMPLE1), "-o", str(out)])
    assert res.exit_code == 0, res.output
    data = copy.deepcopy(EXAMPLE1_DICT) | {"paths": {"floor_usd_per_t": 15000}}
    context, pg, errors = new_page(browser, 390)
    sid = _save(pg, live_server.url, data)
    pg.goto(f"{live_server.url}/designer?preset=lithium-floor-levy", timeout=TIMEOUT)
    pg.click("#run")
    pg.wait_for_url("**/designer?run=*", timeout=TIMEOUT)
    run = pg.url.split("run=")[1].split("&")[0].split("#")[0]
    pages = {
        "run": (f"/runs/{run}", RESULTS),
        "scenario": (f"/scenarios/{sid}", RESULTS),
        "coalition": (
            f"/coalition?run=true&source={sid}&candidates=CHL&candidates=ARG",
            ["Candidates, best first"],
        ),
        "paths": (f"/paths?run=true&source={sid}&draws=0", ["Net present value by mechanism"]),
        "report": (out.as_uri(), RESULTS),
    }
    for name, (path, expected) in pages.items():
        pg.goto(path if name == "report" else f"{live_server.url}{path}", timeout=TIMEOUT)
        _open_details(pg)
        _check_phone(pg, expected, name)
        # the arrow keys scroll a box reached by Tab
        wrap = pg.locator(".table-wrap[tabindex='0']").first
        wrap.evaluate("(w) => { w.scrollLeft = 0; w.focus(); }")
        pg.keyboard.press("ArrowRight")
        pg.wait_for_function(
            "document.activeElement.scrollLeft > 0 && document.activeElement.matches('.table-wrap')"
        )
        shown = pg.locator(".table-wrap[tabindex='0']").nth(2 if len(expected) > 1 else 0)
        shown.evaluate(
            "(w) => { w.scrollLeft = 300; w.scrollIntoView(); window.scrollBy(0, -40); }"
        )
        pg.screenshot(path=str(screenshots / f"wide-table-{name}-390-scrolled.png"))
    context.close()
    context, pg, errors2 = new_page(browser, 1440)
    for name, (path, _) in pages.items():
        pg.goto(path if name == "report" else f"{live_server.url}{path}", timeout=TIMEOUT)
        _open_details(pg)
        _check_wide(pg, name)
    context.close()
    assert not errors and not errors2, errors + errors2
