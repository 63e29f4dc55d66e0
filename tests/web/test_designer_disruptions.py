"""The designer's *Disruption risk* rows: each becomes a ``[[disruption]]`` table (probability
typed in percent, an optional year), a saved table's other keys are kept, wrong entries are
named next to their field, and the buttons add and remove rows without running anything."""

from __future__ import annotations

import html
from typing import Any

from test_designer_roundtrip import BASE, form_fields
from webutil import EXAMPLE1_DICT

LITHIUM = BASE | {"products": ["lithium_carbonate"]}


def _run(client: Any, form: dict[str, Any]) -> Any:
    return client.post("/designer?format=json", data=form | {"action": "run"})


def _row(i: int, **fields: str) -> dict[str, str]:
    base = {"type": "export_ban", "exporters": "watch", "importers": "members"}
    base |= {"probability_pct": "", "year": "", "extra": ""}
    return {f"disruption-{i}-{k}": v for k, v in (base | fields).items()}


def test_rows_become_disruption_tables(client: Any) -> None:
    form = LITHIUM | _row(0, exporters="CHN", probability_pct="10") | _row(1)  # row 1: empty
    form |= _row(2, exporters="COD, IDN", importers="all", probability_pct="2.5", year="2028")
    r = _run(client, form)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["scenario"]["disruption"] == [
        {"exporters": ["CHN"], "importers": "members", "probability": 0.1},
        {"exporters": ["COD", "IDN"], "importers": "all", "probability": 0.025, "year": 2028},
    ]
    assert "disruption" not in _run(client, LITHIUM | _row(0)).json()["scenario"]


def test_wrong_entries_are_named_next_to_their_field(client: Any) -> None:
    cases = [
        (_row(0, exporters="CHN"), "disruption-0-probability_pct", "give the yearly probability"),
        (_row(0, probability_pct="150"), "disruption-0-probability_pct", "at most 100%"),
        (_row(0, probability_pct="ten"), "disruption-0-probability_pct", "expected a number"),
        (_row(0, probability_pct="5", year="soon"), "disruption-0-year", "a year such as"),
        (_row(0, probability_pct="5", exporters="XXX"), "disruption-0-exporters", "XXX"),
        # a key kept as saved (no field of its own): shown under the row, named, not as if the
        # exporters were wrong (it was "Disruption 1, exporters: product ... is not one ...")
        (
            _row(0, probability_pct="5", exporters="CHN")
            | {"disruption-0-extra": '{"products": ["cobalt_oxides"]}'},
            "disruption-0-kept",
            "products: product 'cobalt_oxides'",
        ),
        (
            _row(0, probability_pct="5", exporters="CHN") | {"disruption-0-extra": '{"a": 1}'},
            "disruption-0-kept",
            "a: ",
        ),
    ]
    for fields, anchor, words in cases:
        r = client.post("/designer", data=LITHIUM | fields | {"action": "run"})
        assert r.status_code == 422, (fields, r.text[:300])
        assert f'id="err-{anchor}"' in r.text, (
            anchor,
            r.text[r.text.find("designer-error") :][:500],
        )
        error = html.unescape(r.text[r.text.find(f'id="err-{anchor}"') :][:400])
        assert words in error, (anchor, error)


def test_the_buttons_add_and_remove_rows(client: Any) -> None:
    page = client.post("/designer", data=LITHIUM | {"action": "add-disruption"}).text
    assert 'id="disruption-0"' in page and 'id="disruption-1"' not in page
    two = LITHIUM | _row(0, exporters="CHN", probability_pct="10")
    two |= _row(1, exporters="RUS", probability_pct="5")
    page = client.post("/designer", data=two | {"action": "remove-disruption:0"}).text
    assert 'value="RUS"' in page and 'value="CHN"' not in page.split('id="disruptions"')[1]


def test_a_saved_tables_other_keys_are_kept(client: Any) -> None:
    """A disruption limited to some products (a key the row does not show) comes back as
    saved, and the page lists it as kept."""
    data = dict(EXAMPLE1_DICT)
    data["disruption"] = [
        {
            "exporters": ["CHN"],
            "importers": "members",
            "probability": 0.1,
            "products": ["lithium_carbonate"],
        }
    ]
    sid = client.post("/api/scenarios?run=false", json=data).json()["id"]
    page = client.get("/designer", params={"from": sid}).text
    assert "disruption 1: products" in page
    form: dict[str, list[str]] = {}
    for k, v in form_fields(page):
        form.setdefault(k, []).append(v)
    form["disruption-0-probability_pct"] = ["20"]
    r = client.post("/designer?format=json", data=form | {"action": ["run"]})
    assert r.status_code == 200, r.text[:500]
    assert r.json()["scenario"]["disruption"] == [
        {
            "exporters": ["CHN"],
            "importers": "members",
            "probability": 0.2,
            "products": ["lithium_carbonate"],
        }
    ]


def test_remove_buttons_take_the_box_they_belong_to(client: Any) -> None:
    """Boxes removed in the browser leave gaps in the indices: a remove button takes the box
    whose fields carry its index (it took the box at that position: remove:5 on boxes 0, 5
    and 9 removed box 9); one for no box says so; a row numbered 10000 is kept."""
    rows = LITHIUM | _row(0, exporters="CHN", probability_pct="10")
    rows |= _row(5, exporters="RUS", probability_pct="5")
    rows |= _row(9, exporters="COD", probability_pct="2")
    page = client.post("/designer", data=rows | {"action": "remove-disruption:5"}).text
    boxes = page.split('id="disruptions"')[1]
    assert 'value="RUS"' not in boxes and 'value="CHN"' in boxes and 'value="COD"' in boxes
    page = client.post("/designer", data=rows | {"action": "remove-disruption:7"}).text
    assert "There is no box &#39;7&#39; to remove." in page
    boxes = page.split('id="disruptions"')[1]
    assert all(f'value="{c}"' in boxes for c in ("CHN", "RUS", "COD"))
    far = LITHIUM | _row(10000, exporters="CHN", probability_pct="10")
    assert _run(client, far).json()["scenario"]["disruption"][0]["exporters"] == ["CHN"]


def test_form_buttons_are_refused_as_json(client: Any) -> None:
    """``format=json`` answers run and save; the buttons that redraw the form got an HTML
    page with a 200."""
    for action in ("add", "add-shock", "add-disruption", "remove:0", "remove-disruption:0"):
        r = client.post("/designer?format=json", data=LITHIUM | {"action": action})
        assert r.status_code == 422 and r.json()["field"] == "action", (action, r.text[:200])
        assert "with format=json send run or save" in r.json()["error"]
