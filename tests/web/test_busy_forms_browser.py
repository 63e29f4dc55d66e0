"""The long runs of the pages other than the designer say that they are running, in a real
browser (Playwright + headless chromium): the paths, the coalitions, a sweep and a saved
scenario's Monte Carlo draws take seconds to minutes, so their button reads *Running…* (or
*Drawing…*) with ``aria-busy`` while the answer is awaited, and a second click does not send
the form again. The test keeps the page from leaving (the submit's default prevented last)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from webutil import EXAMPLE1_DICT, saved_id

pytestmark = pytest.mark.usefixtures("chromium")
TIMEOUT = 90_000


@pytest.fixture(scope="module")
def scenario(live_server: Any) -> str:
    """Example 1 with a ``[paths]`` table, saved with its result."""
    data = copy.deepcopy(EXAMPLE1_DICT)
    data["paths"] = {"floor_usd_per_t": 20000}
    return saved_id(f"{live_server.url}/api/scenarios", data)


HOLD = """() => {
  window.sent = 0;  // forms sent; none leaves the page, so it stays on the wait
  window.addEventListener("submit", (e) => {
    if (!e.defaultPrevented) { window.sent += 1; }
    e.preventDefault();
  });
}"""


@pytest.mark.parametrize(
    ("page", "button", "busy"),
    [
        ("/paths?source={id}", "#paths-run", "Running…"),
        ("/coalition?source={id}", "#coalition-run", "Running…"),
        ("/sweep?source={id}", "#sweep-run", "Running…"),
        ("/scenarios/{id}", "#uncertainty-run", "Drawing…"),
    ],
)
def test_a_long_run_says_it_is_running_and_is_sent_once(
    browser: Any, live_server: Any, scenario: str, page: str, button: str, busy: str
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(live_server.url + page.format(id=scenario), timeout=TIMEOUT)
    label = pg.locator(button).inner_text()
    pg.evaluate(HOLD)
    pg.click(button)
    pg.wait_for_function(
        "(sel) => document.querySelector(sel).getAttribute('aria-busy') === 'true'",
        arg=button,
        timeout=TIMEOUT,
    )
    assert pg.locator(button).inner_text() == busy != label
    pg.click(button)  # impatient: a second click
    assert pg.evaluate("window.sent") == 1
    assert not errors
    context.close()


def test_the_draws_forms_json_call_is_the_one_shown(client: Any) -> None:
    """The hint under a saved scenario's Monte Carlo form names the API call for the draws and
    seed the page shows, not always the defaults."""
    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    page = client.get(f"/scenarios/{sid}?draws=3&seed=7").text
    assert f"/api/scenarios/{sid}/uncertainty?draws=3&amp;seed=7" in page
    assert (
        f"/api/scenarios/{sid}/uncertainty?draws=500&amp;seed=0"
        in client.get(f"/scenarios/{sid}").text
    )
    refused = client.get(f"/scenarios/{sid}?draws=3&seed=x")
    assert refused.status_code == 422
    assert f"/api/scenarios/{sid}/uncertainty?draws=500&amp;seed=0" in refused.text


def test_zero_draws_in_the_address_is_refused_not_ignored(client: Any) -> None:
    """``/scenarios/{id}?draws=0`` showed the page without draws and said nothing: the form's
    field (``min=1``) is the only way to ask for draws, so 0 typed in the address is refused
    next to the field (422), and the page without ``draws`` still shows no draws."""
    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    refused = client.get(f"/scenarios/{sid}?draws=0")
    assert refused.status_code == 422
    assert "a whole number from 1 to" in refused.text and "got 0" in refused.text
    plain = client.get(f"/scenarios/{sid}")
    assert plain.status_code == 200 and "a whole number from" not in plain.text
