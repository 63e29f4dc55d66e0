"""The written answer (critmin.narrative) states the numbers of the results it describes, and
the tidy tables / exports (critmin.frames, critmin.export) hold the same numbers."""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from critmin.errors import CritminError
from critmin.export import table_csv, write_csvs, write_xlsx, xlsx_bytes
from critmin.frames import TABLES, column_header, tables
from critmin.narrative import headline, price_changes, welfare_parts, zone_shares
from critmin.numbers import pct, share, usd
from critmin.simulation import simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def country(member: bool, watch: bool, **values: float) -> dict[str, Any]:
    keys = [
        "consumer_surplus_change_usd",
        "producer_surplus_change_usd",
        "tariff_revenue_change_usd",
        "quota_rent_usd",
        "subsidy_cost_usd",
    ]
    row: dict[str, Any] = {k: values.get(k, 0.0) for k in keys}
    row["welfare_change_usd"] = sum(row[k] for k in keys[:4]) - row["subsidy_cost_usd"]
    row |= {
        "consumer_price_change_pct": values.get("dp", 0.0),
        "producer_price_change_pct": values.get("dp", 0.0),
        "baseline_purchases_usd": values.get("E", 100.0),
        "baseline_sales_usd": 100.0,
        "member": member,
        "watch": watch,
    }
    return row


def flow(exporter: str, importer: str, value: float, q: float | None) -> dict[str, Any]:
    return {
        "exporter": exporter,
        "importer": importer,
        "baseline_value_usd": value,
        "value_usd": None if q is None else value * (1 + q / 100),
        "quantity_change_pct": q,
        "banned": q == -100,
    }


def product(name: str, countries: dict[str, Any], flows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "hs6": "000000",
        "mineral": "x",
        "stage": "refine",
        "converged": True,
        "iterations": 3,
        "max_residual": 1e-12,
        "parameters": {"sigma": 5.0, "demand_elasticity": 0.5, "supply_elasticity_median": 1.0},
        "countries": countries,
        "flows": flows,
        "summary": {},
        "zone": {},
        "warnings": [],
    }


@pytest.fixture
def two_products() -> dict[str, Any]:
    """Two hand-made products: USA and CAN are members, CHN the watch country."""
    a = product(
        "Widget A",
        {
            "USA": country(
                True,
                False,
                dp=10.0,
                E=300.0,
                consumer_surplus_change_usd=-50e6,
                producer_surplus_change_usd=20e6,
                tariff_revenue_change_usd=10e6,
            ),
            "CAN": country(True, False, dp=4.0, E=100.0, producer_surplus_change_usd=5e6),
            "CHN": country(False, True, dp=-2.0, E=200.0, producer_surplus_change_usd=-30e6),
        },
        [
            flow("CHN", "USA", 200.0, -50.0),
            flow("CAN", "USA", 100.0, 20.0),
            flow("USA", "USA", 100.0, 0.0),
            flow("CHN", "CHN", 200.0, 1.0),
        ],
    )
    b = product(
        "Widget B",
        {
            "USA": country(
                True, False, dp=0.0, E=100.0, subsidy_cost_usd=4e6, producer_surplus_change_usd=6e6
            ),
            "BRA": country(False, False, dp=1.0, E=100.0, consumer_surplus_change_usd=-1e6),
        },
        [flow("BRA", "USA", 100.0, -100.0), flow("USA", "USA", 100.0, 10.0)],
    )
    return {
        "scenario": "two widgets",
        "year": 2024,
        "members": ["CAN", "USA"],
        "watch": ["CHN"],
        "converged": True,
        "products": {"a": a, "b": b},
    }


def test_aggregates_match_a_plain_calculation(two_products: dict[str, Any]) -> None:
    s = zone_shares(two_products)
    # member demand: A 200 + 100 + 100, B 100 + 100 (baseline); scenario: 100 + 120 + 100, 0 + 110
    assert s["self_sufficiency_baseline"] == pytest.approx(300 / 600)
    assert s["self_sufficiency"] == pytest.approx(330 / 430)
    assert s["watch_share_baseline"] == pytest.approx(200 / 600)
    assert s["watch_share"] == pytest.approx(100 / 430)
    p = price_changes(two_products)
    assert p["zone_consumer_price_change_pct"] == pytest.approx((300 * 10 + 100 * 4 + 0) / 500)
    assert p["outside_consumer_price_change_pct"] == pytest.approx((200 * -2 + 100 * 1) / 300)
    w = welfare_parts(two_products)
    assert w["zone"]["consumer_surplus_change_usd"] == pytest.approx(-50e6)
    assert w["zone"]["subsidy_cost_usd"] == pytest.approx(4e6)
    assert w["zone"]["welfare_change_usd"] == pytest.approx(-50e6 + 20e6 + 10e6 + 5e6 + 6e6 - 4e6)
    assert w["outside"]["welfare_change_usd"] == pytest.approx(-31e6)
    assert w["world"]["welfare_change_usd"] == pytest.approx(-44e6)


def test_paragraph_states_its_numbers(two_products: dict[str, Any]) -> None:
    text = headline(two_products).paragraph
    assert "self-sufficiency in the 2 products taken together rises from 50.0% to 76.7%" in text
    assert "watch countries (CHN) falls from 33.3% to 23.3%" in text
    assert f"Consumer prices rise {pct(3400 / 500).lstrip('+')} inside the zone" in text
    assert f"fall {pct(300 / 300).lstrip('+').lstrip('-')} outside" in text
    assert "Zone consumers pay USD 50.0 m" in text
    assert "zone treasuries pay USD 4.0 m in subsidies" in text
    assert "zone producers gain USD 31.0 m" in text
    assert "tariff and levy revenue brings in USD 10.0 m" in text
    assert "Zone welfare" in text and "a loss of USD 13.0 m" in text
    assert "outside the zone, a loss of USD 31.0 m" in text
    assert "largest losses fall on China (CHN, -30.0 m)" in text
    assert "largest gains go to Canada (CAN, +5.0 m)" in text


def test_a_total_with_an_undefined_term_is_not_shown_as_a_total(
    two_products: dict[str, Any],
) -> None:
    """A buyer cut off from every supplier (its price and consumer surplus change are
    unbounded: None in the results) or a product that did not converge leaves the totals
    it enters undefined, not summed without it."""
    cut = copy.deepcopy(two_products)
    usa = cut["products"]["a"]["countries"]["USA"]
    usa["consumer_price_change_pct"] = None
    usa["consumer_surplus_change_usd"] = None
    usa["welfare_change_usd"] = None
    cut["products"]["a"]["flows"][1]["quantity_change_pct"] = None
    p, w, s = price_changes(cut), welfare_parts(cut), zone_shares(cut)
    assert p["zone_consumer_price_change_pct"] is None
    assert p["outside_consumer_price_change_pct"] == pytest.approx((200 * -2 + 100 * 1) / 300)
    assert w["zone"]["consumer_surplus_change_usd"] is None
    assert w["world"]["welfare_change_usd"] is None
    assert w["outside"]["welfare_change_usd"] == pytest.approx(-31e6)
    assert w["zone"]["producer_surplus_change_usd"] == pytest.approx(31e6)  # defined parts
    assert s["self_sufficiency"] is None and s["self_sufficiency_baseline"] == pytest.approx(0.5)
    text = headline(cut).paragraph
    assert "cannot be measured" in text and "an unknown change" in text
    # the zone does buy it: the share is unknown for want of a result, said so, and the
    # unit of a measured share is not left hanging after it ("... of it) of zone demand")
    assert "self-sufficiency in the 2 products taken together cannot be measured (no result" in text
    assert "the zone buys none of it" not in text and ") of zone demand" not in text

    failed = copy.deepcopy(two_products)
    failed["products"]["b"]["converged"] = False
    figures = {f.key: f.value for f in headline(failed).figures}
    for key in ("self_sufficiency", "zone_consumer_price_change_pct", "world_welfare_change_usd"):
        assert figures[key] is None, key
    assert "did not converge for Widget B" in headline(failed).paragraph
    assert "CHN, -30.0 m" in headline(failed).paragraph  # the converged product's countries


def test_no_change_says_so(two_products: dict[str, Any]) -> None:
    calm = copy.deepcopy(two_products)
    for p in calm["products"].values():
        for row in p["countries"].values():
            for k in row:
                if k.endswith(("_usd", "_pct")) and k != "baseline_purchases_usd":
                    row[k] = 0.0
        for f in p["flows"]:
            f["quantity_change_pct"] = 0.0
    text = headline(calm).paragraph
    assert "stays at 50.0%" in text
    assert "Consumer prices are unchanged inside the zone and are unchanged outside" in text
    assert "shows no change" in text and "largest" not in text


def test_a_price_change_that_rounds_to_zero_is_not_called_no_change(
    two_products: dict[str, Any],
) -> None:
    # a levy floor at the median unit value moved outside prices -0.0015%, with an outside
    # welfare loss of USD 326 k: the answer said they "are unchanged", the key figure "+0.00%"
    small = copy.deepcopy(two_products)
    small["products"]["a"]["countries"]["CHN"]["consumer_price_change_pct"] = -0.003
    small["products"]["b"]["countries"]["BRA"]["consumer_price_change_pct"] = 0.0
    h = headline(small)
    assert h.figure("outside_consumer_price_change_pct").value == pytest.approx(-0.002)
    assert "fall by less than 0.01% outside it" in h.paragraph
    assert "are unchanged outside" not in h.paragraph
    assert h.figure("outside_consumer_price_change_pct").text == "-0.002%"


def test_countries_whose_welfare_is_undefined_are_named_not_dropped(
    two_products: dict[str, Any],
) -> None:
    # a ban that cuts buyers off from every supplier leaves their welfare undefined: the answer
    # ranked the others' losses as "the largest" and said nothing of them
    cut = copy.deepcopy(two_products)
    row = cut["products"]["b"]["countries"]["USA"]
    row["consumer_surplus_change_usd"] = row["welfare_change_usd"] = None
    text = headline(cut).paragraph
    assert "The welfare of United States (USA) is undefined" in text
    gains = text.split("The largest gains go to ")[1].split(" (welfare, USD)")[0]
    assert "USA" not in gains  # its sum over the other product is not its welfare


def test_key_figures_have_units_and_identity(two_products: dict[str, Any]) -> None:
    h = headline(two_products)
    units = {f.key: f.unit for f in h.figures}
    assert units["self_sufficiency"] == "share" and units["zone_welfare_change_usd"] == "USD"
    assert units["zone_consumer_price_change_pct"] == "%"
    parts = {f.key: f.value for f in h.figures}
    assert parts["zone_welfare_change_usd"] == pytest.approx(
        parts["zone_consumer_surplus_change_usd"]
        + parts["zone_producer_surplus_change_usd"]
        + parts["zone_tariff_revenue_change_usd"]
        + parts["zone_quota_rent_usd"]
        - parts["zone_subsidy_cost_usd"]
    )
    assert h.figure("self_sufficiency").text == "50.0% → 76.7%"
    assert "<p>" in h.to_html() and "Zone welfare" in h.to_html()


@pytest.fixture(scope="module")
def example1() -> Any:
    return simulate(EXAMPLES / "01_lithium_floor_levy.toml")


def test_headline_of_one_product_equals_its_summary(example1: Any) -> None:
    data = example1.to_dict()
    p = data["products"]["lithium_carbonate"]
    h = example1.headline()
    assert h.figure("self_sufficiency").value == pytest.approx(p["zone"]["self_sufficiency"])
    assert h.figure("watch_share").baseline == pytest.approx(p["zone"]["watch_share_baseline"])
    assert h.figure("zone_consumer_price_change_pct").value == pytest.approx(
        p["summary"]["zone_consumer_price_change_pct"]
    )
    assert h.figure("outside_consumer_price_change_pct").value == pytest.approx(
        p["summary"]["outside_consumer_price_change_pct"]
    )
    assert h.figure("zone_welfare_change_usd").value == pytest.approx(
        p["summary"]["zone_welfare_change_usd"]
    )
    text = h.paragraph
    assert share(p["zone"]["self_sufficiency_baseline"]) in text
    assert share(p["zone"]["self_sufficiency"]) in text
    assert pct(p["summary"]["zone_consumer_price_change_pct"]).lstrip("+") in text
    assert usd(abs(p["summary"]["zone_welfare_change_usd"])) in text
    assert example1._repr_html_().startswith("<div class='critmin-headline'>")


def test_frames_hold_the_contract(example1: Any) -> None:
    data = example1.to_dict()
    frames = example1.frames()
    assert set(frames) == set(TABLES)
    countries = frames["countries"]
    p = data["products"]["lithium_carbonate"]
    assert len(countries) == len(p["countries"])
    chl = countries.set_index("country").loc["CHL"]
    assert chl["welfare_change_usd"] == p["countries"]["CHL"]["welfare_change_usd"]
    flows = frames["flows"]
    assert len(flows) == len(p["flows"])
    assert flows["baseline_value_usd"].sum() == pytest.approx(p["summary"]["baseline_market_usd"])
    welfare = frames["welfare"].set_index(["product", "group"])
    assert welfare.loc[("all", "zone"), "welfare_change_usd"] == pytest.approx(
        p["summary"]["zone_welfare_change_usd"]
    )
    with pytest.raises(CritminError, match="unknown results table 'nope'"):
        example1.frame("nope")


def test_headers_carry_units() -> None:
    assert column_header("consumer_price_change_pct") == "consumer price change (%)"
    assert column_header("value_usd") == "value (USD)"
    assert column_header("self_sufficiency") == "self sufficiency (fraction 0-1)"


def test_excel_and_csv(example1: Any, tmp_path: Path) -> None:
    data = example1.to_dict()
    path = example1.to_excel(tmp_path / "run.xlsx")
    for wrong in (tmp_path / "run.json", tmp_path):  # checked before the workbook is made
        with pytest.raises(CritminError):
            example1.to_excel(wrong)
    assert not (tmp_path / "run.json").exists()
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["summary", *TABLES, "sources"]
    assert "welfare change (USD)" in sheets["countries"].columns
    ours = tables(data)["countries"]
    assert sheets["countries"]["welfare change (USD)"].sum() == pytest.approx(
        ours["welfare_change_usd"].sum()
    )
    assert (
        sheets["summary"].set_index("item").loc["answer", "value"] == example1.headline().paragraph
    )
    assert xlsx_bytes(data)[:2] == b"PK"
    paths = write_csvs(data, tmp_path / "csv")
    assert [p.name for p in paths] == ["warnings.csv", *(f"{t}.csv" for t in TABLES)]
    flows = pd.read_csv(io.StringIO(table_csv(data, "flows")))
    assert "baseline value (USD)" in flows.columns
    assert write_xlsx(data, tmp_path / "a" / "b.xlsx").exists()


def test_excel_and_csv_carry_the_provenance(example1: Any) -> None:
    """The sources, the estimated domestic sales and the data notes of each product (the
    terminal's "data:" and "estimate:" lines) are in the products table of the workbook and of
    the CSV files, not in the JSON alone."""
    data = example1.to_dict()
    p = data["products"]["lithium_carbonate"]
    assert p["sources"] and p["estimated_domestic_sales"] and p["warnings"]
    products = pd.read_csv(io.StringIO(table_csv(data, "products")), keep_default_na=False)
    sheet = pd.read_excel(io.BytesIO(xlsx_bytes(data)), sheet_name="products")
    for frame in (products, sheet):
        row = frame.iloc[0]
        assert row["sources"].split("; ") == p["sources"]
        assert (
            row["domestic sales estimated for (ISO3)"].split(", ")
            == (p["estimated_domestic_sales"])
        )
        assert row["data notes"].split(" | ") == p["warnings"]


def test_sweep_edits_one_parameter() -> None:
    from critmin.sweep import parse_path, run_sweep, set_parameter, values_between

    assert parse_path("policy[0].price_usd_per_t") == ["policy", 0, "price_usd_per_t"]
    edited = set_parameter({"policy": [{"rate": 0.1}]}, "policy[0].rate", 0.2)
    assert edited == {"policy": [{"rate": 0.2}]}
    assert set_parameter({}, "defaults.sigma", 4.0) == {"defaults": {"sigma": 4.0}}
    with pytest.raises(CritminError, match=r"no policy\[2\]"):
        set_parameter({"policy": [{}]}, "policy[2].rate", 1.0)
    with pytest.raises(CritminError, match="not a field name"):
        parse_path("policy[x].rate")
    assert values_between(10_000, 20_000, 3) == [10_000.0, 15_000.0, 20_000.0]
    sweep = run_sweep(
        EXAMPLES / "01_lithium_floor_levy.toml", "policy[0].price_usd_per_t", [12_000, 15_000]
    )
    points = sweep.to_dict()["points"]
    assert [p["value"] for p in points] == [12_000, 15_000]
    at15 = simulate(EXAMPLES / "01_lithium_floor_levy.toml").to_dict()
    summary = at15["products"]["lithium_carbonate"]["summary"]
    assert points[1]["figures"]["zone_consumer_price_change_pct"] == pytest.approx(
        summary["zone_consumer_price_change_pct"]
    )
    # a higher floor raises zone prices more
    assert (
        points[0]["figures"]["zone_consumer_price_change_pct"]
        < points[1]["figures"]["zone_consumer_price_change_pct"]
    )
    assert list(sweep.frame().columns[:2]) == ["policy[0].price_usd_per_t", "converged"]
    with pytest.raises(CritminError, match="policy"):
        run_sweep(EXAMPLES / "01_lithium_floor_levy.toml", "policy[0].price_usd_per_t", [-5.0])


def test_paragraph_numbers_are_well_formed(two_products: dict[str, Any]) -> None:
    text = headline(two_products).paragraph
    assert not re.search(r"\d\.\d{3,}", text)  # no raw floats
    assert "#" not in text  # countries by ISO3, never by index


def test_figures_by_name(example1: Any) -> None:
    from critmin.figures import PRODUCT_FIGURES, SCENARIO_FIGURES, figure_names

    data = example1.to_dict()
    names = figure_names(data)
    assert len(names) == len(SCENARIO_FIGURES) + len(PRODUCT_FIGURES)
    prices = example1.figure("price-summary")
    assert (
        prices["data"][0]["x"][0]
        == (data["products"]["lithium_carbonate"]["summary"]["zone_consumer_price_change_pct"])
    )
    world = example1.figure("map")
    outlines = [t for t in world["data"] if t.get("name") == "zone members"]
    assert outlines and set(outlines[0]["locations"]) <= set(data["members"])
    assert "USA" in outlines[0]["locations"]
    assert example1.figure("sankey", "lithium_carbonate")["data"][0]["type"] == "sankey"
    with pytest.raises(CritminError, match="unknown figure 'pie'"):
        example1.figure("pie")
    with pytest.raises(CritminError, match="unknown product 'tin'"):
        example1.figure("map", "tin")


def test_quota_rents_outside_the_zone_are_named() -> None:
    data = simulate(EXAMPLES / "03_drc_cobalt_quota.toml").to_dict()
    text = headline(data).paragraph
    rent = sum(
        r["quota_rent_usd"] or 0.0
        for p in data["products"].values()
        for r in p["countries"].values()
        if not r["member"]
    )
    assert rent > 0
    assert f"exporters outside the zone collect USD {usd(rent)} in quota rents" in text
    # both prices rise: the verb is not repeated
    assert re.search(r"Consumer prices rise [\d.]+% inside the zone and [\d.]+% outside it", text)
