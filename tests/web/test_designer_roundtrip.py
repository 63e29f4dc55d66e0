"""The designer keeps what a saved scenario holds: every export-control example saved through
the API, opened in the designer (``/designer?from=<id>``) and posted back unchanged, gives the
same scenario (parts the form cannot edit are carried through as hidden JSON and listed as
"kept as saved"); and each new form field (export-quota importers, export licensing with its
grant-share range, leakage, baseline tariffs) posts the scenario of its TOML example."""

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
    for pol in out["policy"]:  # an instrument's products: a set (ticked in the list's order)
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
    assert "[[shock]] (1)" in page and "[uncertainty]" in page
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
        ({"policy-0-grant_pct": "120"}, "policy-0-grant_pct", "between 0 and 1"),
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
