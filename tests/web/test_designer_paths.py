"""The designer's *Yearly paths* fields: a floor typed in the form becomes the scenario's
``[paths]`` table, its run links to ``/paths`` and the paths run on it; a saved table's other
settings are kept; wrong entries are named next to their field; a cleared floor drops the
table."""

from __future__ import annotations

import html
import re
import tomllib
from typing import Any

from test_designer_roundtrip import BASE, form_fields
from webutil import EXAMPLES


def _run(client: Any, form: dict[str, Any]) -> Any:
    return client.post("/designer?format=json", data=form | {"action": "run"})


LITHIUM = BASE | {"products": ["lithium_carbonate"]}


def test_a_floor_typed_in_the_form_makes_a_paths_table_that_runs(client: Any) -> None:
    form = LITHIUM | {"paths-floor": "20,000", "paths-years": "2025-2028", "paths-start": "2026"}
    r = _run(client, form)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["scenario"]["paths"] == {
        "floor_usd_per_t": 20000.0,
        "years": "2025-2028",
        "start_year": 2026,
    }
    # the product typed by name is stored by id
    by_name = _run(client, form | {"paths-product": "Lithium carbonate"}).json()
    assert by_name["scenario"]["paths"]["product"] == "lithium_carbonate"
    # the run's page links to the yearly paths, which run on the table the form made
    page = client.post("/designer", data=form | {"action": "run"}, follow_redirects=True).text
    rid = re.search(r'href="/paths\?source=run:([^"]+)" id="paths-link"', page)
    assert rid, "no link to the yearly paths"
    params = {"source": f"run:{rid.group(1)}", "draws": 0, "mechanisms": "variable_levy"}
    paths = client.get("/api/paths", params=params)
    assert paths.status_code == 200, paths.text[:500]
    got = paths.json()
    assert got["facts"]["floor_usd_per_t"] == 20000.0
    assert got["settings"]["years"] == "2025-2028"


def test_without_a_floor_there_is_no_paths_table(client: Any) -> None:
    body = _run(client, LITHIUM).json()
    assert "paths" not in body["scenario"]


def test_wrong_entries_are_named_next_to_their_field(client: Any) -> None:
    two = BASE | {"products": ["lithium_carbonate", "cobalt_oxides"]}
    cases = [
        (LITHIUM | {"paths-years": "2025-2030"}, "paths-floor", "give the floor (USD/t)"),
        (LITHIUM | {"paths-floor": "abc"}, "paths-floor", "expected a number"),
        (LITHIUM | {"paths-floor": "-5"}, "paths-floor", "more than 0"),
        (LITHIUM | {"paths-floor": "15000", "paths-years": "2030"}, "paths-years", "FIRST-LAST"),
        (LITHIUM | {"paths-floor": "15000", "paths-start": "soon"}, "paths-start", "a year"),
        (
            LITHIUM | {"paths-floor": "15000", "paths-product": "cobalt_oxides"},
            "paths-product",
            "not one of the scenario's products",
        ),
        (two | {"paths-floor": "15000"}, "paths-product", "name the product"),
    ]
    for form, anchor, words in cases:
        r = client.post("/designer", data=form | {"action": "run"})
        assert r.status_code == 422, (form, r.text[:300])
        error = html.unescape(r.text[r.text.find(f'id="err-{anchor}"') :][:400])
        assert f'id="err-{anchor}"' in r.text and words in error, (form, anchor, error)
    # two products, one named: fine
    ok = _run(client, two | {"paths-floor": "15000", "paths-product": "cobalt_oxides"})
    assert ok.status_code == 200 and ok.json()["scenario"]["paths"]["product"] == "cobalt_oxides"


def test_a_saved_tables_other_settings_are_kept_and_a_cleared_floor_drops_them(
    client: Any,
) -> None:
    original = tomllib.loads((EXAMPLES / "paths" / "lithium_floor_2026_2035.toml").read_text())
    sid = client.post("/api/scenarios?run=false", json=original).json()["id"]
    page = client.get("/designer", params={"from": sid}).text
    assert 'id="paths-floor" name="paths-floor" value="20000"' in page
    assert "paths.draws" in page and "paths.offtake_budget_usd" in page  # kept as saved
    form: dict[str, list[str]] = {}
    for k, v in form_fields(page):
        form.setdefault(k, []).append(v)
    form["paths-floor"] = ["25000"]
    r = client.post("/designer?format=json", data=form | {"action": ["run"]})
    assert r.status_code == 200, r.text[:500]
    assert r.json()["scenario"]["paths"] == original["paths"] | {"floor_usd_per_t": 25000.0}
    form["paths-floor"] = [""]
    for f in ("product", "years", "start"):
        form[f"paths-{f}"] = [""]
    r = client.post("/designer?format=json", data=form | {"action": ["run"]})
    assert r.status_code == 200, r.text[:500]
    assert "paths" not in r.json()["scenario"]
