"""The designer keeps what a saved scenario holds: every export-control example saved through
the API, opened in the designer (``/designer?from=<id>``) and posted back unchanged, gives the
same scenario (parts the form cannot edit are carried through as hidden JSON and listed as
"kept as saved"); and each new form field (export-quota importers, export licensing with its
grant-share range, leakage, baseline tariffs, market shocks) posts the scenario of its TOML
example or the tables it stands for."""

from __future__ import annotations

import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTROLS = sorted((REPO / "examples" / "controls").glob("*.toml"))


class _FormFields(HTMLParser):
    """The fields a browser submits from ``#designer-form`` (text and hidden inputs, ticked
    boxes, each select's chosen option), as ``[(name, value)]``."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_form = a.get("id") == "designer-form"
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields.append((self._textarea or "", ""))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:  # a browser drops one newline right after <textarea>
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text.removeprefix("\n"))
            self._textarea = None
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, sel in self._options if sel] or [v for v, _ in self._options[:1]]
            self.fields += [(self._select, v) for v in chosen[:1]]
            self._select = None


def form_fields(html: str) -> list[tuple[str, str]]:
    parser = _FormFields()
    parser.feed(html)
    return parser.fields


def canonical(data: dict[str, Any]) -> dict[str, Any]:
    """The validated scenario (defaults filled in), members and watch as sets."""
    from critmin.scenario.spec import Scenario

    out: dict[str, Any] = Scenario.from_dict(data).model_dump()
    out["zone"]["members"] = sorted(out["zone"]["members"])
    out["zone"]["watch"] = sorted(out["zone"]["watch"])
    for pol in out["policy"] + out["shock"]:  # products: a set (ticked in the list's order)
        pol["products"] = sorted(pol["products"]) if pol["products"] else pol["products"]
    return out


def posted(client: Any, fields: list[tuple[str, str]]) -> dict[str, Any]:
    """The scenario the designer builds from ``fields`` (run, JSON answer)."""
    body = [(k, v) for k, v in fields if k != "action"] + [("action", "run")]
    r = client.post(
        "/designer?format=json",
        content=__import__("urllib.parse").parse.urlencode(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text[:800]
    scenario: dict[str, Any] = r.json()["scenario"]
    return scenario


@pytest.mark.parametrize("path", CONTROLS, ids=[p.stem for p in CONTROLS])
def test_saved_control_scenario_survives_the_designer(client: Any, path: Path) -> None:
    original = tomllib.loads(path.read_text())
    r = client.post("/api/scenarios?run=false", json=original)
    assert r.status_code == 201, r.text[:500]
    sid = r.json()["id"]
    page = client.get("/designer", params={"from": sid})
    assert page.status_code == 200
    again = posted(client, form_fields(page.text))
    assert canonical(again) == canonical(original)
    if "uncertainty" in original or "tariffs" in original:  # parts shown as kept or edited
        assert again.get("uncertainty") == original.get("uncertainty")
        assert again.get("tariffs") == original.get("tariffs")


def test_parts_the_form_cannot_edit_are_listed_and_kept(client: Any) -> None:
    original = tomllib.loads((REPO / "examples/controls/ga_ge_licensing_2023.toml").read_text())
    original["shock"] = [{"type": "demand", "countries": "members", "change": 0.1}]
    original["policy"][0]["grant_share"] = {"default": 0.79, "USA": 0.0}
    original["policy"][0]["grant_share_range"] = {"default": [0.6, 0.95]}
    sid = client.post("/api/scenarios?run=false", json=original).json()["id"]
    page = client.get("/designer", params={"from": sid}).text
    assert 'id="kept-notice"' in page
    assert "[uncertainty]" in page and "[[shock]]" not in page  # shocks: edited in the form
    fields_shown = dict(form_fields(page))
    assert fields_shown["shock-0-type"] == "demand"
    assert fields_shown["shock-0-countries"] == "members"
    assert fields_shown["shock-0-change_pct"] == "10"
    assert "instrument 1: grant_share, grant_share_range" in page
    fields = form_fields(page)
    assert canonical(posted(client, fields)) == canonical(original)
    # changed into a quota, the licence's kept grant-share table is not carried into it
    quota = [(k, "export_quota" if k == "policy-0-type" else v) for k, v in fields]
    quota.append(("policy-0-share_pct", "50"))
    changed = posted(client, [(k, v) for k, v in quota if k != "policy-0-share_pct" or v])
    assert changed["policy"][0]["share_of_baseline"] == 0.5
    assert "grant_share" not in changed["policy"][0]


BASE = {
    "name": "From the form",
    "year": "2022",
    "member_groups": "EU27",
    "member_countries": ["USA", "CAN", "AUS", "JPN", "KOR"],
    "watch": "CHN",
}


def _post_dict(client: Any, form: dict[str, Any]) -> Any:
    return client.post("/designer?format=json", data=form | {"action": "run"})


def test_licensing_with_leakage_posts_the_toml_example(client: Any) -> None:
    path = REPO / "examples/controls/antimony_licensing_leakage_2025.toml"
    original = tomllib.loads(path.read_text())
    common = {"type": "export_licensing", "exporters": "CHN", "grant_pct": "30"}
    common |= {"grant_low_pct": "20", "grant_high_pct": "50"}
    rows = [
        common
        | {"label": "MOFCOM 2024 No. 33, zone", "importers": "members", "leak_via": "THA, MEX"}
        | {"leak_cost_pct": "20", "leak_share_pct": "30"},
        common | {"label": "MOFCOM 2024 No. 33, others", "importers": "non-members"},
    ]
    form: dict[str, Any] = BASE | {"products": "antimony_unwrought"}
    form |= {"name": original["name"], "description": original["description"]}
    for i, row in enumerate(rows):
        form |= {f"policy-{i}-{k}": v for k, v in row.items()}
    r = _post_dict(client, form)
    assert r.status_code == 200, r.text[:800]
    assert canonical(r.json()["scenario"]) == canonical(original)


def test_ban_with_leakage_and_curated_tariffs_posts_the_toml_example(client: Any) -> None:
    path = REPO / "examples/controls/ga_ge_sb_ban_us_2024.toml"
    original = tomllib.loads(path.read_text())
    form: dict[str, Any] = BASE | {"year": "2024", "tariffs_baseline": "curated"}
    form |= {"name": original["name"], "description": original["description"]}
    form |= {"products": ["gallium_germanium", "antimony_unwrought"]}
    form |= {
        "policy-0-type": "export_ban",
        "policy-0-label": "MOFCOM 2024 No. 46",
        "policy-0-exporters": "CHN",
        "policy-0-importers": "USA",
        "policy-0-leak_via": "THA, MEX, BEL, DEU",
        "policy-0-leak_cost_pct": "20",
        "policy-0-leak_share_pct": "30",
        "policy-1-type": "export_licensing",
        "policy-1-exporters": "CHN",
        "policy-1-importers": "non-members, CAN, AUS, JPN, KOR, EU27",
        "policy-1-grant_pct": "80",
        "policy-1-grant_low_pct": "60",
        "policy-1-grant_high_pct": "95",
    }
    r = _post_dict(client, form)
    assert r.status_code == 200, r.text[:800]
    got = canonical(r.json()["scenario"])
    want = canonical(original)
    want["product"] = sorted(want["product"], key=lambda p: p["id"])  # the form sorts new ids
    assert got == want


def test_export_quota_importers(client: Any) -> None:
    form: dict[str, Any] = BASE | {"products": "cobalt_oxides"}
    form |= {"policy-0-type": "export_quota", "policy-0-exporters": "COD"}
    form |= {"policy-0-importers": "members", "policy-0-share_pct": "60"}
    pol = _post_dict(client, form).json()["scenario"]["policy"][0]
    assert pol["importers"] == "members" and pol["share_of_baseline"] == 0.6


@pytest.mark.parametrize(
    ("fields", "anchor", "words"),
    [
        ({"policy-0-grant_pct": "120"}, "policy-0-grant_pct", "between 0% and 100%, got 120%"),
        ({"policy-0-grant_pct": "lots"}, "policy-0-grant_pct", "number"),
        (
            {"policy-0-grant_pct": "50", "policy-0-grant_low_pct": "60"},
            "policy-0-grant_low_pct",
            "both ends",
        ),
        ({"policy-0-leak_cost_pct": "20"}, "policy-0-leak_cost_pct", "leak_via"),
        (
            {"policy-0-leak_via": "THA", "policy-0-leak_share_pct": "-5"},
            "policy-0-leak_share_pct",
            "at least 0%",
        ),
        ({"tariffs_baseline": "some"}, "tariffs_baseline", "none or curated"),
    ],
)
def test_new_fields_say_what_is_wrong_next_to_the_field(
    client: Any, fields: dict[str, str], anchor: str, words: str
) -> None:
    form: dict[str, Any] = BASE | {"products": "antimony_unwrought"}
    form |= {"policy-0-type": "export_licensing", "policy-0-exporters": "CHN"}
    form |= {"policy-0-importers": "all", "policy-0-grant_pct": "80"} | fields
    r = client.post("/designer", data=form | {"action": "run"})
    assert r.status_code == 422, r.text[:300]
    assert f'id="err-{anchor}"' in r.text, r.text[r.text.find("designer-error") :][:600]
    error = r.text[r.text.find(f'id="err-{anchor}"') :][:300]
    assert words in error


ALL_EXAMPLES = sorted(set((REPO / "examples").rglob("*.toml")) - set(CONTROLS))


@pytest.mark.parametrize(
    "path", ALL_EXAMPLES, ids=[str(p.relative_to(REPO / "examples")) for p in ALL_EXAMPLES]
)
def test_every_other_example_survives_the_form(client: Any, path: Path) -> None:
    """The same round trip for the other examples (paths, coalitions, chains ...), up to the
    scenario the form builds (not run: the controls above are)."""
    from critmin.web import forms

    original = tomllib.loads(path.read_text())
    sid = client.post("/api/scenarios?run=false", json=original).json()["id"]
    page = client.get("/designer", params={"from": sid}).text
    form: dict[str, list[str]] = {}
    for k, v in form_fields(page):
        form.setdefault(k, []).append(v)
    again = forms.scenario_from_state(forms.state_from_form(form))
    assert canonical(again) == canonical(original)


def test_market_shocks_are_edited_in_the_form(client: Any) -> None:
    """Shock rows post ``[[shock]]`` tables: change typed in percent, countries as a selector,
    products by name or id (none: every product), a row without a type skipped; the shock
    moves the results (an output cut in China raises prices everywhere), and the page of
    the run shows the rows again as typed."""
    form: dict[str, Any] = BASE | {"products": ["lithium_carbonate", "cobalt_oxides"]}
    form |= {"policy-0-type": "price_floor", "policy-0-price": "15000"}
    plain = _post_dict(client, form).json()
    form |= {
        "shock-0-type": "supply",
        "shock-0-countries": "CHN",
        "shock-0-change_pct": "-20",
        "shock-0-products": "Lithium carbonate",
        "shock-0-label": "outage",
        "shock-1-type": "",  # an empty row: skipped
        "shock-1-countries": "all",
        "shock-2-type": "demand",
        "shock-2-countries": "members, IND",
        "shock-2-change_pct": "12.5",
    }
    r = _post_dict(client, form)
    assert r.status_code == 200, r.text[:800]
    shocked = r.json()
    assert shocked["scenario"]["shock"] == [
        {
            "type": "supply",
            "countries": ["CHN"],
            "change": -0.2,
            "products": ["lithium_carbonate"],
            "label": "outage",
        },
        {"type": "demand", "countries": ["members", "IND"], "change": 0.125},
    ]
    assert "shock" not in plain["scenario"]

    def outside_price(result: dict[str, Any], pid: str) -> float:
        return float(result["products"][pid]["summary"]["outside_consumer_price_change_pct"])

    for pid in ("lithium_carbonate", "cobalt_oxides"):  # both shocks raise outside prices
        assert outside_price(shocked["result"], pid) > outside_price(plain["result"], pid) + 0.1
    page = client.get("/designer", params={"run": shocked["id"]}).text
    shown = dict(form_fields(page))
    assert shown["shock-0-change_pct"] == "-20" and shown["shock-1-change_pct"] == "12.5"
    assert shown["shock-1-countries"] == "members, IND" and "shock-2-type" not in shown


@pytest.mark.parametrize(
    ("fields", "anchor", "words"),
    [
        ({"shock-0-change_pct": "-150"}, "shock-0-change_pct", "more than -100%, got -150%"),
        ({"shock-0-change_pct": "2000"}, "shock-0-change_pct", "at most 1000%"),
        ({"shock-0-change_pct": "much"}, "shock-0-change_pct", "number"),
        ({"shock-0-change_pct": ""}, "shock-0-change_pct", "number"),
        ({"shock-0-countries": "XXX"}, "shock-0-countries", "unknown country"),
        ({"shock-0-countries": " "}, "shock-0-countries", "choose all"),
        ({"shock-0-type": "weather"}, "shock-0-type", "demand or supply"),
        ({"shock-0-products": "unobtainium"}, "shock-0-products", "no product called"),
    ],
)
def test_a_wrong_shock_says_what_is_wrong_next_to_its_field(
    client: Any, fields: dict[str, str], anchor: str, words: str
) -> None:
    form: dict[str, Any] = BASE | {"products": "lithium_carbonate"}
    form |= {"shock-0-type": "demand", "shock-0-countries": "all", "shock-0-change_pct": "10"}
    r = client.post("/designer", data=form | fields | {"action": "run"})
    assert r.status_code == 422, r.text[:300]
    assert f'id="err-{anchor}"' in r.text, r.text[r.text.find("designer-error") :][:600]
    error = r.text[r.text.find(f'id="err-{anchor}"') :][:300]
    assert words in error
    assert "Market shock 1" in r.text[r.text.find("designer-error") :][:600]


def test_shocks_are_added_and_removed_without_javascript(client: Any) -> None:
    form: dict[str, Any] = BASE | {"products": "lithium_carbonate"}
    page = client.post("/designer", data=form | {"action": "add-shock"}).text
    assert 'id="shock-0-type"' in page and 'id="shock-1-type"' not in page
    form |= {"shock-0-type": "demand", "shock-0-countries": "all", "shock-0-change_pct": "5"}
    page = client.post("/designer", data=form | {"action": "add-shock"}).text
    shown = dict(form_fields(page))
    assert shown["shock-0-change_pct"] == "5" and 'id="shock-1-type"' in page
    page = client.post("/designer", data=form | {"action": "remove-shock:0"}).text
    assert 'id="shock-0-type"' not in page and 'id="add-shock"' in page
    assert 'id="designer-notice"' not in page
    # at the limit the button adds nothing and the page says so
    from critmin.web import forms

    full = form | {f"shock-{i}-type": "demand" for i in range(forms.MAX_SHOCKS)}
    full |= {f"shock-{i}-change_pct": "1" for i in range(forms.MAX_SHOCKS)}
    page = client.post("/designer", data=full | {"action": "add-shock"}).text
    assert f'id="shock-{forms.MAX_SHOCKS - 1}-type"' in page
    assert f'id="shock-{forms.MAX_SHOCKS}-type"' not in page
    assert "At most 8 market shocks can be added here." in page
    pols = form | {f"policy-{i}-type": "tariff" for i in range(forms.MAX_POLICIES)}
    page = client.post("/designer", data=pols | {"action": "add"}).text
    assert f'id="policy-{forms.MAX_POLICIES}-type"' not in page
    assert "At most 12 instruments can be added here." in page


def test_a_shock_on_a_chain_is_refused_next_to_the_shocks(client: Any) -> None:
    """The linked-chain model takes no ``[[shock]]`` tables (a chain's own are
    ``[[chain.shock]]``): the message says so next to the market shocks, the form as typed."""
    form: dict[str, Any] = BASE | {"year": "2024", "chains": "lithium"}
    form |= {"policy-0-type": "price_floor", "policy-0-price": "15000"}
    form |= {"shock-0-type": "supply", "shock-0-countries": "CHN", "shock-0-change_pct": "-20"}
    r = client.post("/designer", data=form | {"action": "run"})
    assert r.status_code == 422, r.text[:300]
    error = r.text[r.text.find('id="err-shocks"') :][:400]
    assert "[[chain.shock]]" in error
    assert "Market shocks:" in r.text[r.text.find("designer-error") :][:800]
    assert dict(form_fields(r.text))["shock-0-change_pct"] == "-20"


def test_every_row_of_a_long_scenario_survives_the_form(client: Any) -> None:
    """More instruments and shocks than the form's buttons add (12 and 8) are all shown and
    all posted back (nothing a user saved is lost), and a box numbered past them, as the
    browser numbers one added after removals, is read."""
    from critmin.web import forms

    original = tomllib.loads((REPO / "examples/01_lithium_floor_levy.toml").read_text())
    original["policy"] += [
        {"type": "tariff", "exporters": ["CHN"], "importers": "members", "rate": k / 100}
        for k in range(1, forms.MAX_POLICIES + 2)
    ]
    original["shock"] = [
        {"type": "demand", "countries": "members", "change": k / 100}
        for k in range(1, forms.MAX_SHOCKS + 3)
    ]
    sid = client.post("/api/scenarios?run=false", json=original).json()["id"]
    page = client.get("/designer", params={"from": sid}).text
    fields = form_fields(page)
    again = forms.scenario_from_state(forms.state_from_form(_as_form(fields)))
    assert canonical(again) == canonical(original)
    assert len(again["policy"]) == forms.MAX_POLICIES + 2 and len(again["shock"]) == 10
    # a box with a gap before it and an index past the buttons' maximum
    extra = [("shock-40-type", "supply"), ("shock-40-countries", "CHN")]
    extra.append(("shock-40-change_pct", "-5"))
    state = forms.state_from_form(_as_form(fields + extra))
    assert forms.scenario_from_state(state)["shock"][-1]["change"] == -0.05


def _as_form(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for k, v in fields:
        form.setdefault(k, []).append(v)
    return form


def test_a_shock_filled_in_without_a_type_is_refused_not_dropped(client: Any) -> None:
    form = BASE | {
        "products": "lithium_carbonate",
        "policy-0-type": "price_floor",
        "policy-0-price": "15000",
        "shock-0-type": "",
        "shock-0-countries": "CHN",
        "shock-0-change_pct": "-30",
    }
    r = client.post("/designer?format=json", data=form | {"action": "run"})
    assert r.status_code == 422 and r.json()["field"] == "shock[0].type"
    assert "choose demand or supply" in r.json()["error"]
    r = client.post("/designer", data=form | {"action": "run"})
    assert r.status_code == 422 and 'id="err-shock-0-type"' in r.text
    assert 'value="-30"' in r.text  # the box is kept as typed
    blank = form | {"shock-0-countries": "all", "shock-0-change_pct": ""}
    assert client.post("/designer?format=json", data=blank | {"action": "run"}).status_code in (
        200,
        303,
    )


def test_numbers_and_products_by_hs6_survive_saving_twice(client: Any) -> None:
    """Opening a saved scenario in the designer and saving it again keeps every number
    exactly (the form once showed six significant digits: USD 123,456,789 came back as
    123,457,000) and keeps a product saved by its HS6 code (once left unticked and dropped)."""
    original = {
        "name": "Precise numbers",
        "zone": {"members": ["USA", "CAN"], "watch": ["CHN"]},
        "product": [{"id": "283691"}, {"id": "cobalt_oxides"}],
        "policy": [
            {"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 1234567},
            {"type": "tariff", "rate": 0.07, "exporters": "non-members", "importers": "members"},
            {"type": "export_quota", "exporters": ["CHN"], "share_of_baseline": 0.123456789},
        ],
        "disruption": [{"exporters": ["CHN"], "importers": "members", "probability": 0.33333333}],
        "paths": {"floor_usd_per_t": 123456789, "years": "2025-2035", "product": "283691"},
        "coalition": {"candidates": ["CHL"], "scope": {"CHL": {"products": ["283691"]}}},
    }
    r = client.post("/api/scenarios?run=false", json=original)
    assert r.status_code == 201, r.text[:500]
    page = client.get("/designer", params={"from": r.json()["id"]}).text
    shown = dict(form_fields(page))
    assert shown["policy-0-price"] == "1234567"
    assert shown["policy-1-rate_pct"] == "7"  # the shortest text that reads back exactly
    assert shown["disruption-0-probability_pct"] == "33.333333"
    again = posted(client, form_fields(page))
    assert [p["id"] for p in again["product"]] == ["lithium_carbonate", "cobalt_oxides"]
    assert again["policy"][0]["price_usd_per_t"] == 1234567
    assert again["policy"][1]["rate"] == 0.07
    assert again["policy"][2]["share_of_baseline"] == 0.123456789
    assert again["disruption"][0]["probability"] == 0.33333333
    assert again["paths"]["floor_usd_per_t"] == 123456789
    assert again["coalition"]["scope"]["CHL"]["products"] == ["lithium_carbonate"]
