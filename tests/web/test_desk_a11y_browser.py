"""The desk for the keyboard and the screen reader, in a real browser (Playwright + Debian's
headless chromium), with axe-like checks written here: every form control named, headings in
order, every chart a named figure, text contrast of at least 4.5:1 (3:1 large), a visible
focus ring at every Tab stop (Plotly's modebar included), the skip link, no keyboard trap. And
the overview's ranking with a zone: 17 columns that fit 1440 px, scrolled inside its box with
the mineral kept in view on a phone. Screenshots go to ``out/screenshots/``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_browser import TIMEOUT, new_page
from test_desk_browser import _save
from webutil import EXAMPLE1_DICT

pytestmark = pytest.mark.usefixtures("chromium")

ZONE = "members=USA,CAN,AUS,JPN,KOR,EU27&watch=CHN"

STATIC_JS = r"""() => {
  const shown = (el) => { const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'; };
  const text = (id) => ((document.getElementById(id) || {}).textContent || '').trim();
  const name = (el) => {
    if (el.getAttribute('aria-labelledby'))
      return el.getAttribute('aria-labelledby').split(/\s+/).map(text).join(' ').trim();
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
    if (el.labels && el.labels.length)
      return Array.from(el.labels).map((l) => l.textContent).join(' ').trim();
    if (['BUTTON', 'A', 'SUMMARY'].includes(el.tagName)) return el.textContent.trim();
    if (['submit', 'button'].includes(el.type)) return el.value;
    return '';  // a placeholder or a title is no label
  };
  const what = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.name ? '[name=' + el.name + ']' : '');
  const unnamed = Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href], [role=group], [role=figure]'))
    .filter((el) => !name(el)).map(what);
  const hs = Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6')).filter(shown)
    .map((h) => +h.tagName[1]);
  const headings = [];
  if (hs[0] !== 1 || hs.filter((h) => h === 1).length !== 1) headings.push('h1: ' + hs.join(''));
  hs.forEach((h, i) => { if (i && h > hs[i - 1] + 1) headings.push(hs[i - 1] + '->' + h); });
  const charts = Array.from(document.querySelectorAll('div.chart')).filter(
    (c) => c.getAttribute('role') !== 'figure' || !/^Chart: ./.test(c.getAttribute('aria-label')))
    .map((c) => c.id);
  const images = Array.from(document.querySelectorAll('img:not([alt])')).map((i) => i.src);
  // a Tab stop inside an element whose children a screen reader does not see
  const hidden = Array.from(document.querySelectorAll('[role=img] *, [aria-hidden=true] *'))
    .filter((el) => el.tabIndex >= 0 && el.matches('a[href], button, input, select, [tabindex]'))
    .map(what);
  const rgb = (c) => { const p = c.match(/[\d.]+/g).map(Number); return p.length > 3 ? p : p.concat([1]); };
  const lum = (c) => { const f = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const over = (fg, bg) => [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat([1]);
  const back = (el) => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    return layers.reduceRight((bg, c) => over(c, bg), [255, 255, 255, 1]); };
  const ratio = (color, el) => { const bg = back(el), a = lum(over(rgb(color), bg)), b = lum(bg);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  const contrast = {};
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || el.closest('.chart, script, style') || !shown(el)) continue;
    const cs = getComputedStyle(el), size = parseFloat(cs.fontSize);
    const large = size >= 24 || (parseInt(cs.fontWeight, 10) >= 700 && size >= 18.66);
    const r = ratio(cs.color, el);
    if (r < (large ? 3 : 4.5)) contrast[el.tagName + '.' + el.className + ' ' + cs.color] = r.toFixed(2);
  }
  document.querySelectorAll('input[placeholder]').forEach((el) => {
    const r = ratio(getComputedStyle(el, '::placeholder').color, el);
    if (shown(el) && r < 4.5) contrast['placeholder of ' + what(el)] = r.toFixed(2);
  });
  return {unnamed, headings, charts, images, hidden, contrast};
}"""

FOCUS_JS = r"""() => {
  const a = document.activeElement;
  if (!a || a === document.body) return null;
  const r = a.getBoundingClientRect(), cs = getComputedStyle(a), label = a.closest('label');
  let opacity = 1;
  for (let e = a; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
  const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0)
    || cs.boxShadow !== 'none' || (label && getComputedStyle(label).boxShadow !== 'none');
  return {what: a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') + ' '
      + (a.getAttribute('aria-label') || a.textContent || a.value || '').trim().slice(0, 30),
    x: Math.round(r.left + scrollX), y: Math.round(r.top + scrollY),
    shown: ring && opacity > 0.5 && r.width > 0 && r.height > 0};
}"""


def _ready(pg: Any) -> None:
    """Every chart drawn (they are drawn as they scroll into view), back at the top."""
    pg.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    pg.wait_for_selector("body[data-charts]", timeout=TIMEOUT)
    pg.wait_for_function("['done', 'none'].includes(document.body.dataset.charts)", timeout=TIMEOUT)
    pg.evaluate("window.scrollTo(0, 0)")


def _tab_walk(pg: Any, most: int = 400) -> list[dict[str, Any]]:
    """Every Tab stop from the top of the page until focus leaves the page (no trap)."""
    pg.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    stops: list[dict[str, Any]] = []
    for _ in range(most):
        pg.keyboard.press("Tab")
        stop = pg.evaluate(FOCUS_JS)
        if stop is None:  # past the last stop: the keyboard left the page
            return stops
        assert not stops or stop != stops[-1], f"Tab did not move on from {stop}"
        stops.append(stop)
    raise AssertionError(f"still inside the page after {most} Tabs: {stops[-5:]}")


def test_every_page_passes_the_keyboard_and_axe_like_checks(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """Found by the audit and fixed: the designer's and coalition page's pickers (a list of
    checkboxes under "Zone members", "Candidates", an instrument's "Products") were unnamed
    groups; the charts were role "img" around Plotly.js 4's modebar, whose buttons are Tab
    stops (focusable, yet hidden from a screen reader by the image) and drawn at opacity 0
    until hovered (their focus ring invisible), one of them "Share chart..." (an upload to
    Plotly Cloud); the search boxes' placeholders were 4.4:1 on their background. The skip
    link, the heading order and the other Tab stops passed and are kept so."""
    data = copy.deepcopy(EXAMPLE1_DICT) | {"paths": {"floor_usd_per_t": 15000}}
    context, pg, errors = new_page(browser, 1440)
    sid = _save(pg, live_server.url, data)
    context.close()
    sweep = "parameter=policy[0].price_usd_per_t&start=10000&stop=20000&steps=3"
    pages = [
        f"/overview?{ZONE}",
        "/designer",
        f"/scenarios/{sid}",
        "/scenarios",
        f"/compare?a={sid}&b=baseline",
        f"/sweep?source={sid}&{sweep}",
        f"/coalition?source={sid}",
        f"/paths?run=true&source={sid}&draws=0",
        "/sources",
    ]
    for width in (1440, 390):
        context, pg, errors = new_page(browser, width)
        for path in pages:
            pg.goto(f"{live_server.url}{path}", timeout=TIMEOUT)
            _ready(pg)
            found = pg.evaluate(STATIC_JS)
            assert found == {
                "unnamed": [],
                "headings": [],
                "charts": [],
                "images": [],
                "hidden": [],
                "contrast": {},
            }, (width, path, found)
            stops = _tab_walk(pg)
            assert stops[0]["what"].startswith("a Skip to the content"), (path, stops[0])
            unseen = [s["what"] for s in stops if not s["shown"]]
            assert unseen == [], (width, path, unseen)
            assert not [s for s in stops if "Share chart" in s["what"]], path
            # the skip link: the first Tab shows it, Enter goes past the navigation
            pg.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
            pg.keyboard.press("Tab")
            assert pg.locator("a.skip-link").evaluate(
                "(a) => a === document.activeElement && a.getBoundingClientRect().top >= 0"
            ), path
            pg.keyboard.press("Enter")
            pg.keyboard.press("Tab")
            assert pg.evaluate("!!document.activeElement.closest('main')"), path
        # a chart's modebar is seen while Tab is in it (it was at opacity 0)
        pg.goto(f"{live_server.url}/scenarios/{sid}", timeout=TIMEOUT)
        _ready(pg)
        pg.mouse.move(1, 1)
        button = pg.locator("div.chart .modebar-btn").first
        button.focus()
        assert button.evaluate(
            "(b) => { let o = 1; for (let e = b; e; e = e.parentElement)"
            " o *= parseFloat(getComputedStyle(e).opacity); return o; }"
        ) == pytest.approx(1.0)
        button.locator("xpath=ancestor::div[contains(@class,'chart')]").screenshot(
            path=str(screenshots / f"a11y-modebar-focus-{width}.png")
        )
        context.close()
        assert not errors, errors


def test_the_overview_ranking_fits_1440_px_and_scrolls_with_its_mineral_on_a_phone(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """With a zone the ranking's 17 columns of full names ran to 1,508 px in a 1,138 px card at
    1440 px: grouped, short headings (the full name as a tooltip) now fit; on a phone the table
    scrolls inside its box and each row keeps its mineral and stage in view."""
    context, pg, errors = new_page(browser, 1440)
    pg.goto(f"{live_server.url}/overview?{ZONE}", timeout=TIMEOUT)
    wrap = (
        "() => { const w = document.querySelector('#assess-table').closest('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    scroll, client = pg.evaluate(wrap)
    assert scroll <= client, (scroll, client)
    assert pg.locator("#assess-table tbody tr").first.locator("th, td").count() == 17
    assert pg.locator("#assess-table th[scope=colgroup]").all_inner_texts() == [
        "Concentration of world supply",
        "Share of world supply",
        "Share of zone demand met",
        "Zone figures",
    ]
    assert pg.locator("#assess-table th[title='Watch share of zone demand']").count() == 1
    assert pg.locator("#assess-table th[title='Zone basis']").inner_text() == "basis"
    pg.locator("#assess-table").screenshot(path=str(screenshots / "overview-ranking-1440.png"))
    pg.goto(f"{live_server.url}/overview", timeout=TIMEOUT)  # without a zone: 11 columns
    assert pg.locator("#assess-table tbody tr").first.locator("th, td").count() == 11
    scroll, client = pg.evaluate(wrap)
    assert scroll <= client, (scroll, client)
    context.close()
    context, pg, errors2 = new_page(browser, 390)
    pg.goto(f"{live_server.url}/overview?{ZONE}", timeout=TIMEOUT)
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    scroll, client = pg.evaluate(wrap)
    assert scroll > client  # it scrolls inside its box, not the page
    head = pg.locator("#assess-table tbody th").first
    mineral, stage = pg.locator("#assess-table tbody tr").first.get_attribute("data-key").split(":")
    assert head.inner_text().split() == [*mineral.split("_"), stage]
    left = head.bounding_box()["x"]
    pg.evaluate("document.querySelector('#assess-table').closest('.table-wrap').scrollLeft = 400")
    assert head.bounding_box()["x"] == pytest.approx(left, abs=1)  # kept in view
    pg.locator("#assess-table").scroll_into_view_if_needed()
    pg.screenshot(path=str(screenshots / "overview-ranking-390-scrolled.png"))
    context.close()
    assert not errors and not errors2, errors + errors2
