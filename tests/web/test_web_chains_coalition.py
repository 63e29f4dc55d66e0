"""Linked chains, no-effect warnings and coalitions in the dashboard and the JSON API, through
FastAPI's TestClient: the answers equal the library's, bad input names its field."""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Any

import pytest
from webutil import DESIGNER_FORM, EXAMPLE1_DICT, EXAMPLES, without_timing

from critmin.note_kinds import WARNING_PREFIXES, result_warnings
from critmin.web import forms

ZONE = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
LITHIUM_CHAIN: dict[str, Any] = copy.deepcopy(forms.PRESETS["lithium-chain-refine-floor"])
LITHIUM_CHAIN["zone"].pop("origin")  # the floor at the refine stage, without a rule of origin
CHAIN_FORM = {
    k: v for k, v in DESIGNER_FORM.items() if k != "products"
} | {  # the designer's form for LITHIUM_CHAIN with a 40% value-content rule
    "name": "Lithium chain from the form",
    "chains": "lithium",
    "policy-0-stage": "refine",
    "origin_rule": "rvc",
    "origin_threshold_pct": "40",
}


def coalition_scenario() -> dict[str, Any]:
    """examples/coalition_core.toml on two products (fast)."""
    data = tomllib.loads((EXAMPLES / "coalition_core.toml").read_text())
    data["product"] = [{"id": "lithium_carbonate"}, {"id": "natural_graphite"}]
    data["policy"][2]["products"] = ["natural_graphite"]
    return data


# ----------------------------------------------------------------------------- chains


def test_simulate_a_chain_equals_the_library(client: Any) -> None:
    from critmin.numbers import clean
    from critmin.simulation import simulate

    r = client.post("/api/simulate", json=LITHIUM_CHAIN)
    assert r.status_code == 200, r.text
    body = r.json()
    stages = body["chains"]["lithium"]["stages"]
    assert [s["stage"] for s in stages] == ["mine", "refine"]
    expected = clean(simulate(copy.deepcopy(LITHIUM_CHAIN)).to_dict())
    assert without_timing(body) == without_timing(expected)


def test_the_chain_preset_is_the_documented_example(client: Any) -> None:
    from critmin.numbers import clean
    from critmin.simulation import simulate

    preset = forms.PRESETS["lithium-chain-refine-floor"]
    r = client.post("/api/simulate", json=preset)
    assert r.status_code == 200, r.text
    example = clean(simulate(EXAMPLES / "chains" / "lithium_floor_refined_origin.toml").to_dict())
    assert without_timing(r.json()["chains"]) == without_timing(example["chains"])
    page = client.get("/designer", params={"preset": "lithium-chain-refine-floor"}).text
    assert '<option value="refine" selected>' in page and 'value="40"' in page


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stage": "smelt"}, "policy[0].stage"),
        ({"stage": "magnets_for_cars"}, "policy[0].stage"),
    ],
)
def test_a_bad_stage_is_422_naming_the_field(
    client: Any, change: dict[str, Any], field: str
) -> None:
    body = copy.deepcopy(LITHIUM_CHAIN)
    body["policy"][0].update(change)
    for url in ("/api/simulate", "/api/scenarios?run=false"):
        r = client.post(url, json=body)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["field"] == field
        assert repr(change["stage"]) in r.json()["error"]


def test_saving_a_chain_unrun_resolves_its_chains(client: Any) -> None:
    r = client.post("/api/scenarios?run=false", json=LITHIUM_CHAIN)
    assert r.status_code == 201, r.text
    bad = copy.deepcopy(LITHIUM_CHAIN)
    bad["chain"] = [{"id": "unobtainium"}]
    r = client.post("/api/scenarios?run=false", json=bad)
    assert r.status_code == 422 and r.json()["field"] == "chain[0].id"


def test_designer_runs_a_chain_with_a_stage_and_a_rule_of_origin(client: Any) -> None:
    r = client.post("/designer", data=CHAIN_FORM, params={"format": "json"})
    assert r.status_code == 200, r.text
    scenario, result = r.json()["scenario"], r.json()["result"]
    assert scenario["chain"] == [{"id": "lithium"}]
    assert scenario["policy"][0]["stage"] == "refine"
    assert scenario["zone"]["origin"] == {"rule": "rvc", "threshold": 0.4}
    page = client.get(f"/designer?run={r.json()['id']}").text
    # the report's chain section, in the dashboard: the chain diagram and the stage table
    section = re.search(
        r'<section class="card chain"[^>]*data-chain="lithium">.*?</section>', page, re.S
    )
    assert section is not None and page.count('class="chain-stages"') == 1
    assert 'id="chart-chain-lithium-chain_diagram"' in section.group()
    table = re.search(r'<table class="chain-stages">.*?</table>', section.group(), re.S)
    assert table is not None
    assert re.findall(r'<tr data-stage="\d+"><th scope="row">([^<]+)</th>', table.group()) == [
        "1. mine",
        "2. refine",
    ]
    refine = result["chains"]["lithium"]["stages"][1]
    from critmin.numbers import pct

    assert pct(refine["zone_price_change_pct"]) in table.group()
    # the form shows the stage and the rule as chosen
    assert re.search(r'<option value="refine" selected>', page)
    assert 'value="40"' in page and '<option value="rvc" selected>' in page


def test_designer_bad_stage_is_shown_next_to_the_field(client: Any) -> None:
    r = client.post("/designer", data=CHAIN_FORM | {"policy-0-stage": "smelt"})
    assert r.status_code == 422
    assert 'id="err-policy-0-stage"' in r.text
    assert "Instrument 1, chain stage" in r.text
    r = client.post("/designer", data=CHAIN_FORM | {"origin_threshold_pct": "-5"})
    assert r.status_code == 422
    assert re.search(r'id="err-origin_threshold_pct">must be at least 0%', r.text)


def test_stage_and_origin_survive_a_round_trip_through_the_form() -> None:
    data = copy.deepcopy(LITHIUM_CHAIN)
    data["zone"] = ZONE | {"origin": {"rule": "rvc", "threshold": 0.4}}
    state = forms.state_from_scenario(data, {"EU27"})
    assert state.policies[0]["stage"] == "refine"
    assert (state.origin_rule, state.origin_threshold_pct) == ("rvc", "40")
    again = forms.scenario_from_state(state)
    assert again["policy"][0]["stage"] == "refine"
    assert again["zone"]["origin"] == {"rule": "rvc", "threshold": 0.4}


def test_warnings_of_chains_and_products_are_collected_once() -> None:
    result = {
        "products": {"p": {"notes": ["cut off: buyers of p", "a plain note"]}},
        "chains": {
            "c": {
                "notes": ["no effect: a note that warns", "a plain note"],
                "stages": [
                    {"notes": ["no effect: a note that warns"]},
                    {"notes": ["cut off: buyers of p"]},  # its product's: said with the product
                ],
            }
        },
    }
    assert result_warnings(result) == [
        {"where": "p", "kind": "cut off", "text": "cut off: buyers of p"},
        {"where": "chain c", "kind": "no effect", "text": "no effect: a note that warns"},
    ]


# ----------------------------------------------------------------------------- warnings


def test_no_effect_warnings_are_shown_on_the_results_page(client: Any) -> None:
    form = DESIGNER_FORM | {"policy-0-price": "100"}  # far below the lithium carbonate price
    r = client.post("/designer", data=form, params={"format": "json"})
    notes = r.json()["result"]["products"]["lithium_carbonate"]["notes"]
    warned = [n for n in notes if n.startswith(WARNING_PREFIXES)]
    assert warned and warned[0].startswith("may have no effect:")
    for url in (f"/designer?run={r.json()['id']}", f"/runs/{r.json()['id']}"):
        page = client.get(url).text
        box = re.search(r'<section class="card" id="result-warnings".*?</section>', page, re.S)
        assert box is not None, url
        assert 'data-kind="may have no effect"' in box.group()
        assert "USD 100/t" in box.group()
    # a floor that binds warns of nothing
    r = client.post("/designer", data=DESIGNER_FORM, params={"format": "json"})
    assert 'id="result-warnings"' not in client.get(f"/runs/{r.json()['id']}").text


def test_a_run_without_instruments_warns_that_it_shows_the_baseline(client: Any) -> None:
    """A designer run with no instrument is the baseline: the results page says so."""
    form = {k: v for k, v in DESIGNER_FORM.items() if not k.startswith("policy-")}
    r = client.post("/designer", data=form, params={"format": "json"})
    assert r.status_code == 200, r.text
    notes = r.json()["result"]["products"]["lithium_carbonate"]["notes"]
    assert notes[0].startswith("no effect: the scenario sets no instrument"), notes
    page = client.get(f"/runs/{r.json()['id']}").text
    box = re.search(r'<section class="card" id="result-warnings".*?</section>', page, re.S)
    assert box is not None
    assert 'data-kind="no effect"' in box.group() and "sets no instrument" in box.group()


# ----------------------------------------------------------------------------- coalitions


def test_coalition_api_equals_the_library(client: Any) -> None:
    from critmin.coalition import run_coalition
    from critmin.numbers import clean

    data = coalition_scenario()
    sid = client.post("/api/scenarios?run=false", json=data).json()["id"]
    r = client.get("/api/coalition", params={"source": sid, "candidates": "IDN,CHL,ARG"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == sid and body["method"] == "exact"
    expected = clean(
        run_coalition(data, candidates=["IDN", "CHL", "ARG"], workers=1, cache_dir=False).to_dict()
    )
    for key in ("players", "objective_values", "shapley_players", "coalitions_evaluated"):
        assert body[key] == expected[key], key
    # efficiency, as the page states it: the values sum to grand minus empty
    total = "self_sufficiency:total"
    phi = sum(p["shapley"][total] for p in body["players"] if p["shapley"][total] is not None)
    values = body["objective_values"]
    assert phi == pytest.approx(values["grand"][total] - values["empty"][total], abs=1e-12)
    # the page's twin answers the same numbers (repeated candidates, as checkboxes send them)
    twin = client.get(
        "/coalition",
        params=[
            ("source", sid),
            ("candidates", "IDN"),
            ("candidates", "CHL"),
            ("candidates", "ARG"),
            ("format", "json"),
        ],
    ).json()
    assert twin["players"] == body["players"]


def test_coalition_api_and_page_follow_the_scenarios_table_as_the_cli_does(client: Any) -> None:
    """A scenario whose ``[coalition]`` table sets member players, sampled orders and a seed:
    the API and the page's twin, asked without those fields, answer the numbers of
    ``run_coalition`` on the scenario alone (what ``critmin coalition`` prints), not an
    exact game of the candidates alone with seed 0."""
    from critmin.coalition import run_coalition
    from critmin.numbers import clean

    data = coalition_scenario()
    data["coalition"] |= {
        "candidates": ["CHL", "ARG"],
        "members_as_players": ["CAN"],
        "sampled": 20,
        "seed": 4,
    }
    sid = client.post("/api/scenarios?run=false", json=data).json()["id"]
    expected = clean(run_coalition(data, workers=1, cache_dir=False).to_dict())
    assert expected["method"] == "sampled" and expected["shapley_players"] == ["CAN", "CHL", "ARG"]
    body = client.get("/api/coalition", params={"source": sid}).json()
    twin = client.get("/coalition", params={"source": sid, "run": "true", "format": "json"})
    for got in (body, twin.json()):
        for key in ("method", "permutations", "seed", "shapley_players", "players"):
            assert got[key] == expected[key], key
    # given explicitly, the query still wins: the exact game of the candidates alone
    exact = client.get(
        "/api/coalition",
        params={"source": sid, "members_as_players": "false", "sampled": "0"},
    ).json()
    assert exact["method"] == "exact" and exact["shapley_players"] == ["CHL", "ARG"]


def test_coalition_api_says_what_a_seed_or_an_empty_candidate_list_does(client: Any) -> None:
    """``seed=5`` on an exact game answered 200 with no word (``critmin coalition --seed``
    warns that it does nothing); ``candidates=,`` fell back to the scenario's candidates in
    silence (the command line refuses an empty list)."""
    sid = client.post("/api/scenarios?run=false", json=coalition_scenario()).json()["id"]
    params = {"source": sid, "candidates": "CHL,ARG"}
    body = client.get("/api/coalition", params=params | {"seed": "5"}).json()
    assert body["method"] == "exact"
    assert any(
        n.startswith("no effect: seed 5: the Shapley values are exact") for n in body["notes"]
    )
    plain = client.get("/api/coalition", params=params).json()
    assert not any(n.startswith("no effect: seed") for n in plain["notes"])
    r = client.get("/api/coalition", params={"source": sid, "candidates": ","})
    assert r.status_code == 422 and r.json()["field"] == "candidates", r.text


def test_coalition_page_ranks_candidates_and_draws_the_bars(client: Any) -> None:
    sid = client.post("/api/scenarios?run=false", json=coalition_scenario()).json()["id"]
    page = client.get("/coalition", params={"source": sid, "run": "true"})
    assert page.status_code == 200, page.text
    rows = re.findall(r'<tr data-player="(\w+)" data-shapley="([^"]*)"', page.text)
    shapley = [float(v) for _, v in rows if v]
    assert shapley == sorted(shapley, reverse=True)  # self-sufficiency: higher is better
    failing = {"IND", "COD", "MYS"}  # the example's gates (docs/coalition.md)
    assert failing <= {p for p, _ in rows}
    for objective in ("self-sufficiency", "watch-share", "zone-welfare-usd", "world-welfare-usd"):
        assert f'id="chart-shapley-{objective}-total"' in page.text
    assert 'id="chart-heatmap-self-sufficiency-total"' in page.text
    assert "ILO core conventions" in page.text  # a reason is shown
    # the form alone (prefilled from the scenario's [coalition] table) runs nothing
    form = client.get("/coalition", params={"source": sid}).text
    assert 'id="ranked-table"' not in form and 'value="IDN" checked' in form


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"candidates": ",".join(f"C{i:02d}" for i in range(17))}, "candidates"),
        ({"sampled": "5000"}, "sampled"),
        (
            {
                "members_as_players": "true",
                "candidates": "IDN,CHL,ARG,BRA,IND,ZAF,PHL,MAR,COD,MYS,ARE",
            },
            "candidates",
        ),
    ],
)
def test_coalition_bounds_are_422_naming_the_field(
    client: Any, params: dict[str, str], field: str
) -> None:
    sid = client.post("/api/scenarios?run=false", json=coalition_scenario()).json()["id"]
    r = client.get("/api/coalition", params={"source": sid} | params)
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_coalition_of_a_chain_scenario_is_refused_clearly(client: Any) -> None:
    sid = client.post("/api/scenarios?run=false", json=LITHIUM_CHAIN).json()["id"]
    r = client.get("/api/coalition", params={"source": sid, "candidates": "CHL"})
    assert r.status_code == 422 and r.json()["field"] == "chain"
    r = client.get("/api/coalition", params={"source": "nosuchid", "candidates": "CHL"})
    assert r.status_code == 404
    unknown = copy.deepcopy(EXAMPLE1_DICT)
    sid = client.post("/api/scenarios?run=false", json=unknown).json()["id"]
    r = client.get("/api/coalition", params={"source": sid, "candidates": "XXX"})
    assert r.status_code == 422 and "XXX" in r.json()["error"]


def test_chain_products_count_towards_the_product_limit(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from critmin.web.app import create_app
    from critmin.web.services import Limits

    with TestClient(create_app(tmp_path / "db.sqlite3", limits=Limits(max_products=2))) as c:
        body = LITHIUM_CHAIN | {"product": [{"id": "cobalt_oxides"}]}
        r = c.post("/api/simulate", json=body)
        assert r.status_code == 422 and r.json()["field"] == "chain", r.text
        assert "counting every stage product of the chains" in r.json()["error"]


def test_coalition_of_a_designer_run(client: Any) -> None:
    from critmin.coalition import run_coalition
    from critmin.numbers import clean

    run = client.post("/designer", data=DESIGNER_FORM, params={"format": "json"}).json()
    page = client.get(f"/designer?run={run['id']}").text
    assert f'href="/coalition?source=run:{run["id"]}"' in page
    r = client.get("/api/coalition", params={"source": f"run:{run['id']}", "candidates": "CHL"})
    assert r.status_code == 200, r.text
    expected = clean(
        run_coalition(run["scenario"], candidates=["CHL"], workers=1, cache_dir=False).to_dict()
    )
    assert r.json()["players"] == expected["players"]


def test_the_coalition_menu_marks_scenarios_it_cannot_value(client: Any) -> None:
    """Saved scenarios with linked chains, or with more products than the server values, are
    listed with the reason and disabled (choosing one could only give a 422); the others are
    offered as before."""
    chain = client.post("/api/scenarios?run=false", json=LITHIUM_CHAIN).json()["id"]
    many = tomllib.loads((EXAMPLES / "04_full_zone_all_products.toml").read_text())
    big = client.post("/api/scenarios?run=false", json=many).json()["id"]
    plain = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT).json()["id"]
    page = client.get("/coalition").text

    def option(sid: str) -> str:
        found = re.search(rf'<option value="{sid}"[^>]*>[^<]*</option>', page)
        assert found, page
        return found.group(0)

    assert "disabled" in option(chain) and "linked chains" in option(chain)
    assert "disabled" in option(big) and f"{len(many['product'])} products, at most" in option(big)
    assert "disabled" not in option(plain) and " — " not in option(plain)


def test_a_warning_every_product_gives_is_one_box() -> None:
    """A scenario-wide warning (no instrument at all) came once per product: 30 boxes above a
    result of the 30 bundled products. It is one, naming where it applies."""
    idle = "no effect: the scenario sets no instrument"
    result = {"products": {p: {"notes": [idle]} for p in ("a", "b", "c")}}
    assert result_warnings(result) == [
        {"where": "every product", "kind": "no effect", "text": idle}
    ]
    result["products"]["c"]["notes"] = ["cut off: buyers of c"]
    assert [w["where"] for w in result_warnings(result)] == ["a, b", "c"]


def test_coalition_form_unchecked_member_players_box_is_off(client: Any) -> None:
    """The page's form sends ``members_as_players=false`` (a hidden field) before its checkbox:
    a box the user unticked turns member players off even where the scenario's ``[coalition]``
    table turns them on (a form without the field would leave it to the table); a ticked box
    sends ``true`` after it, which wins: every member plays."""
    data = coalition_scenario()
    data["coalition"] |= {"candidates": ["CHL", "ARG"], "members_as_players": ["CAN"]}
    sid = client.post("/api/scenarios?run=false", json=data).json()["id"]
    page = client.get("/coalition", params={"source": sid})
    assert 'type="hidden" name="members_as_players" value="false"' in page.text
    form = {"source": sid, "run": "true", "sampled": "0", "seed": "0", "format": "json"}
    unticked = client.get("/coalition", params={**form, "members_as_players": "false"}).json()
    assert unticked["shapley_players"] == ["CHL", "ARG"]
    ticked = client.get(
        "/coalition",
        params=[*form.items(), ("members_as_players", "false"), ("members_as_players", "true")],
    ).json()
    assert ticked["shapley_players"][-2:] == ["CHL", "ARG"]  # every member plays: the box
    assert len(ticked["shapley_players"]) > 3 and "USA" in ticked["shapley_players"]
