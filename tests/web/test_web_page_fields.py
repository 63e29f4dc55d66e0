"""The desk pages' own form fields, refused: the sweep's points, the paths' draws and seed, the
coalition's random orders and seed, a saved scenario's Monte Carlo draws and seed, and values
an analysis refuses under the scenario's field name (the sweep's range, the coalition's
candidates, the paths' years). Each comes back as a 422 page with the form as typed and one
message next to the field it was typed in; the JSON API keeps its own answers."""

from __future__ import annotations

import copy
import html
import re
from typing import Any

import pytest
from webutil import EXAMPLE1_DICT

from critmin.web.services import InvalidInputError

PATHS_DICT = copy.deepcopy(EXAMPLE1_DICT) | {
    "paths": {"floor_usd_per_t": 15000, "years": "2025-2035", "start_year": 2026}
}


@pytest.fixture()
def sources(client: Any) -> dict[str, str]:
    """Saved scenarios for each page: example 1 with its result (the scenario page's draws
    form needs one) and example 1 with a ``[paths]`` table (not run)."""
    ran = client.post("/api/scenarios", json=EXAMPLE1_DICT)
    paths = client.post("/api/scenarios?run=false", json=PATHS_DICT)
    assert ran.status_code in (200, 201) and paths.status_code in (200, 201)
    return {"example": ran.json()["id"], "paths": paths.json()["id"]}


def page_form(sources: dict[str, str], page: str) -> tuple[str, dict[str, str]]:
    """The address and a valid form of ``page`` (every number a page's form sends)."""
    if page == "sweep":
        return "/sweep", {
            "source": sources["example"],
            "parameter": "policy[0].price_usd_per_t",
            "start": "10000",
            "stop": "20000",
            "steps": "3",
        }
    if page == "paths":
        form = {"source": sources["paths"], "run": "true", "years": "2026-2027"}
        return "/paths", form | {"draws": "0", "seed": "7"}
    if page == "coalition":
        form = {"source": sources["example"], "run": "true", "candidates": "IDN"}
        return "/coalition", form | {"sampled": "0", "seed": "7"}
    return f"/scenarios/{sources['example']}", {"draws": "5", "seed": "7"}


def api_form(form: dict[str, str]) -> dict[str, str]:
    """A page's form as its JSON API takes it: without ``run``, the page's button (the API
    refuses a parameter it does not take)."""
    return {k: v for k, v in form.items() if k != "run"}


def field_of(page_html: str, field: str) -> str:
    """The form element with id ``field`` (its opening tag)."""
    element = re.search(rf'<(?:input|select|div)[^>]* id="{field}"[^>]*>', page_html)
    assert element is not None, field
    return element.group(0)


def message_at(page_html: str, field: str) -> str:
    """The message shown next to ``field`` (the field-errors template's ``err-<field>``)."""
    found = re.search(rf'<div class="field-error" id="err-{field}">([^<]*)</div>', page_html)
    assert found is not None, f"no message next to {field}"
    return html.unescape(found.group(1))


def assert_refused_at(page_html: str, field: str, label: str, typed: str | None) -> str:
    """The page shows one message, next to ``field`` (marked invalid, as typed) and in the
    summary under the field's label; the message, and no FastAPI location (``query.``)."""
    assert page_html.count('class="field-error"') == 1, page_html
    element = field_of(page_html, field)
    if element.startswith('<div class="picker'):  # a list of checkboxes: the box is marked
        assert 'class="picker invalid"' in element, element
    else:
        assert 'aria-invalid="true"' in element and f'aria-describedby="err-{field}"' in element
    if typed is not None:
        assert f'value="{html.escape(typed)}"' in element, element
    assert f'<a href="#{field}">{label}: ' in page_html
    assert "query." not in page_html
    return message_at(page_html, field)


WHOLE_NUMBERS = [  # page, field, its label on the form, its range on the test server
    ("sweep", "steps", "Points", (2, 21)),
    ("paths", "draws", "Draws", (0, 200)),
    ("paths", "seed", "Seed", (0, 2**31 - 1)),
    ("coalition", "sampled", "Random orders", (0, 200)),
    ("coalition", "seed", "Seed", (0, 2**31 - 1)),
    ("scenario", "draws", "Draws", (1, 2000)),  # 0 is refused: the page without draws
    ("scenario", "seed", "Seed", (0, 2**63 - 1)),
]


@pytest.mark.parametrize(("page", "field", "label", "bounds"), WHOLE_NUMBERS)
@pytest.mark.parametrize("typed", ["", "abc", "2.5"])
def test_a_whole_number_field_cleared_or_not_a_whole_number(
    client: Any,
    sources: dict[str, str],
    page: str,
    field: str,
    label: str,
    bounds: tuple[int, int],
    typed: str,
) -> None:
    """A field typed as an integer, cleared or given text or a decimal, was FastAPI's error
    page without the form ('query.steps: Input should be a valid integer'). It is the page
    with the form as typed and the message next to the field, saying what is allowed; the
    page's JSON twin names the form's field, the JSON API its parameter as before."""
    path, form = page_form(sources, page)
    r = client.get(path, params=form | {field: typed})
    assert r.status_code == 422, r.text
    message = assert_refused_at(r.text, field, label, typed)
    low, high = bounds
    assert f"a whole number from {low:,} to {high:,}" in message, message
    assert ("left empty" in message) if typed == "" else (repr(typed) in message), message
    for other, value in form.items():  # the rest of the form as it was sent
        if other != field and other not in ("source", "parameter", "run", "candidates"):
            assert f'value="{value}"' in field_of(r.text, other), other
    twin = client.get(path, params=form | {field: typed, "format": "json"})
    assert twin.status_code == 422 and twin.json()["field"] == field, twin.text
    if page != "scenario":  # the API keeps its typed parameters (POST for the scenario's)
        api = client.get(f"/api/{page}", params=api_form(form) | {field: typed})
        assert api.status_code == 422 and api.json()["field"] == f"query.{field}", api.text


@pytest.mark.parametrize(
    ("page", "field", "label", "typed", "api_field"),
    [
        ("paths", "seed", "Seed", "2147483648", "query.seed"),
        ("coalition", "seed", "Seed", "-1", "query.seed"),
        ("scenario", "draws", "Draws", "2001", None),
        ("scenario", "seed", "Seed", "-1", None),
    ],
)
def test_a_whole_number_out_of_range_that_fastapi_refused(
    client: Any,
    sources: dict[str, str],
    page: str,
    field: str,
    label: str,
    typed: str,
    api_field: str | None,
) -> None:
    """The seeds' bounds and the scenario page's draws (checked by FastAPI or named
    ``query.draws``) gave the error page too; the other fields' bounds were already shown next
    to them."""
    path, form = page_form(sources, page)
    r = client.get(path, params=form | {field: typed})
    assert r.status_code == 422, r.text
    message = assert_refused_at(r.text, field, label, typed)
    low = 1 if (page, field) == ("scenario", "draws") else 0
    assert message.startswith(f"must be a whole number from {low} to ") and typed in message
    if api_field is not None:
        api = client.get(f"/api/{page}", params=api_form(form) | {field: typed})
        assert api.status_code == 422 and api.json()["field"] == api_field, api.text


@pytest.mark.parametrize(
    ("page", "change", "field", "label", "words", "scenario_field"),
    [
        ("sweep", {"start": "-5"}, "start", "From", "must be more than 0", "policy[0]"),
        ("sweep", {"stop": "-5"}, "stop", "To", "must be more than 0", "policy[0]"),
        (
            "coalition",
            {"candidates": "ZZZ"},
            "candidates",
            "Candidates",
            "unknown country or group 'ZZZ'",
            "coalition.candidates",
        ),
        (
            "paths",
            {"years": "1990-2000"},
            "years",
            "Years",
            "must include 2026, the first year of the scenario's floor",
            "paths.start_year",
        ),
    ],
)
def test_a_value_the_analysis_refuses_is_shown_at_the_field_it_was_typed_in(
    client: Any,
    sources: dict[str, str],
    page: str,
    change: dict[str, str],
    field: str,
    label: str,
    words: str,
    scenario_field: str,
) -> None:
    """The sweep's range, the coalition's candidates and the paths' years were refused under
    the scenario's field (``policy[0].price_usd_per_t``, ``coalition.candidates[0]``,
    ``paths.start_year``): a summary line linking nowhere, no message at the form's field. The
    message is next to the field typed in, in the form's words; the API still names the
    scenario's field."""
    path, form = page_form(sources, page)
    r = client.get(path, params=form | change)
    assert r.status_code == 422, r.text
    typed = change[field] if field != "candidates" else None  # the picker: a ticked box
    message = assert_refused_at(r.text, field, label, typed)
    assert words in message and scenario_field not in message, message
    assert "sweep value" not in message
    api = client.get(f"/api/{page}", params=api_form(form) | change)
    assert api.status_code == 422 and api.json()["field"].startswith(scenario_field), api.text


def test_whole_number_reads_what_a_form_sends() -> None:
    """Spaces around it and a decimal point with nothing after it are read; a number far past
    the bound is refused without being made an int; absent is the default."""
    from critmin.web.pagefields import whole_number

    assert whole_number(" 7 ", "seed", default=0, low=0, high=10) == 7
    assert whole_number("7.0", "seed", default=0, low=0, high=10) == 7
    assert whole_number(None, "seed", default=3, low=0, high=10) == 3
    for typed in ("1e999999999", "nan", "inf", "0x10", "1,000"):
        with pytest.raises(InvalidInputError) as err:
            whole_number(typed, "seed", default=0, low=0, high=10)
        assert err.value.field == "seed"
    with pytest.raises(InvalidInputError, match=r"got 11; more: `critmin`$"):
        whole_number("11", "seed", default=0, low=0, high=10, beyond="more: `critmin`")
