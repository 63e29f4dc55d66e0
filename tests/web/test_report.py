"""``critmin report``: one self-contained HTML file whose numbers are simulate()'s."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from webutil import EXAMPLE1, EXAMPLES, without_timing

from critmin.cli import app
from critmin.figures import chart_id
from critmin.report import render_report, write_report
from critmin.report.format import pct, script_json
from critmin.report.resources import GEOJSON_PATH, plotly_js
from critmin.scenario import load_scenario
from critmin.simulation import simulate


def simulate_report(source: Any, path: Path, **kwargs: Any) -> dict[str, Any]:
    """What ``critmin report`` does: simulate, then render the results (the report runs nothing)."""
    scenario = load_scenario(source)
    data = simulate(scenario).to_dict()
    write_report(scenario, data, path, **kwargs)
    return data


def script_text(html: str, element_id: str) -> str:
    """The text of a data element: JSON as is, or gzip + base64 unpacked."""
    m = re.search(rf'<script type="([^"]+)" id="{element_id}">(.*?)</script>', html, re.S)
    assert m, f"no <script id={element_id}> in the page"
    if m.group(1) == "application/gzip-base64":
        return gzip.decompress(base64.b64decode(m.group(2))).decode("utf-8")
    assert m.group(1) == "application/json"
    return m.group(2)


def script_data(html: str, element_id: str) -> Any:
    return json.loads(script_text(html, element_id))


@pytest.fixture(scope="module")
def report1(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    path = tmp_path_factory.mktemp("report") / "report.html"
    data = simulate_report(EXAMPLE1, path)
    return path.read_text(encoding="utf-8"), data


def test_report_is_self_contained(report1: tuple[str, dict[str, Any]]) -> None:
    html, _ = report1
    # nothing is loaded from elsewhere: no src/href to a URL in script, link, img or CSS
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<(link|img|iframe)[^>]*\b(src|href)=[\"']?https?:", html)
    assert not re.search(r"url\(\s*[\"']?https?:", html)
    assert "@import" not in html
    # the Plotly bundle is inlined whole (packed)
    assert script_text(html, "critmin-plotly") == plotly_js()
    # the country polygons are inlined, keyed by ISO3
    geo = script_data(html, "critmin-geo")
    ids = {f["id"] for f in geo["features"]}
    assert geo["type"] == "FeatureCollection" and len(ids) > 170
    assert {"USA", "CHN", "AUS", "COD", "DEU"} <= ids


def test_every_chart_has_its_div(report1: tuple[str, dict[str, Any]]) -> None:
    html, data = report1
    figures = script_data(html, "critmin-figures")
    expected = {chart_id("zone-shares"), chart_id("price-summary")}
    for pid in data["products"]:
        expected |= {chart_id(pid, k) for k in ("prices", "sankey", "diversion", "map")}
    assert set(figures) == expected
    for key, fig in figures.items():
        assert f'<div class="chart" id="{key}"></div>' in html
        assert fig["data"], f"{key} has no traces"


def headings(html: str) -> list[tuple[int, str]]:
    """(level, text) of the page's h1-h6 in document order."""
    from html.parser import HTMLParser

    found: list[tuple[int, str]] = []

    class Parser(HTMLParser):
        level = 0

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if re.fullmatch(r"h[1-6]", tag):
                self.level = int(tag[1])
                found.append((self.level, ""))

        def handle_endtag(self, tag: str) -> None:
            if re.fullmatch(r"h[1-6]", tag):
                self.level = 0

        def handle_data(self, data: str) -> None:
            if self.level:
                found[-1] = (self.level, found[-1][1] + data)

    Parser().feed(html)
    return [(level, " ".join(text.split())) for level, text in found]


def test_chart_titles_are_headings_in_order(report1: tuple[str, dict[str, Any]]) -> None:
    """A screen reader's list of headings reaches every chart: a product's chart titles are
    h3 under its h2 (they were bold divs, so the list went from the product's name straight to
    its welfare table), and no level is skipped."""
    html, _ = report1
    found = headings(html)
    levels = [level for level, _ in found]
    assert levels[0] == 1 and all(b <= a + 1 for a, b in itertools.pairwise(levels))
    texts = [text for _, text in found]
    start = texts.index("Lithium carbonate")
    assert found[start][0] == 2
    section = found[start + 1 : start + 6]
    assert section[:4] == [
        (3, "Prices by country"),
        (3, "Trade diversion: exporters → zone members"),
        (3, "Who loses and who gains sales to the zone"),
        (3, "World map"),
    ]


def test_report_numbers_equal_simulate(
    report1: tuple[str, dict[str, Any]], example1_result: dict[str, Any]
) -> None:
    html, data = report1
    # the embedded results are the results contract, number for number
    embedded = script_data(html, "critmin-results")
    assert without_timing(embedded) == without_timing(example1_result)
    assert without_timing(data) == without_timing(example1_result)
    p = example1_result["products"]["lithium_carbonate"]
    figures = script_data(html, "critmin-figures")
    shares = figures[chart_id("zone-shares")]["data"]
    assert shares[0]["x"][0] == pytest.approx(100 * p["zone"]["self_sufficiency_baseline"])
    assert shares[1]["x"][0] == pytest.approx(100 * p["zone"]["self_sufficiency"])
    assert shares[3]["x"][0] == pytest.approx(100 * p["zone"]["watch_share"])
    prices = figures[chart_id("price-summary")]["data"]
    assert prices[0]["x"][0] == p["summary"]["zone_consumer_price_change_pct"]
    assert prices[1]["x"][0] == p["summary"]["outside_consumer_price_change_pct"]
    # the map shows each country's consumer price change
    trace = figures[chart_id("lithium_carbonate", "map")]["data"][1]
    for code, z in zip(trace["locations"], trace["z"], strict=True):
        assert z == p["countries"][code]["consumer_price_change_pct"]
    # KPI tiles carry the exact value and show it formatted
    value = p["summary"]["zone_consumer_price_change_pct"]
    section = html[html.index('data-product="lithium_carbonate"') :]
    tile = re.search(
        r'data-key="zone_consumer_price_change_pct" data-value="([^"]+)">'
        r'<div class="label">[^<]*</div><div class="value">([^<]+)</div>',
        section,
    )
    assert tile and float(tile.group(1)) == pytest.approx(value, rel=1e-12)
    assert tile.group(2) == pct(value)
    # solver diagnostics
    assert f'data-value="{p["iterations"]}"' in section


def test_report_welfare_table_totals(
    report1: tuple[str, dict[str, Any]], example1_result: dict[str, Any]
) -> None:
    html, _ = report1
    p = example1_result["products"]["lithium_carbonate"]
    rows = re.findall(
        r'<tr class="total">\s*<th scope="row">([^<]+)<.*?data-value="([^"]*)"', html, re.S
    )
    totals = {label.strip(): float(v) for label, v in rows if v}
    assert totals["Zone members, total"] == pytest.approx(
        p["summary"]["zone_welfare_change_usd"], rel=1e-9, abs=1e-3
    )
    assert totals["World"] == pytest.approx(
        p["summary"]["world_welfare_change_usd"], rel=1e-9, abs=1e-3
    )


def test_report_escapes_untrusted_text(example1_result: dict[str, Any]) -> None:
    evil = "</script><script>alert(1)</script>"
    results = json.loads(json.dumps(example1_result))
    results["scenario"] = evil
    scenario = load_scenario(EXAMPLE1).model_dump(mode="json", exclude_none=True)
    scenario["name"] = evil
    html = render_report(scenario, results)
    assert evil not in html
    assert "\\u003c/script\\u003e" in html  # inside the JSON data
    assert "&lt;/script&gt;" in html  # in the page text
    assert script_json({"a": "<&>"}) == '{"a":"\\u003c\\u0026\\u003e"}'


def test_a_product_tile_shows_a_small_share_change_as_the_answer_does(
    report1: tuple[str, dict[str, Any]],
) -> None:
    # example 1: the watch share moves 3.46% -> 3.50%; the product's tile said "3.5% → 3.5%"
    # under an answer that says it rises
    html, data = report1
    zone = data["products"]["lithium_carbonate"]["zone"]
    assert round(100 * zone["watch_share_baseline"], 1) == round(100 * zone["watch_share"], 1)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "rises from 3.46% to 3.50%" in text
    assert re.search(r"Watch share of zone demand\s+3\.46% → 3\.50%", text)
    assert not re.search(r"Watch share of zone demand\s+3\.5% → 3\.5%", text)


def test_multi_product_report_has_a_section_per_product(tmp_path: Path) -> None:
    path = tmp_path / "r2.html"
    data = simulate_report(EXAMPLES / "02_china_bans_gallium_magnets.toml", path)
    html = path.read_text(encoding="utf-8")
    assert set(data["products"]) == {"gallium_germanium", "permanent_magnets"}
    for pid in data["products"]:
        assert f'id="{chart_id(pid, "sankey")}"' in html
        assert f'<section class="card product" id="{pid}" data-product="{pid}">' in html
    # the summary table ends with the cross-product total, and the answer section states it
    assert '<tr class="total" data-product="all"><th scope="row">All 2 products</th>' in html
    zone = sum(p["summary"]["zone_welfare_change_usd"] for p in data["products"].values())
    tile = re.search(r'data-key="zone_welfare_change_usd" data-value="([^"]+)"', html)
    assert tile and float(tile.group(1)) == pytest.approx(zone)
    # charts sorted by effect: the product with the larger zone price change comes first
    prices = script_data(html, "critmin-figures")[chart_id("price-summary")]["data"][0]
    assert prices["y"][0].replace("<br>", " ") == "Permanent magnets of metal"


def test_geometry_asset_is_small_and_sourced() -> None:
    assert GEOJSON_PATH.stat().st_size < 1_000_000
    readme = (GEOJSON_PATH.parent / "README.md").read_text(encoding="utf-8")
    assert "Natural Earth" in readme and "ISC" in readme and "public domain" in readme


def test_cli_report(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "r.html"
    res = CliRunner().invoke(app, ["report", str(EXAMPLE1), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and "wrote" in res.output
    assert not list(out.parent.glob(".r.html.*"))  # no temp file left behind


def test_cli_report_bad_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\n[zone]\nmembers = ["USA"]\n[[product]]\nid = "lithium_carbonate"\n'
        '[[policy]]\ntype = "tariff"\nrate = -1\n',
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["report", str(bad), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 2
    assert "policy[0].rate" in res.output
    assert not (tmp_path / "r.html").exists()


def test_report_when_the_zone_loses_every_import(tmp_path: Path) -> None:
    scenario = {
        "name": "total ban",
        "zone": {"members": ["MLT"], "watch": ["CHN"]},
        "product": [{"id": "helium"}],
        "policy": [{"type": "export_ban", "exporters": "all", "importers": "members"}],
    }
    path = tmp_path / "ban.html"
    data = simulate_report(scenario, path)
    html = path.read_text(encoding="utf-8")
    assert data["products"]["helium"]["zone"]["self_sufficiency"] is None
    sankey = script_data(html, "critmin-figures")[chart_id("helium", "sankey")]
    assert len(sankey["data"]) == 1  # the baseline panel; the scenario panel says why it is empty
    assert any(a["text"] == "no imports into the zone" for a in sankey["layout"]["annotations"])


def test_report_with_draws_shows_fan_charts(tmp_path: Path) -> None:
    """--draws adds fan charts whose quantiles are those of critmin.uncertainty.fan_data."""
    import json as _json

    from critmin.figures import chart_id, uncertainty_figures
    from critmin.uncertainty import fan_data, run_uncertainty

    scenario = Path(__file__).resolve().parents[2] / "examples" / "01_lithium_floor_levy.toml"
    out_file = tmp_path / "r.html"
    res = CliRunner().invoke(
        app, ["report", str(scenario), "-o", str(out_file), "--draws", "40", "--seed", "5"]
    )
    assert res.exit_code == 0, res.output
    html = out_file.read_text(encoding="utf-8")
    pct_id = chart_id("lithium_carbonate", "fan-pct")
    assert f'id="{pct_id}"' in html and "Uncertainty: 40 Monte Carlo draws" in html
    fans = fan_data(run_uncertainty(scenario, draws=40, seed=5))
    fig = uncertainty_figures(fans)[pct_id]
    expected = fans["lithium_carbonate"]["outputs"]["zone_consumer_price_change_pct"]
    median = next(t for t in fig["data"] if t.get("name") == "median")
    row = median["y"].index(expected["label"])
    assert median["x"][row] == expected["quantiles"][fans["lithium_carbonate"]["levels"].index(0.5)]
    figures = script_data(html, "critmin-figures")
    assert pct_id in figures
    assert figures[pct_id] == _json.loads(_json.dumps(fig))


def test_report_takes_an_uncertainty_result_dict(example1_result: dict[str, Any]) -> None:
    """Fan charts from UncertaintyResult.to_dict() (5-95% band and median): the report needs
    no access to the draws, only the results it is given."""
    from critmin.uncertainty import run_uncertainty

    unc = run_uncertainty(EXAMPLE1, draws=30, seed=2).to_dict()
    html = render_report(load_scenario(EXAMPLE1), example1_result, uncertainty=unc)
    figures = script_data(html, "critmin-figures")
    fan = figures[chart_id("lithium_carbonate", "fan-pct")]
    out = unc["products"]["lithium_carbonate"]["outputs"]["zone_consumer_price_change_pct"]
    median = next(t for t in fan["data"] if t.get("name") == "median")
    assert median["x"][median["y"].index(out["label"])] == out["median"]
    band = next(t for t in fan["data"] if t.get("name") == "5-95%")
    row = band["y"].index(out["label"])
    assert band["base"][row] == out["p05"]
    assert band["base"][row] + band["x"][row] == pytest.approx(out["p95"])


def test_report_lists_the_licence_grant_share_ranges() -> None:
    """An uncertainty result with a licence grant-share range: the report names the range
    under the fan charts (from UncertaintyResult.to_dict(), no draws needed)."""
    from critmin.simulation import simulate
    from critmin.uncertainty import run_uncertainty

    data: dict[str, Any] = {
        "name": "licensing",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "gallium_germanium"}],
        "policy": [
            {
                "type": "export_licensing",
                "label": "MOFCOM",
                "exporters": ["CHN"],
                "grant_share": {"default": 0.8, "USA": 0.3},
                "grant_share_range": {"default": [0.6, 0.95]},
            }
        ],
    }
    unc = run_uncertainty(data, draws=8, seed=1, workers=1).to_dict()
    html = render_report(load_scenario(data), simulate(data).to_dict(), uncertainty=unc)
    assert "Licence grant share of MOFCOM, drawn (triangular): default 0.6 to 0.95" in html


def test_the_report_shows_its_warnings_first_and_as_warnings(
    tmp_path: Path, report1: tuple[str, dict[str, Any]]
) -> None:
    """The offline report listed a result's warnings (an instrument that does nothing, a
    scenario without any) as plain notes at the end of each product section, where the
    dashboard shows them in a box above the detail. The report now has that box, once per
    warning with the products that give it, and styles the section notes that warn."""
    path = tmp_path / "idle.html"
    simulate_report(EXAMPLES / "paths" / "lithium_floor_2026_2035.toml", path)
    html = path.read_text(encoding="utf-8")
    box = html[
        html.index('id="result-warnings"') : html.index(
            "</section>", html.index('id="result-warnings"')
        )
    ]
    assert "<code>lithium_carbonate</code>" in box and "the scenario sets no instrument" in box
    assert box.count("result-warning") == 1 + 1  # the box's id and its one warning
    assert '<div class="notice warn">no effect: the scenario sets no instrument' in html
    assert html.index('id="result-warnings"') < html.index('id="lithium_carbonate"')
    plain = report1[0]  # example 1 warns of nothing
    assert 'id="result-warnings"' not in plain and '<div class="notice warn">no effect' not in plain


def test_a_report_with_draws_shows_the_warnings_of_the_draws(tmp_path: Path) -> None:
    """``critmin report --draws`` built its fan charts without the run's warnings: buyers the
    disruptions drawn cut off (CYP loses NLD and TUR, each banned in half the draws) were said
    on the terminal of ``critmin uncertainty`` and on the dashboard, not in the report. The
    report now has them in a box of their own above the detail."""
    from html import unescape

    text = EXAMPLE1.read_text(encoding="utf-8") + (
        '\n[[disruption]]\nexporters = ["NLD", "TUR"]\nimporters = ["CYP"]\nprobability = 0.5\n'
    )
    source = tmp_path / "s.toml"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "r.html"
    res = CliRunner().invoke(app, ["report", str(source), "-o", str(out), "--draws", "20"])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    section = html.split('id="uncertainty-warnings"')[1].split("</section>")[0]
    shown = [unescape(w) for w in re.findall(r'uncertainty-warning">([^<]*)</div>', section)]
    assert len(shown) == 1, shown
    assert shown[0].startswith("lithium_carbonate: cut off: disruption[0]: in "), shown
    # and on the terminal, as critmin uncertainty prints it
    flat = " ".join(res.output.split())
    assert "warning: lithium_carbonate: cut off: disruption[0]: in " in flat, flat
