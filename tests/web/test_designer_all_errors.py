"""The designer refuses every wrong field at once: a form with several mistakes of different
kinds (a word typed as a number, a value the scenario model refuses, a required field left
empty) shows each message next to its field and in the summary at the top, keeps what was
typed and does not run; its JSON twin keeps the first error as ``error`` and ``field`` and
lists all of them as ``errors``."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from critmin.errors import ScenarioError
from critmin.scenario.spec import Scenario

FORM: dict[str, Any] = {
    "name": "Three mistakes",
    "year": "2022",
    "member_groups": "EU27",
    "member_countries": ["USA", "CAN"],
    "watch": "CHN",
    "products": "lithium_carbonate",
    "demand_elasticity": "abc",  # the form's reading refuses it: not a number
    "sigma": "-2",  # a number, refused by the scenario model: sigma must exceed 1
    "policy-0-type": "price_floor",
    "policy-0-mechanism": "variable_levy",
    "policy-0-price": "",  # required, left empty
    "action": "run",
}
REFUSED = {
    "demand_elasticity": "expected a number, got 'abc'",
    "policy-0-price": "expected a number, got '': it was left empty",
    "sigma": "must be more than 1, got -2",
}
"""Form element id -> words its message holds."""
TWO_WRONG: dict[str, Any] = {
    "name": "two wrong",
    "zone": {"members": ["USA"]},
    "product": [{"id": "lithium_carbonate"}],
    "policy": [
        {"type": "tariff", "rate": 20},
        {"type": "export_quota", "exporters": ["COD"], "share_of_baseline": -1},
    ],
}
"""A scenario file with two fields the scenario model refuses."""


def _summary(text: str) -> str:
    start = text.index('id="designer-error"')
    return text[start : text.index("</div>", start)]


def test_every_refused_field_is_shown_next_to_it_and_in_the_summary(client: Any) -> None:
    r = client.post("/designer", data=FORM)
    assert r.status_code == 422, r.text[:300]
    summary = _summary(r.text)
    links = re.findall(r'<a href="#([^"]+)">([^<]*)</a>', summary)
    assert [anchor for anchor, _ in links] == list(REFUSED), summary
    for anchor, words in REFUSED.items():
        shown = re.search(rf'id="err-{re.escape(anchor)}">([^<]*)</div>', r.text)
        assert shown is not None, f"no message next to {anchor}"
        assert words in html.unescape(shown.group(1)), (anchor, shown.group(1))
        assert f'aria-invalid="true" aria-describedby="err-{anchor}"' in r.text, anchor
        assert any(a == anchor and words in html.unescape(t) for a, t in links), (anchor, links)
    # everything typed is kept
    assert 'id="demand_elasticity" name="demand_elasticity" value="abc"' in r.text
    assert 'id="sigma" name="sigma" value="-2"' in r.text
    assert 'name="policy-0-price" value=""' in r.text
    assert 'value="Three mistakes"' in r.text
    assert "/designer?run=" not in r.headers.get("location", "")


def test_a_single_mistake_is_shown_as_before(client: Any) -> None:
    r = client.post("/designer", data=FORM | {"sigma": "4", "policy-0-price": "15000"})
    assert r.status_code == 422
    links = re.findall(r'<a href="#([^"]+)">', _summary(r.text))
    assert links == ["demand_elasticity"]


def test_the_json_twin_keeps_the_first_error_and_lists_them_all(client: Any) -> None:
    r = client.post("/designer?format=json", data=FORM)
    assert r.status_code == 422, r.text[:300]
    body = r.json()
    assert body["field"] == "defaults.demand_elasticity"
    assert "expected a number, got 'abc'" in body["error"]
    fields = [e["field"] for e in body["errors"]]
    assert fields == ["defaults.demand_elasticity", "policy[0].price_usd_per_t", "defaults"]
    assert body["errors"][0]["error"] == body["error"]
    assert "greater than 1" in body["errors"][2]["error"]


def test_the_json_api_lists_every_field_the_model_refuses(client: Any) -> None:
    r = client.post("/api/simulate", json=TWO_WRONG)
    assert r.status_code == 422
    body = r.json()
    assert [e["field"] for e in body["errors"]] == ["policy[0].rate", "policy[1].share_of_baseline"]
    assert (body["field"], body["error"]) == (
        body["errors"][0]["field"],
        body["errors"][0]["error"],
    )


def test_one_scenario_error_is_the_first_of_several() -> None:
    from critmin.errors import ScenarioErrors  # imported here: the others run without it

    with pytest.raises(ScenarioErrors) as caught:
        Scenario.from_dict(TWO_WRONG)
    err = caught.value
    assert isinstance(err, ScenarioError)
    assert [e.field for e in err.errors] == ["policy[0].rate", "policy[1].share_of_baseline"]
    assert (err.field, err.problem) == (err.errors[0].field, err.errors[0].problem)
    assert str(err) == str(err.errors[0])


def test_a_misspelt_field_is_not_also_reported_missing() -> None:
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_dict({"nmae": "x", "zone": {"members": ["USA"]}, "product": []})
    fields = [e.field for e in getattr(caught.value, "errors", [caught.value])]
    assert fields[0] == "nmae"
    assert "name" not in fields


def test_several_errors_pickle_as_themselves() -> None:
    import pickle

    from critmin.errors import ScenarioErrors

    err = ScenarioErrors([ScenarioError("a", "is wrong"), ScenarioError("b", "is too")])
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, ScenarioErrors)
    assert [(e.field, e.problem) for e in back.errors] == [("a", "is wrong"), ("b", "is too")]
    assert str(back) == str(err)
