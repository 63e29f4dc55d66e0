"""The JSON API and the dashboard pages, through FastAPI's TestClient."""

from __future__ import annotations

import asyncio
import copy
import re
import threading
import time
from typing import Any

import pytest
from webutil import DESIGNER_FORM as BASE_FORM
from webutil import EXAMPLE1_DICT, EXAMPLES, without_timing

from critmin.web.services import BusyError, Limits, SimulationRunner


def sc(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE1_DICT)
    data.update(changes)
    return data


# ----------------------------------------------------------------------------- meta and data


def test_health(client: Any) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and 2024 in body["trade_years"]
    assert body["limits"]["max_body_bytes"] == 256 * 1024


def test_data_endpoints(client: Any) -> None:
    products = client.get("/api/products").json()
    assert "lithium_carbonate" in {p["product_id"] for p in products}
    groups = {g["id"]: g for g in client.get("/api/groups").json()}
    assert len(groups["EU27"]["members"]) == 27 and groups["EU27"]["citation"]
    countries = {c["iso3"]: c for c in client.get("/api/countries").json()}
    assert countries["COD"]["name"] and "EU27" in countries["DEU"]["groups"]
    assert "flows" in client.get("/api/sources").json()["tables"]


def test_data_table_with_filters_and_limit(client: Any) -> None:
    r = client.get("/api/data/production", params={"mineral": "lithium", "year": 2024, "limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["returned_rows"] == 3 and body["truncated"] and body["total_rows"] > 3
    assert {row["mineral"] for row in body["rows"]} == {"lithium"}
    r = client.get(
        "/api/data/flows", params={"product": "lithium_carbonate", "exporter": "CHL", "limit": 5}
    )
    assert r.status_code == 200 and {row["exporter"] for row in r.json()["rows"]} == {"CHL"}


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/data/nope", 404, None),
        ("/api/data/production?limit=999999", 422, "query.limit"),
        ("/api/data/production?year=abc", 422, "query.year"),
        ("/api/data/production?mineral=unobtainium", 400, None),
        # a filter the table has no column for, or a stage it does not hold: refused, not
        # silently ignored (every row) or matched to nothing (no row)
        ("/api/data/flows?stage=mine", 400, None),
        ("/api/data/flows?group=NOPE", 400, None),
        ("/api/data/wgi?mineral=lithium", 400, None),
        ("/api/data/production?stage=foo", 400, None),
        ("/api/data/estimate_balance?product=nope", 400, None),
        ("/api/assess?members=USA&minerals=unobtainium", 400, None),
        ("/api/assess?members=XXX", 422, "members"),
        ("/api/assess?watch=CHN", 422, "watch"),
        ("/api/assess?members=USA&watch=USA", 422, "watch"),
        ("/api/assess?members=USA,usa", 422, "members"),
        ("/api/overview?members=USA&watch=CHN,CHN", 422, "watch"),
        ("/api/no/such/endpoint", 404, None),
        ("/api/scenarios/doesnotexist", 404, None),
    ],
)
def test_bad_queries_are_clear_4xx(client: Any, url: str, status: int, field: str | None) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]
    if field is not None:
        assert body["field"] == field


def test_assess_with_zone(client: Any) -> None:
    r = client.get(
        "/api/assess",
        params={
            "members": "USA,CAN,AUS,JPN,KOR,EU27",
            "watch": "CHN",
            "minerals": "lithium",
            "stage": "refine",
        },
    )
    assert r.status_code == 200, r.text
    [rec] = r.json()
    assert rec["mineral"] == "lithium" and rec["stage"] == "refine"
    assert 0 <= rec["zone_supply_share"] <= 1 and rec["watch_supply_share"] > 0.3


def test_a_watch_group_overlapping_the_zone_keeps_its_outside_countries(client: Any) -> None:
    """The rule of ``critmin assess`` and ``simulate``: G7 watched by a zone holding some of
    it is its other countries, with a note (it was refused as a contradiction)."""
    zone = {"members": "USA,CAN,JPN", "watch": "G7"}
    r = client.get("/api/overview", params=zone)
    assert r.status_code == 200, r.text
    assert r.json()["watch"] == ["DEU", "FRA", "GBR", "ITA"]
    assert r.json()["notes"] == [
        "CAN, JPN, USA are zone members and are not counted as watch countries (a watch "
        "group keeps only its countries outside the zone)"
    ]
    assert "CAN, JPN, USA are zone members" in client.get("/overview", params=zone).text
    records = client.get("/api/assess", params=zone | {"minerals": "lithium"})
    assert records.status_code == 200, records.text


# ----------------------------------------------------------------------------- simulate


def test_simulate_equals_library(client: Any, example1_result: dict[str, Any]) -> None:
    r = client.post("/api/simulate", json=EXAMPLE1_DICT)
    assert r.status_code == 200, r.text
    assert without_timing(r.json()) == without_timing(example1_result)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (sc(policy=[{"type": "tariff", "rate": -0.1}]), "policy[0].rate"),
        (sc(policy=[{"type": "subsidy"}]), "policy[0]"),
        (
            sc(policy=[{"type": "price_floor", "price_usd_per_t": 15000, "typo": 1}]),
            "policy[0].typo",
        ),
        (sc(defaults={"sigma": 0.5}), "defaults"),  # the message names sigma
        (sc(zone={"watch": ["CHN"]}), "zone.members"),
        (sc(zone={"members": ["USA", "Atlantis"]}), "zone.members"),
        (sc(product=[{"id": "unobtainium"}]), "product[0].id"),
        (sc(product=[{"id": "w", "flows": "/etc/passwd"}]), "product[0].flows"),
        (
            sc(product=[{"id": "w", "flows": "widget_flows.csv", "baseline_price_usd_per_t": 1}]),
            "product[0].flows",
        ),
        # no file of the server is read over the web: neither flows nor tariffs
        (sc(tariffs={"file": "/etc/passwd"}), "tariffs.file"),
        (sc(tariffs={"file": "no_such_tariffs.csv", "baseline": "curated"}), "tariffs.file"),
        (sc(product=[{"id": f"p{i}"} for i in range(61)]), "product"),
        (sc(year=2019), "year"),
        ([1, 2, 3], "<root>"),
        ({}, "name"),
    ],
)
def test_bad_scenario_is_422_naming_the_field(client: Any, body: Any, field: str) -> None:
    r = client.post("/api/simulate", json=body)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["field"] == field
    assert field in err["error"] or field == "<root>"


def test_tariff_file_is_neither_read_nor_saved(client: Any, tmp_path: Any) -> None:
    """A scenario naming a tariff file on the server is refused before anything reads it:
    the message neither says whether the file exists nor echoes its content."""
    secret = tmp_path / "secret.csv"
    secret.write_text("exporter,importer,hs6,rate\nCHN,USA,283691,SECRET_VALUE_42\n")
    for body in (sc(tariffs={"file": str(secret)}), sc(tariffs={"file": "/nonexistent/x.csv"})):
        for url in ("/api/simulate", "/api/scenarios"):
            r = client.post(url, json=body)
            assert r.status_code == 422, r.text
            assert r.json()["field"] == "tariffs.file"
            assert "SECRET" not in r.text and "does not exist" not in r.text
            assert "secret.csv" not in r.text and "/nonexistent" not in r.text


@pytest.mark.parametrize("raw", [b"{not json", b'{"name": NaN}', b'{"a": 1e999}', b"", b"\xff\xfe"])
def test_unreadable_body_is_400(client: Any, raw: bytes) -> None:
    r = client.post("/api/simulate", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "<body>"


def test_oversized_body_is_413(client: Any) -> None:
    big = sc(description="x" * 300_000)
    r = client.post("/api/simulate", json=big)
    assert r.status_code == 413
    assert "256 KB" in r.json()["error"]

    def chunks() -> Any:  # no Content-Length: the streamed body is counted
        for _ in range(40):
            yield b"x" * 10_000

    r = client.post("/api/simulate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_simulation_timeout_is_503(tmp_path: Any) -> None:
    import tomllib

    from fastapi.testclient import TestClient

    from critmin.web.app import create_app

    # the 30 products of example 4 (about 0.3 s): example 1 alone now solves fast enough to
    # finish before the event loop wakes for the 1 ms limit
    heavy = tomllib.loads((EXAMPLES / "04_full_zone_all_products.toml").read_text())
    app = create_app(tmp_path / "db.sqlite3", Limits(simulate_timeout_s=0.001))
    with TestClient(app) as c:
        r = c.post("/api/simulate", json=heavy)
        assert r.status_code == 503
        assert "longer than" in r.json()["error"] and r.headers["retry-after"]
        time.sleep(1.5)  # let the abandoned run finish before the app closes


def test_runner_refuses_work_beyond_the_queue() -> None:
    runner = SimulationRunner(Limits(max_concurrent_simulations=1, max_queued_simulations=0))

    release = threading.Event()

    async def scenario() -> None:
        first = asyncio.ensure_future(runner.run(release.wait, 30))
        await asyncio.sleep(0)  # let it take the only slot
        with pytest.raises(BusyError):
            await runner.run(time.sleep, 0)
        release.set()
        await first
        await runner.run(time.sleep, 0)  # the slot is free again

    asyncio.run(scenario())
    runner.shutdown()


# ----------------------------------------------------------------------------- saved scenarios


def test_saved_scenario_round_trip(client: Any, example1_result: dict[str, Any]) -> None:
    r = client.post("/api/scenarios", json=EXAMPLE1_DICT)
    assert r.status_code == 201, r.text
    saved = r.json()
    sid = saved["id"]
    assert saved["has_result"] and saved["converged"] and saved["products"] == ["lithium_carbonate"]
    assert sid in {e["id"] for e in client.get("/api/scenarios").json()}
    got = client.get(f"/api/scenarios/{sid}").json()
    assert got["scenario"] == EXAMPLE1_DICT
    result = client.get(f"/api/scenarios/{sid}/result").json()
    assert without_timing(result) == without_timing(example1_result)
    # the page and the downloadable report of the saved scenario
    page = client.get(f"/scenarios/{sid}")
    assert page.status_code == 200 and 'id="chart-lithium_carbonate-sankey"' in page.text
    twin = client.get(f"/scenarios/{sid}", params={"format": "json"}).json()
    assert without_timing(twin["result"]) == without_timing(example1_result)
    report = client.get(f"/scenarios/{sid}/report.html")
    assert report.status_code == 200 and not re.search(r"<script[^>]*\bsrc=", report.text)
    assert client.delete(f"/api/scenarios/{sid}").status_code == 204
    assert client.get(f"/api/scenarios/{sid}").status_code == 404
    assert client.delete(f"/api/scenarios/{sid}").status_code == 404


def test_save_without_running(client: Any) -> None:
    r = client.post("/api/scenarios", params={"run": "false"}, json=EXAMPLE1_DICT)
    assert r.status_code == 201 and not r.json()["has_result"]
    sid = r.json()["id"]
    assert client.get(f"/api/scenarios/{sid}/result").status_code == 404
    bad = client.post(
        "/api/scenarios", params={"run": "false"}, json=sc(product=[{"id": "unobtainium"}])
    )
    assert bad.status_code == 422 and bad.json()["field"] == "product[0].id"


# ----------------------------------------------------------------------------- pages


def test_every_page_has_a_json_twin(client: Any) -> None:
    for url, key in [("/overview", "records"), ("/designer", "products"), ("/sources", "tables")]:
        html = client.get(url)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        data = client.get(url, params={"format": "json"})
        assert data.status_code == 200 and key in data.json()
    assert (
        client.get("/scenarios", params={"format": "json"}).json()
        == client.get("/api/scenarios").json()
    )
    assert (
        client.get("/overview", params={"format": "json"}).json()
        == client.get("/api/overview").json()
    )


def test_overview_map_names_a_real_stage_or_is_refused(client: Any) -> None:
    ok = client.get("/api/overview", params={"map": "lithium:refine"})
    assert ok.status_code == 200 and ok.json()["map"]["selected"] == "lithium:refine"
    for bad in ("foo", "unobtainium:mine", "lithium:foo", ":"):
        for url in ("/api/overview", "/overview"):
            r = client.get(url, params={"map": bad})
            assert r.status_code == 422, (url, bad, r.text[:200])
            assert "no map" in r.text and "mineral:stage" in r.text


def test_pages_use_no_cdn(client: Any) -> None:
    for url in ["/overview", "/designer", "/scenarios", "/sources"]:
        text = client.get(url).text
        assert not re.search(r"<(script|link|img)[^>]*\b(src|href)=[\"']?https?:", text), url
        for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', text):
            assert client.get(src).status_code == 200


def test_overview_shows_concentration(client: Any) -> None:
    r = client.get("/overview", params={"map": "lithium:refine"})
    assert r.status_code == 200
    assert 'id="chart-hhi"' in r.text and 'id="chart-supply-map"' in r.text
    assert 'data-key="gallium:refine"' in r.text


DESIGNER_FORM = BASE_FORM | {  # with the blank fields a browser sends
    "policy-0-rate_pct": "",
    "policy-0-share_pct": "",
    "policy-0-products": "",
    "policy-0-label": "",
    "policy-1-type": "",
}


def test_designer_form_runs_and_saves(client: Any, example1_result: dict[str, Any]) -> None:
    r = client.post("/designer", data=DESIGNER_FORM | {"action": "run"})
    assert r.status_code == 200, r.text[:500]
    value = example1_result["products"]["lithium_carbonate"]["summary"][
        "zone_consumer_price_change_pct"
    ]
    assert f'data-key="zone_consumer_price_change_pct" data-value="{value}"' in r.text
    twin = client.post("/designer?format=json", data=DESIGNER_FORM | {"action": "run"}).json()
    assert without_timing(twin["result"])["products"] == without_timing(example1_result)["products"]
    r = client.post("/designer", data=DESIGNER_FORM | {"action": "save"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/scenarios/")
    sid = r.headers["location"].split("/")[2].split("?")[0]
    saved = client.get(f"/api/scenarios/{sid}").json()["scenario"]
    assert saved["zone"]["members"] == ["EU27", "AUS", "CAN", "JPN", "KOR", "USA"]
    # the designer can reopen it
    page = client.get("/designer", params={"from": sid}).text
    assert 'value="EU27" checked' in page and 'value="15000"' in page


def test_designer_error_names_the_field(client: Any) -> None:
    form = DESIGNER_FORM | {"policy-0-price": "lots", "action": "run"}
    r = client.post("/designer", data=form)
    assert r.status_code == 422
    assert 'data-field="policy[0].price_usd_per_t"' in r.text
    assert 'value="From the form"' in r.text  # the input is kept
    form = DESIGNER_FORM | {
        "policy-0-type": "tariff",
        "policy-0-rate_pct": "-5",
        "policy-0-exporters": "non-members",
        "policy-0-importers": "members",
    }
    r = client.post("/designer", data=form)
    assert r.status_code == 422 and 'data-field="policy[0].rate"' in r.text


def test_openapi_documents_the_scenario_schema(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    assert "Scenario" in spec["components"]["schemas"]
    body = spec["paths"]["/api/simulate"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/Scenario")
    for path in [
        "/api/health",
        "/api/products",
        "/api/groups",
        "/api/countries",
        "/api/assess",
        "/api/data/{table}",
        "/api/scenarios",
        "/api/scenarios/{scenario_id}",
        "/api/scenarios/{scenario_id}/result",
        "/api/overview",
    ]:
        assert path in spec["paths"], path


def test_designer_watches_a_group(client: Any) -> None:
    """Watch countries can be picked by group; members of the zone are left out of it."""
    page = client.get("/designer").text
    assert 'name="watch" value="BRICS11"' in page  # groups in the watch picker
    form = DESIGNER_FORM | {"watch": ["G7"], "action": "run"}
    twin = client.post("/designer?format=json", data=form)
    assert twin.status_code == 200, twin.text[:500]
    result = twin.json()["result"]
    assert result["watch"] == ["GBR"]
    notes = result["products"]["lithium_carbonate"]["notes"]
    assert any("are zone members" in n for n in notes)


def test_uncertainty_of_a_saved_scenario(client: Any) -> None:
    """Monte Carlo draws from the dashboard equal the library's, bit for bit: the JSON API,
    the page's fan charts, and the draws limit (422 naming the field)."""
    from critmin.report.format import clean
    from critmin.uncertainty import fan_data, run_uncertainty

    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    r = client.post(f"/api/scenarios/{sid}/uncertainty", params={"draws": 40, "seed": 3})
    assert r.status_code == 200, r.text
    got = r.json()
    direct = run_uncertainty(EXAMPLE1_DICT, draws=40, seed=3, workers=1)
    want = direct.to_dict()
    assert got["draws"] == 40 and got["seed"] == 3
    assert got["products"] == clean(want["products"])
    assert got["fans"] == clean(fan_data(direct))
    page = client.get(f"/scenarios/{sid}", params={"draws": 40, "seed": 3})
    assert page.status_code == 200
    assert "Uncertainty: 40 Monte Carlo draws (seed 3)" in page.text
    assert 'id="chart-lithium_carbonate-fan_pct"' in page.text
    assert 'id="uncertainty-form"' in client.get(f"/scenarios/{sid}").text
    twin = client.get(f"/scenarios/{sid}", params={"draws": 40, "seed": 3, "format": "json"})
    assert twin.json()["uncertainty"]["fans"] == got["fans"]
    too_many = client.post(f"/api/scenarios/{sid}/uncertainty", params={"draws": 10**6})
    assert too_many.status_code == 422 and too_many.json()["field"] == "query.draws"
    assert "scenario field" not in too_many.json()["error"]
    missing = client.post("/api/scenarios/nope/uncertainty", params={"draws": 5})
    assert missing.status_code == 404


def test_the_uncertainty_page_shows_the_warnings_of_the_draws(client: Any) -> None:
    """Buyers that the disruptions drawn cut off (CYP: its two suppliers, NLD and TUR, each
    banned in half the draws) are a yellow warning above the results, and in the JSON; the
    scenario's own warnings, already shown with its results, are not repeated there (the
    page showed none of the run's warnings)."""
    from html import unescape

    data = EXAMPLE1_DICT | {
        "disruption": [{"exporters": ["NLD", "TUR"], "importers": ["CYP"], "probability": 0.5}],
        "policy": [{"type": "export_ban", "exporters": ["ISL"], "importers": "members"}],
    }
    sid = client.post("/api/scenarios", json=data).json()["id"]
    api = client.post(f"/api/scenarios/{sid}/uncertainty", params={"draws": 20, "seed": 3})
    head = "lithium_carbonate: cut off: disruption[0]: in "
    assert [w for w in api.json()["warnings"] if w.startswith(head)], api.json()["warnings"]
    assert any(w.startswith("lithium_carbonate: no effect:") for w in api.json()["warnings"])
    page = client.get(f"/scenarios/{sid}", params={"draws": 20, "seed": 3}).text
    section = page.split('id="uncertainty-warnings"')[1].split("</section>")[0]
    shown = [unescape(w) for w in re.findall(r'uncertainty-warning">([^<]*)</div>', section)]
    assert len(shown) == 1 and shown[0].startswith(head), shown
    assert 'id="uncertainty-warnings"' not in client.get(f"/scenarios/{sid}").text


def test_uncertainty_that_cannot_help_or_runs_past_its_limit_stops(client: Any) -> None:
    """A scenario that does not solve at its own elasticities gets its answer at once, naming
    the product, instead of every draw being solved and failing (two such requests of 2,000
    draws of 30 products held both workers for many minutes after their 503, and the
    server's memory grew past 20 GB); and draws still running past the request's time limit
    are dropped as their chunk ends, freeing the worker."""
    from critmin.scenario import Scenario
    from critmin.web import services

    stuck = EXAMPLE1_DICT | {
        "defaults": {"sigma": 1.000001, "demand_elasticity": 0, "supply_elasticity": 0},
        "policy": [*EXAMPLE1_DICT["policy"], {"type": "export_ban", "exporters": ["CHN"]}],
    }
    sid = client.post("/api/scenarios?run=false", json=stuck).json()["id"]
    r = client.post(f"/api/scenarios/{sid}/uncertainty", params={"draws": 2000})
    assert 400 <= r.status_code < 500, r.text
    assert "does not solve at its own elasticities for lithium_carbonate" in r.json()["error"]
    scenario = Scenario.from_dict(EXAMPLE1_DICT)
    with pytest.raises(services.Abandoned):
        services.run_uncertainty(scenario, 3 * services.WEB_CHUNK_DRAWS, 0, limit_s=0.0)
    assert services.run_uncertainty(scenario, 4, 0, limit_s=60.0)["draws"] == 4


def test_uncertainty_of_a_licensing_scenario(client: Any) -> None:
    """A scenario with a licence grant-share range: the dashboard's draws equal the library's
    and the summary lists the measure's range and drawn shares."""
    from critmin.report.format import clean
    from critmin.uncertainty import run_uncertainty

    data = {
        "name": "licensing",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "gallium_germanium"}],
        "policy": [
            {
                "type": "export_licensing",
                "exporters": ["CHN"],
                "grant_share": 0.79,
                "grant_share_range": [0.6, 0.95],
            }
        ],
    }
    sid = client.post("/api/scenarios", json=data).json()["id"]
    r = client.post(f"/api/scenarios/{sid}/uncertainty", params={"draws": 12, "seed": 2})
    assert r.status_code == 200, r.text
    got = r.json()["products"]["gallium_germanium"]
    want = run_uncertainty(data, draws=12, seed=2, workers=1).to_dict()["products"]
    assert got == clean(want["gallium_germanium"])
    assert got["licensing"][0]["shares"][0]["low"] == 0.6
    page = client.get(f"/scenarios/{sid}", params={"draws": 12, "seed": 2})
    assert page.status_code == 200
    assert 'id="chart-gallium_germanium-fan_pct"' in page.text
    assert "Licence grant share of policy[0] (export_licensing), drawn (triangular)" in page.text


def test_openapi_documents_every_status(client: Any) -> None:
    """Every operation documents a success and the error statuses it can answer, with the
    error body's schema; operations that read a JSON body document 400, 413 and 415."""
    spec = client.get("/openapi.json").json()
    assert "ApiError" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (method, path)
            assert "422" in codes, (method, path)
            if "requestBody" in op and method == "post":
                assert {"400", "413", "415"} <= codes, (method, path)
            for code in codes - {"200", "201", "204"}:
                schema = op["responses"][code]["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ApiError"), (method, path, code)
    simulate = spec["paths"]["/api/simulate"]["post"]["responses"]
    assert "Retry-After" in simulate["503"]["headers"]
