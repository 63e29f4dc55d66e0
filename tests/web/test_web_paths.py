"""Yearly paths in the dashboard and the JSON API, through FastAPI's TestClient: the answer
equals :func:`critmin.paths.run_paths` for the same inputs, bounds name their field, the page
shows the NPV table and the figure containers."""

from __future__ import annotations

import math
import re
import tomllib
from typing import Any

import pytest
from webutil import EXAMPLE1_DICT, EXAMPLES

YEARS = "2026-2028"
DRAWS = 3
SEED = 7


def paths_scenario() -> dict[str, Any]:
    """examples/paths/lithium_floor_2026_2035.toml (its [paths] table says 2025-2035)."""
    return tomllib.loads((EXAMPLES / "paths" / "lithium_floor_2026_2035.toml").read_text())


def assert_close(a: Any, b: Any, where: str = "") -> None:
    """Equal structure, numbers equal to 1e-9 (relative)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for k in a:
            assert_close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool) and isinstance(b, int | float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), where
    else:
        assert a == b, where


def without_timing(result: dict[str, Any]) -> dict[str, Any]:
    """The result without its wall-clock ``timing``."""
    return {k: v for k, v in result.items() if k != "timing"}


@pytest.fixture()
def saved(client: Any) -> str:
    r = client.post("/api/scenarios?run=false", json=paths_scenario())
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def test_paths_api_and_twin_equal_the_library(client: Any, saved: str) -> None:
    from critmin.numbers import clean
    from critmin.paths import run_paths

    mechs = ["variable_levy", "offtake"]
    params = {"source": saved, "years": YEARS, "draws": DRAWS, "seed": SEED}
    r = client.get("/api/paths", params=params | {"mechanisms": ",".join(mechs)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.pop("source") == saved
    data = paths_scenario()
    data["paths"]["mechanisms"] = mechs
    expected = clean(run_paths(data, years=YEARS, draws=DRAWS, seed=SEED, workers=1).to_dict())
    assert list(body["mechanisms"]) == mechs and body["draws"] == DRAWS
    assert_close(without_timing(body), without_timing(expected))
    # the page's twin (mechanisms repeated, as checkboxes send them) answers the same numbers
    twin = client.get(
        "/paths",
        params=[(k, str(v)) for k, v in params.items()]
        + [("mechanisms", m) for m in mechs]
        + [("format", "json")],
    ).json()
    assert_close(without_timing(twin), without_timing(body | {"source": saved}))


def test_paths_page_shows_the_npv_table_and_the_figures(client: Any, saved: str) -> None:
    page = client.get(
        "/paths",
        params={"source": saved, "years": YEARS, "draws": DRAWS, "seed": SEED, "run": "true"},
    )
    assert page.status_code == 200, page.text
    text = page.text
    for chart in ("chart-who-pays", "chart-price-fan", "chart-fiscal-fan"):
        assert f'id="{chart}"' in text
        assert f'"{chart}"' in text.split('id="critmin-figures"')[1]  # its figure is sent
    rows = re.findall(r'<tr data-mechanism="(\w+)"', text)
    assert rows == ["variable_levy", "producer_subsidy", "price_gap", "offtake"]
    body = client.get(
        "/api/paths", params={"source": saved, "years": YEARS, "draws": DRAWS, "seed": SEED}
    ).json()
    fiscal = body["mechanisms"]["producer_subsidy"]["npv"]["fiscal_cost_usd"]["expected"]
    cell = re.search(
        r'data-mechanism="producer_subsidy">.*?data-key="fiscal_cost_usd" data-value="([^"]*)"',
        text,
        re.S,
    )
    assert cell is not None and float(cell.group(1)) == pytest.approx(fiscal, rel=1e-12)
    # the form alone (years prefilled from the scenario's [paths] table) runs nothing
    form = client.get("/paths", params={"source": saved}).text
    assert 'id="npv-table"' not in form and 'value="2025-2035"' in form
    # the saved scenario's page links here
    assert f'href="/paths?source={saved}"' in client.get(f"/scenarios/{saved}").text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"draws": "201"}, "draws"),
        ({"draws": "-1"}, "draws"),
        ({"years": "2026-2075"}, "years"),
        ({"years": "soon"}, "years"),
        ({"years": "2026-2100"}, "years"),  # past parse_years' own 60: the server's 30 named
        ({"mechanisms": "variable_levy,tariff"}, "mechanisms"),
    ],
)
def test_paths_bounds_are_422_naming_the_field(
    client: Any, saved: str, params: dict[str, str], field: str
) -> None:
    r = client.get("/api/paths", params={"source": saved} | params)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    message = r.json()["error"]
    assert not message.startswith(f"{field}: {field}:"), message  # the field named once
    if field == "years":
        assert "at most 30 years on the server" in message and "60" not in message
    page = client.get("/paths", params={"source": saved, "run": "true"} | params)
    assert page.status_code == 422


def test_paths_of_a_run(client: Any) -> None:
    """A kept run with a [paths] table links here; ``source=run:<id>`` runs its scenario."""
    from critmin.numbers import clean
    from critmin.paths import run_paths
    from critmin.simulation import simulate

    data = paths_scenario()
    result = clean(simulate(paths_scenario()).to_dict())
    rid = client.app.state.web.store.put_run(data, result)
    assert f'href="/paths?source=run:{rid}"' in client.get(f"/runs/{rid}").text
    params = {"source": f"run:{rid}", "years": YEARS, "draws": 0, "mechanisms": "price_gap"}
    r = client.get("/api/paths", params=params)
    assert r.status_code == 200, r.text
    data["paths"]["mechanisms"] = ["price_gap"]
    expected = clean(run_paths(data, years=YEARS, draws=0, workers=1).to_dict())
    assert_close(without_timing(r.json()), without_timing(expected) | {"source": f"run:{rid}"})


def test_a_scenario_without_paths_is_refused_clearly(client: Any) -> None:
    sid = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT).json()["id"]
    r = client.get("/api/paths", params={"source": sid})
    assert r.status_code == 422 and r.json()["field"] == "source", r.text
    assert "[paths]" in r.json()["error"]
    assert 'id="paths-link"' not in client.get(f"/scenarios/{sid}").text
    assert client.get("/api/paths", params={"source": "nosuchid"}).status_code == 404


def test_the_menu_offers_only_scenarios_with_a_paths_table(client: Any, saved: str) -> None:
    """A saved scenario without ``[paths]`` is listed, named as such and disabled (choosing it
    could only give the 422 above), unless it is the one asked for."""
    plain = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT).json()["id"]
    page = client.get("/paths").text
    with_paths = re.search(rf'<option value="{saved}"[^>]*>[^<]*</option>', page)
    without = re.search(rf'<option value="{plain}"[^>]*>[^<]*</option>', page)
    assert with_paths and without, page
    assert "disabled" not in with_paths.group(0) and "no [paths] table" not in with_paths.group(0)
    assert "disabled" in without.group(0) and "no [paths] table" in without.group(0)
    asked = client.get("/paths", params={"source": plain}).text
    option = re.search(rf'<option value="{plain}"[^>]*>', asked)
    assert option and "selected" in option.group(0) and "disabled" not in option.group(0)


def test_the_menu_says_when_no_saved_scenario_has_a_paths_table(client: Any) -> None:
    client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT)
    assert (
        "None of the saved scenarios has a <code>[paths]</code> table" in client.get("/paths").text
    )


def test_a_paths_table_without_years_runs_the_years_of_critmin_paths(client: Any) -> None:
    """A ``[paths]`` table that gives no ``years`` runs the schema's default on the web, as
    ``critmin paths`` does (the web once used 2026-2035, and refused a start year of 2025
    that the command line runs)."""
    from critmin.scenario.paths_settings import PathsSettings

    scenario = paths_scenario()
    scenario["paths"] = {
        k: v for k, v in scenario["paths"].items() if k not in ("years", "start_year")
    }
    scenario["paths"]["start_year"] = 2025
    sid = client.post("/api/scenarios?run=false", json=scenario).json()["id"]
    r = client.get("/api/paths", params={"source": sid, "draws": 0})
    assert r.status_code == 200, r.text[:500]
    first, last = map(int, str(PathsSettings.model_fields["years"].default).split("-"))
    years = [row["year"] for row in r.json()["years"]]
    assert years[0] == first == 2025 and years[-1] == last


def test_the_scenarios_own_extreme_results_are_yellow_warnings(client: Any) -> None:
    """A producer subsidy of the scenario's own at USD 1e8/t: the page shows simulate's
    ``extreme:`` warnings among the paths' warnings (it showed none)."""
    from html import unescape

    scenario = paths_scenario()
    scenario["policy"] = [
        {"type": "price_floor", "mechanism": "producer_subsidy", "price_usd_per_t": 1e8}
    ]
    sid = client.post("/api/scenarios?run=false", json=scenario).json()["id"]
    params = {"source": sid, "years": YEARS, "draws": 0, "run": "true"}
    page = client.get("/paths", params=params)
    assert page.status_code == 200, page.text[:500]
    warns = re.findall(r'<div class="notice warn">([^<]*)</div>', page.text)
    extreme = [unescape(w) for w in warns if w.startswith("extreme: lithium_carbonate under")]
    assert len(extreme) == 2 and "the output of CZE grows 987-fold" in extreme[1], warns
