"""The analyst's desk in the dashboard: shareable runs, saving without running again, the
saved list's key figures, rename / notes / tags / duplicate, compare, exports and sweeps."""

from __future__ import annotations

import copy
import io
import re
from typing import Any

import pytest
from webutil import DESIGNER_FORM, EXAMPLE1_DICT, without_timing

from critmin.narrative import key_figures
from critmin.web import services


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the simulations the server runs."""
    calls: list[int] = []
    real = services.run_simulation

    def run(scenario: Any) -> dict[str, Any]:
        calls.append(1)
        return real(scenario)

    monkeypatch.setattr(services, "run_simulation", run)
    return calls


def test_run_has_a_shareable_address_and_save_does_not_run_again(
    client: Any, counted: list[int], example1_result: dict[str, Any]
) -> None:
    r = client.post("/designer", data=DESIGNER_FORM | {"action": "run"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/designer?run=")
    run_id = r.headers["location"].split("run=")[1].split("#")[0]
    assert len(counted) == 1
    page = client.get(r.headers["location"])
    assert 'id="results"' in page.text and f'href="/runs/{run_id}"' in page.text
    shared = client.get(f"/runs/{run_id}", params={"format": "json"}).json()
    assert (
        without_timing(shared["result"])["products"]
        == (without_timing(example1_result)["products"])
    )
    run_page = client.get(f"/runs/{run_id}").text
    # the shared run offers what the designer's results offer (it had compare and paths only)
    for link in (f"/sweep?source=run:{run_id}", f"/coalition?source=run:{run_id}"):
        assert f'href="{link}"' in run_page, link
    assert client.get(f"/api/runs/{run_id}").json()["scenario"] == shared["scenario"]
    # Save from the results page: the same form, so the kept run is saved as it is
    saved = client.post(
        "/designer", data=DESIGNER_FORM | {"action": "save"}, follow_redirects=False
    )
    assert saved.status_code == 303 and len(counted) == 1
    sid = saved.headers["location"].split("/")[2].split("?")[0]
    assert without_timing(client.get(f"/api/scenarios/{sid}/result").json()) == without_timing(
        shared["result"]
    )
    # a changed form is run again before it is saved
    changed = DESIGNER_FORM | {"policy-0-price": "16000", "action": "save"}
    assert client.post("/designer", data=changed, follow_redirects=False).status_code == 303
    assert len(counted) == 2
    assert client.get("/runs/0000000000000000").status_code == 404


def test_double_clicked_save_stores_one_scenario(client: Any) -> None:
    form = DESIGNER_FORM | {"action": "save", "idempotency_key": "page-key-1"}
    first = client.post("/designer", data=form, follow_redirects=False)
    second = client.post("/designer", data=form, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    assert len(client.get("/api/scenarios").json()) == 1
    # the same page key reused for another scenario (back, edit, save): a new scenario
    other = form | {"name": "Edited"}
    assert client.post("/designer", data=other, follow_redirects=False).status_code == 303
    assert len(client.get("/api/scenarios").json()) == 2


def test_saved_list_shows_key_figures_and_edits(client: Any) -> None:
    entry = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()
    sid = entry["id"]
    result = client.get(f"/api/scenarios/{sid}/result").json()
    expected = {f.key: f for f in key_figures(result)}
    stored = {f["key"]: f for f in entry["figures"]}
    assert stored["self_sufficiency"]["value"] == pytest.approx(
        expected["self_sufficiency"].value, rel=1e-12
    )
    page = client.get("/scenarios").text
    assert expected["self_sufficiency"].text in page  # "25.7% → 29.4%"
    assert expected["zone_welfare_change_usd"].text in page
    # rename, notes and tags (API), then the page form
    r = client.patch(
        f"/api/scenarios/{sid}",
        json={"name": "Li floor", "notes": "for the minister", "tags": ["Li", "draft"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Li floor" and r.json()["tags"] == ["draft", "li"]
    assert client.get(f"/api/scenarios/{sid}").json()["scenario"]["name"] == "Li floor"
    assert client.patch(f"/api/scenarios/{sid}", json={"nmae": "x"}).status_code == 422
    r = client.post(
        f"/scenarios/{sid}/edit",
        data={"name": "Lithium floor", "notes": "v2", "tags": "lithium, final"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    got = client.get(f"/api/scenarios/{sid}").json()
    assert (got["name"], got["notes"], got["tags"]) == ("Lithium floor", "v2", ["final", "lithium"])
    assert [e["id"] for e in client.get("/api/scenarios", params={"tag": "final"}).json()] == [sid]
    assert client.get("/api/scenarios", params={"tag": "none"}).json() == []
    # the edit form: a field it does not send stays; one beyond its limit is refused, not cut
    r = client.post(
        f"/scenarios/{sid}/edit", data={"name": "Lithium floor"}, follow_redirects=False
    )
    assert r.status_code == 303
    got = client.get(f"/api/scenarios/{sid}").json()
    assert (got["notes"], got["tags"]) == ("v2", ["final", "lithium"])
    for form, field in (
        ({"name": "n", "notes": "x" * 15_000}, "notes"),
        ({"name": "x" * 500}, "name"),
        ({"name": "n", "tags": ",".join(f"t{i}" for i in range(50))}, "tags"),
        ({"name": "  "}, "name"),
    ):
        r = client.post(f"/scenarios/{sid}/edit", data=form, follow_redirects=False)
        assert r.status_code == 422, (form, r.text[:200])
        assert field in r.text
    r = client.patch(
        f"/api/scenarios/{sid}", json={"tags": [",".join(f"t{i}" for i in range(300))]}
    )
    assert r.status_code == 422 and r.json()["field"] == "tags"
    assert client.patch(f"/api/scenarios/{sid}", json={"name": "   "}).status_code == 422
    got = client.get(f"/api/scenarios/{sid}").json()
    assert (got["name"], got["notes"], got["tags"]) == ("Lithium floor", "v2", ["final", "lithium"])
    # duplicate: a copy with the result, notes and tags
    copy_ = client.post(f"/api/scenarios/{sid}/duplicate").json()
    assert copy_["id"] != sid and copy_["name"] == "Lithium floor (copy)"
    assert copy_["tags"] == ["final", "lithium"] and copy_["has_result"]
    r = client.post(f"/scenarios/{sid}/duplicate", follow_redirects=False)
    assert r.status_code == 303 and len(client.get("/api/scenarios").json()) == 3


def test_a_saved_scenarios_page_leads_with_the_answer(client: Any) -> None:
    """Issue 19, the answer first: on a saved scenario's page the written answer and its key
    figures come right after the title, the actions and the downloads, before the rename,
    compare and uncertainty forms (which sat above it, pushing the answer to the bottom of the
    first screen at 1440 px and below it at 390 px); a scenario saved without results keeps
    its rename form."""
    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    page = client.get(f"/scenarios/{sid}").text
    answer = page.index('id="answer"')
    for form in ('id="edit-card"', 'id="compare-form"', 'id="uncertainty-form"'):
        assert answer < page.index(form) < page.index('class="toc"'), form
    assert page.count('id="edit-card"') == 1
    unrun = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT).json()["id"]
    bare = client.get(f"/scenarios/{unrun}").text
    assert bare.count('id="edit-card"') == 1 and 'id="answer"' not in bare


def test_compare_two_scenarios_and_a_baseline(client: Any) -> None:
    a = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    higher = copy.deepcopy(EXAMPLE1_DICT)
    higher["name"] = "Higher floor"
    higher["policy"][0]["price_usd_per_t"] = 18000
    b = client.post("/api/scenarios", json=higher).json()["id"]
    ra = {f.key: f for f in key_figures(client.get(f"/api/scenarios/{a}/result").json())}
    rb = {f.key: f for f in key_figures(client.get(f"/api/scenarios/{b}/result").json())}
    data = client.get("/api/compare", params={"a": a, "b": b}).json()
    rows = {r["key"]: r for r in data["totals"]}
    price = rows["zone_consumer_price_change_pct"]
    assert price["a"] == pytest.approx(ra["zone_consumer_price_change_pct"].value)
    assert price["b"] == pytest.approx(rb["zone_consumer_price_change_pct"].value)
    assert price["diff"] == pytest.approx(price["b"] - price["a"]) and price["diff"] > 0
    # against the baseline: shares before, no change in prices or welfare
    base = client.get("/api/compare", params={"a": a, "b": "baseline"}).json()
    rows = {r["key"]: r for r in base["totals"]}
    assert rows["self_sufficiency"]["b"] == pytest.approx(ra["self_sufficiency"].baseline)
    assert rows["zone_welfare_change_usd"]["b"] == 0.0
    assert [p["product"] for p in base["products"]] == ["lithium_carbonate"]
    page = client.get("/compare", params={"a": a, "b": b})
    assert page.status_code == 200 and 'id="compare-totals-table"' in page.text
    assert client.get("/compare", params={"a": "nope"}).status_code == 404
    assert client.get("/api/compare", params={"a": "baseline", "b": "baseline"}).status_code == 422


def test_compare_page_shows_a_small_difference_not_minus_zero(client: Any) -> None:
    # example 1 against its baseline: the watch share moves 3.46% -> 3.50% (0.04 pp), which
    # the page printed as "-0.0 pp"
    a = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    rows = {
        r["key"]: r
        for r in client.get("/api/compare", params={"a": a, "b": "baseline"}).json()["totals"]
    }
    diff = rows["watch_share"]["diff"]
    assert -0.0005 < diff < -0.0003
    page = client.get("/compare", params={"a": a, "b": "baseline"}).text
    assert f"{100 * diff:+.2f} pp" in page
    assert "-0.0 pp" not in page and "+0.0 pp" not in page


def test_exports_csv_and_excel(client: Any) -> None:
    from openpyxl import load_workbook

    from critmin.export import table_csv
    from critmin.frames import TABLES

    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    result = client.get(f"/api/scenarios/{sid}/result").json()
    for table in TABLES:
        r = client.get(f"/api/scenarios/{sid}/tables/{table}.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.text == table_csv(result, table)
    r = client.get(f"/api/scenarios/{sid}/workbook.xlsx")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert set(TABLES) <= set(book.sheetnames)
    assert client.get(f"/api/scenarios/{sid}/tables/nope.csv").status_code == 404
    page = client.get(f"/scenarios/{sid}").text
    assert f'href="/api/scenarios/{sid}/workbook.xlsx"' in page


def test_the_key_figures_download_names_its_figures_not_a_product(client: Any) -> None:
    """The key figures' CSV and workbook sheet headed their first column "product key" (the
    header of a chain stage's product) over figure keys such as ``self_sufficiency``."""
    from openpyxl import load_workbook

    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    csv_text = client.get(f"/api/scenarios/{sid}/tables/key_figures.csv").text
    header, first = csv_text.splitlines()[:2]
    assert header.split(",")[0] == "figure key" and first.startswith("self_sufficiency,")
    book = load_workbook(io.BytesIO(client.get(f"/api/scenarios/{sid}/workbook.xlsx").content))
    assert book["key_figures"]["A1"].value == "figure key"
    assert book["key_figures"]["A2"].value == "self_sufficiency"


def test_sweep_page_and_api(client: Any) -> None:
    from critmin.sweep import run_sweep, values_between

    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    params = {
        "source": sid,
        "parameter": "policy[0].price_usd_per_t",
        "start": 10000,
        "stop": 20000,
        "steps": 3,
    }
    r = client.get("/api/sweep", params=params)
    assert r.status_code == 200, r.text
    got = r.json()
    direct = run_sweep(EXAMPLE1_DICT, "policy[0].price_usd_per_t", values_between(1e4, 2e4, 3))
    assert [p["value"] for p in got["points"]] == [10000.0, 15000.0, 20000.0]
    assert [p["figures"] for p in got["points"]] == [p.figures for p in direct.points]
    page = client.get("/sweep", params=params)
    assert page.status_code == 200 and 'id="chart-sweep"' in page.text
    assert 'id="sweep-table"' in page.text
    too_many = client.get("/api/sweep", params=params | {"steps": 500})
    assert too_many.status_code == 422 and too_many.json()["field"] == "steps"
    wrong = client.get("/api/sweep", params=params | {"parameter": "policy[3].rate"})
    assert wrong.status_code == 422 and "policy[0].price_usd_per_t" in wrong.json()["error"]
    assert client.get("/sweep").status_code == 200
    # a value the scenario refuses names the swept field; a range where the floor does
    # nothing says so at the values where it does nothing
    negative = client.get("/api/sweep", params=params | {"start": -100})
    assert negative.status_code == 422, negative.text
    assert negative.json()["field"] == "policy[0].price_usd_per_t"
    assert "sweep value -100" in negative.json()["error"]
    assert got["warnings"] == []  # 10,000-20,000 USD/t binds
    low = client.get("/api/sweep", params=params | {"start": 100, "stop": 20000}).json()
    assert len(low["warnings"]) == 1 and "may have no effect" in low["warnings"][0]
    assert low["warnings"][0].endswith("(at 100)")
    page = client.get("/sweep", params=params | {"start": 100, "stop": 20000})
    assert "sweep-warning" in page.text and "may have no effect" in page.text


def test_a_sweep_from_a_value_to_itself_warns_that_its_points_repeat(client: Any) -> None:
    """start == stop gives the same point again and again: the API and the page say so, in
    the words of critmin sweep."""
    from critmin.sweep import repeat_warnings

    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    params = {"source": sid, "parameter": "policy[0].price_usd_per_t", "steps": 3}
    params |= {"start": 15000, "stop": 15000}
    r = client.get("/api/sweep", params=params)
    assert r.status_code == 200, r.text
    assert [p["value"] for p in r.json()["points"]] == [15000.0] * 3
    assert r.json()["warnings"] == repeat_warnings([15000.0] * 3)
    assert r.json()["warnings"][0].startswith("the values repeat (15000)")
    page = client.get("/sweep", params=params).text
    assert "sweep-warning" in page and "the values repeat (15000)" in page


def test_chains_in_the_designer_form() -> None:
    """Chains ticked in the designer become ``[[chain]]`` entries; a saved scenario with
    chains reopens with them ticked (the picker appears once the catalog has chains)."""
    from critmin.web import formerrors, forms

    state = forms.state_from_form(
        {"name": ["c"], "member_groups": ["EU27"], "chains": ["lithium", "cobalt"]}
    )
    data = forms.scenario_from_state(state)
    assert data["chain"] == [{"id": "cobalt"}, {"id": "lithium"}]
    assert forms.state_from_scenario(data, {"EU27"}).chains == {"cobalt", "lithium"}
    assert "chain" not in forms.scenario_from_state(forms.state_from_form({"name": ["p"]}))
    options = forms.picker_options(
        [],
        [],
        [],
        [{"id": "lithium", "mineral": "lithium", "steps": [{"stage": "mine", "products": ["x"]}]}],
    )
    assert options["chains"][0]["main"] == "Lithium chain (lithium)"
    assert formerrors.form_anchor("chain[0].id") == "chains"


@pytest.mark.parametrize(
    ("field", "problem", "plain"),
    [
        (
            "product",
            "List should have at least 1 item after validation, not 0",
            "choose at least one",
        ),
        ("zone.members", "must have at least 1 item(s), got none", "choose at least one"),
        ("policy[0].rate", "Input should be greater than or equal to 0", "must be at least 0%"),
        ("policy[0].rate", "must be at least 0, got -0.05", "must be at least 0%, got -5%"),
        (
            "policy[1].share_of_baseline",
            "must be at most 1, got 1.5",
            "must be at most 100%, got 150%",
        ),
        (  # just past the bound: every digit shown (it read "at most 1000%, got 1000%")
            "policy[0].rate",
            "must be at most 10, got 10.0000001",
            "must be at most 1000%, got 1000.00001%",
        ),
        (
            "disruption[0].probability",
            "must be at most 1, got 1.000001",
            "must be at most 100%, got 100.0001%",
        ),
        (  # the licence's own check, in fractions, shown in the form's percent
            "policy[0]",
            "grant_share must be a share of baseline exports between 0 and 1, got 1.000001",
            "must be between 0% and 100%, got 100.0001%",
        ),
        ("policy[0].price_usd_per_t", "Input should be greater than 0", "must be more than 0"),
        ("defaults.sigma", "Input should be a valid number, unable to parse", "must be a number"),
        ("name", "String should have at least 1 character", "must not be empty"),
        ("zone.watch", "unknown country or group 'XYZ'", "unknown country or group 'XYZ'"),
    ],
)
def test_designer_messages_in_plain_words(field: str, problem: str, plain: str) -> None:
    from critmin.web import formerrors

    assert formerrors.plain_words(field, problem) == plain


def test_an_edit_form_opened_before_another_edit_does_not_undo_it(client: Any) -> None:
    """Two tabs on one saved scenario: the first saves a new name and notes; the second,
    opened before, would send the old ones: it is refused (409) and nothing changes."""
    import re as _re

    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    page = client.get(f"/scenarios/{sid}").text
    loaded = _re.search(r'name="loaded" value="([0-9a-f]+)"', page)
    assert loaded is not None
    key = loaded.group(1)
    a = {"loaded": key, "name": "Renamed by A", "notes": "typed in A", "tags": ""}
    assert client.post(f"/scenarios/{sid}/edit", data=a, follow_redirects=False).status_code == 303
    b = {"loaded": key, "name": EXAMPLE1_DICT["name"], "notes": "", "tags": "b-tag"}
    r = client.post(f"/scenarios/{sid}/edit", data=b, follow_redirects=False)
    assert r.status_code == 409 and "reload the page" in r.text
    got = client.get(f"/api/scenarios/{sid}").json()
    assert (got["name"], got["notes"], got["tags"]) == ("Renamed by A", "typed in A", [])
    fresh = _re.search(r'name="loaded" value="([0-9a-f]+)"', client.get(f"/scenarios/{sid}").text)
    assert fresh is not None and fresh.group(1) != key
    b["loaded"] = fresh.group(1)
    assert client.post(f"/scenarios/{sid}/edit", data=b, follow_redirects=False).status_code == 303


def test_an_api_edit_with_if_match_does_not_undo_an_edit_made_in_between(client: Any) -> None:
    """Two API clients read one saved scenario (its ``ETag``); the first renames it; the
    second, sending ``If-Match`` with what it read, is refused (412, naming the header) and
    nothing changes; sent again with the new ``ETag`` (or ``*``, or none) it applies."""
    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    got = client.get(f"/api/scenarios/{sid}")
    etag = got.headers["ETag"]
    assert etag == f'"{got.json()["edit_key"]}"'
    r = client.patch(f"/api/scenarios/{sid}", json={"name": "By A"}, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] != etag and r.headers["ETag"] == f'"{r.json()["edit_key"]}"'
    r = client.patch(f"/api/scenarios/{sid}", json={"notes": "B"}, headers={"If-Match": etag})
    assert r.status_code == 412 and r.json()["field"] == "If-Match", r.text
    assert "Nothing was changed" in r.json()["error"]
    got = client.get(f"/api/scenarios/{sid}").json()
    assert (got["name"], got["notes"]) == ("By A", "")
    for k, spell in enumerate(("W/{tag}", "{key}", "*")):
        now = client.get(f"/api/scenarios/{sid}")
        match = spell.format(tag=now.headers["ETag"], key=now.json()["edit_key"])
        r = client.patch(
            f"/api/scenarios/{sid}", json={"notes": f"B{k}"}, headers={"If-Match": match}
        )
        assert r.status_code == 200, (match, r.text)
    assert client.patch(f"/api/scenarios/{sid}", json={"notes": "C"}).status_code == 200
    schema = client.get("/openapi.json").json()
    patch = schema["paths"]["/api/scenarios/{scenario_id}"]["patch"]
    assert "412" in patch["responses"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert body["name"]["type"] == "string" and body["tags"]["type"] == "array"
    assert "null" not in str(body)  # a null is refused (422), so the schema does not offer it


def _hrefs(html: str) -> list[str]:
    import html as html_lib
    import re

    return [html_lib.unescape(h) for h in re.findall(r'<a [^>]*href="([^"]*)"', html)]


def test_every_link_of_the_desk_leads_to_a_page(client: Any) -> None:
    """Every address a page links to answers (no 404 or 500): each link is absolute (a
    path on the server, an anchor or http(s)), and each path on the server is fetched. The
    data sources named a repository folder (``src/critmin/data/curated/``, a 404 relative to
    the page) and three addresses in one link (``https://pypi.org/... ; https://...``)."""
    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    run = client.post("/designer", data=DESIGNER_FORM | {"action": "run"}, follow_redirects=False)
    run_id = run.headers["location"].split("run=")[1].split("#")[0]
    pages = [
        "/overview",
        "/designer",
        "/scenarios",
        "/compare",
        "/coalition",
        "/paths",
        "/sweep",
        "/sources",
        f"/scenarios/{sid}",
        f"/runs/{run_id}",
        f"/designer?run={run_id}",
        f"/compare?a={sid}&b=baseline",
    ]
    linked: dict[str, str] = {}
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        for href in _hrefs(page.text):
            assert href.startswith(("/", "#", "https://", "http://")), (url, href)
            assert " " not in href, (url, href)
            if href.startswith("/") and not href.startswith("/overview?"):
                linked.setdefault(href.split("#")[0], url)
    assert f"/scenarios/{sid}/report.html" in linked
    for href, origin in linked.items():
        assert client.get(href).status_code == 200, (href, "linked from", origin)
    sources = client.get("/sources").text
    assert "https://afripoli.org/" in _hrefs(sources)
    assert "src/critmin/data/curated/" in sources


@pytest.mark.parametrize(
    ("path", "params", "field", "typed"),
    [
        ("/sweep", {"start": "ten thousand", "stop": "20000"}, "start", "ten thousand"),
        ("/sweep", {"start": "10000", "stop": "2,5"}, "stop", "2,5"),
        ("/paths", {"years": "2025 to 2035", "run": "true"}, "years", "2025 to 2035"),
        ("/overview", {"members": "USA, XXX"}, "members", "USA, XXX"),
        ("/coalition", {"run": "true", "source": ""}, "source", None),
        ("/paths", {"run": "true", "source": ""}, "source", None),
    ],
)
def test_a_pages_form_shows_a_refused_value_next_to_its_field(
    client: Any, path: str, params: dict[str, str], field: str, typed: str | None
) -> None:
    """The sweep's range, the paths' years, the overview's zone and a form sent without a
    scenario: the page comes back with its form as typed, the message next to the field and a
    summary linking to it (it was an error page without the form, 'field query.start'; a form
    without a scenario ran nothing and said nothing)."""
    import re

    data = copy.deepcopy(EXAMPLE1_DICT) | {"paths": {"floor_usd_per_t": 15000}}
    sid = client.post("/api/scenarios?run=false", json=data).json()["id"]
    base = {"source": sid, "parameter": "policy[0].price_usd_per_t"}
    page = client.get(path, params=base | params)
    assert page.status_code == 422, page.text
    html = page.text
    assert f'id="err-{field}"' in html and f'href="#{field}"' in html
    element = re.search(rf'<(?:input|select|div)[^>]* id="{field}"[^>]*>', html)
    assert element is not None and 'aria-invalid="true"' in element.group(0), field
    if typed is not None:
        assert f'value="{typed}"' in element.group(0)
    # the JSON twin still answers the error as JSON
    twin = client.get(path, params=base | params | {"format": "json"})
    if field != "source":
        assert twin.status_code == 422 and twin.json()["field"] == field


def test_the_sweep_page_has_a_button_before_a_scenario_is_chosen(client: Any) -> None:
    """Choosing a scenario sent the form by script alone (the select's onchange): without
    JavaScript the page had no button until one was chosen, so none could be."""
    sid = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT).json()["id"]
    page = client.get("/sweep").text
    assert 'type="submit" id="sweep-choose"' in page
    chosen = client.get("/sweep", params={"source": sid}).text
    assert 'id="sweep-run"' in chosen and 'id="sweep-choose"' not in chosen


def test_the_sweep_forms_default_range_keeps_every_digit(client: Any) -> None:
    """The sweep page's default range (+-50% of the value) was shown with six significant
    digits: a floor of USD 123,456,789/t offered 6.17284e+07 to 1.85185e+08, which the page
    then swept instead of the range it stood for. It shows every digit needed, as the designer
    does."""
    data = copy.deepcopy(EXAMPLE1_DICT)
    data["policy"][0]["price_usd_per_t"] = 123456789
    sid = client.post("/api/scenarios", json=data).json()["id"]
    page = client.get("/sweep", params={"source": sid}).text
    start = re.search(r'name="start"[^>]*value="([^"]*)"', page)
    stop = re.search(r'name="stop"[^>]*value="([^"]*)"', page)
    assert start and stop, page
    assert (float(start[1]), float(stop[1])) == (123456789 / 2, 123456789 * 1.5)


def test_the_navigation_bar_names_the_trade_year_of_the_results_shown(client: Any) -> None:
    """The bar above every page said 'trade year 2024', written into the template, above a
    scenario calibrated on the 2022 flows; a page without results names no year."""
    data = copy.deepcopy(EXAMPLE1_DICT) | {"year": 2022}
    sid = client.post("/api/scenarios", json=data).json()["id"]
    bar = re.compile(r'<div class="right">([^<]*)</div>')
    for path, year in ((f"/scenarios/{sid}", "2022"), ("/scenarios", None), ("/sweep", None)):
        text = bar.findall(client.get(path).text)
        assert len(text) == 1, path
        if year:
            assert text[0].endswith(f"· trade year {year}"), (path, text)
        else:
            assert "trade year" not in text[0], (path, text)
    r = client.post("/designer", data=DESIGNER_FORM | {"action": "run"})
    assert bar.findall(r.text)[0].endswith("· trade year 2024")


def test_several_tags_keep_the_scenarios_tagged_with_all_of_them(client: Any) -> None:
    """``?tag=a&tag=b`` (or ``?tag=a,b``) lists the scenarios carrying both tags, on the API
    and the page (FastAPI kept only the last ``tag``: a scenario tagged ``b`` alone was
    listed); beyond the limits it is a 422 naming ``query.tag``."""
    ids = {}
    for name, tags in [("both", ["li", "draft"]), ("li", ["li"]), ("draft", ["draft"])]:
        r = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT | {"name": name})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
        client.patch(f"/api/scenarios/{ids[name]}", json={"tags": tags})

    def listed(query: str) -> set[str]:
        r = client.get(f"/api/scenarios?{query}")
        assert r.status_code == 200, r.text
        return {e["name"] for e in r.json()}

    assert listed("tag=li") == {"both", "li"}
    assert listed("tag=li&tag=draft") == {"both"}
    assert listed("tag=draft&tag=li") == {"both"}
    assert listed("tag=li,%20Draft") == {"both"}
    assert listed("tag=li&tag=nothing") == set()
    assert listed("tag=") == {"both", "li", "draft"}
    page = client.get("/scenarios?tag=li&tag=draft")
    assert page.status_code == 200
    assert f'data-id="{ids["both"]}"' in page.text and f'data-id="{ids["li"]}"' not in page.text
    assert "1 tagged li and draft" in page.text
    assert {e["name"] for e in client.get("/scenarios?tag=li&tag=draft&format=json").json()} == {
        "both"
    }
    for query in ["tag=" + "x" * 51, "&".join(f"tag=t{i}" for i in range(21))]:
        r = client.get(f"/api/scenarios?{query}")
        assert r.status_code == 422 and r.json()["field"] == "query.tag", r.text
