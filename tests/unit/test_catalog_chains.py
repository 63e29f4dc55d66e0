"""The chain catalog: chains.csv and byproducts.csv, validated on load, against published
figures (USGS) where a number is derived from them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from critmin import catalog
from critmin.catalog import chain_catalog as chains_module
from critmin.errors import DataIntegrityError
from critmin.world import load_world

ISSUE_HS6 = {
    "253090", "282520", "810520", "284690", "280530", "250410", "380110", "260400",
    "750110", "750120", "260300", "260800", "281820", "261710", "261100",
}  # fmt: skip
"""The intermediate goods issue 13 names (2846 as its HS6 284690)."""
CHAINS = {
    "lithium", "cobalt", "nickel", "graphite", "rare_earths", "gallium", "germanium",
    "copper", "antimony", "tungsten", "manganese", "pgms",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    catalog.chains.cache_clear()
    catalog.byproducts.cache_clear()
    yield
    catalog.chains.cache_clear()
    catalog.byproducts.cache_clear()


def test_every_named_chain_and_code_is_in_the_catalog() -> None:
    found = catalog.chains()
    assert set(found) >= CHAINS
    products = {r["product_id"]: r for r in catalog.read_curated("products")}
    hs_in_chains = {products[p]["hs6"] for c in found.values() for p in c.product_ids}
    assert hs_in_chains >= ISSUE_HS6
    for chain in found.values():
        assert [s.step for s in chain.steps] == list(range(1, len(chain.steps) + 1))
        assert chain.steps[0].input_coefficient is None
        assert all(s.stage in catalog.STAGES and s.source for s in chain.steps)


def test_lithium_chain_order_and_coefficient() -> None:
    lithium = catalog.chains()["lithium"]
    assert [s.stage for s in lithium.steps] == ["mine", "refine"]
    assert lithium.steps[0].product_ids == ("lithium_ores",)
    assert set(lithium.steps[1].product_ids) == {"lithium_carbonate", "lithium_hydroxide"}
    # 85-90 % recovery in conversion: between 1/0.90 and 1/0.85 t of Li bought per t made
    coef = lithium.steps[1].input_coefficient
    assert coef is not None and 1 / 0.90 <= coef <= 1 / 0.85


def test_mixed_codes_carry_a_caveat() -> None:
    products = {r["hs6"]: r for r in catalog.read_curated("products")}
    assert "not elsewhere specified" in products["253090"]["caveat"]
    assert "germanium" in products["811292"]["caveat"]
    assert "2846" in products["284690"]["caveat"]


def _usgs(world_rows: object, mineral: str, stage: str, country: str) -> float:
    import pandas as pd

    assert isinstance(world_rows, pd.DataFrame)
    rows = world_rows[
        (world_rows["mineral"] == mineral)
        & (world_rows["stage"] == stage)
        & (world_rows["country"] == country)
        & (world_rows["year"] == 2024)
        & (world_rows["measure"] == "production")
    ]
    return float(rows["value_t"].iloc[0])


def test_recovery_shares_equal_the_usgs_figures_they_cite() -> None:
    supply = load_world(2024).supply
    shares = {(b.product_id, b.host_product_id): b.recovery_share for b in catalog.byproducts()}
    gallium = _usgs(supply, "gallium", "refine", "WLD") / _usgs(supply, "alumina", "refine", "WLD")
    assert shares[("gallium_germanium", "alumina")] == pytest.approx(gallium, rel=0.005)
    copperbelt = _usgs(supply, "copper", "mine", "COD") + _usgs(supply, "copper", "mine", "ZMB")
    cobalt = _usgs(supply, "cobalt", "mine", "COD") / copperbelt
    assert shares[("cobalt_intermediates", "copper_concentrate")] == pytest.approx(cobalt, rel=0.01)
    nickel = _usgs(supply, "cobalt", "mine", "IDN") / _usgs(supply, "nickel", "mine", "IDN")
    assert shares[("cobalt_intermediates", "nickel_intermediates")] == pytest.approx(
        nickel, rel=0.01
    )
    assert ("gallium_germanium", "zinc_concentrate") in shares


def _patch(monkeypatch: pytest.MonkeyPatch, name: str, rows: list[dict[str, str]]) -> None:
    real = catalog.read_curated

    def fake(which: str) -> list[dict[str, str]]:
        return rows if which == name else real(which)

    monkeypatch.setattr(catalog, "read_curated", fake)


ROW = {
    "chain": "x",
    "mineral": "lithium",
    "step": "1",
    "stage": "mine",
    "product_id": "lithium_ores",
    "input_coefficient": "",
    "coefficient_basis": "first step",
    "source": "s",
}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{**ROW, "product_id": "unobtainium"}], "chains.csv row 2: unknown product_id"),
        ([{**ROW, "stage": "smelt"}], "chains.csv row 2: unknown stage"),
        ([ROW, {**ROW, "step": "2", "stage": "refine", "product_id": "lithium_carbonate",
                "input_coefficient": "nan"}], "chains.csv row 3: input_coefficient"),
        ([ROW, {**ROW, "step": "3", "product_id": "lithium_carbonate"}], "not 1, 2"),
        ([{**ROW, "source": ""}], "chains.csv row 2: source is blank"),
        ([ROW, {**ROW, "step": "2", "stage": "refine", "product_id": "lithium_carbonate"}],
         "not by-products"),
    ],
)  # fmt: skip
def test_bad_chain_rows_name_file_and_row(
    monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, str]], message: str
) -> None:
    _patch(monkeypatch, "chains", rows)
    with pytest.raises(DataIntegrityError, match=re.escape(message)):
        chains_module.chains()


def test_bad_byproduct_rows_name_file_and_row(monkeypatch: pytest.MonkeyPatch) -> None:
    row = {
        "product_id": "gallium_germanium",
        "host_product_id": "alumina",
        "recovery_share": "inf",
        "recovery_basis": "b",
        "source": "s",
    }
    _patch(monkeypatch, "byproducts", [row])
    with pytest.raises(DataIntegrityError, match=re.escape("byproducts.csv row 2: recovery_share")):
        chains_module.byproducts()
    catalog.byproducts.cache_clear()
    _patch(monkeypatch, "byproducts", [{**row, "recovery_share": "1e-6", "host_product_id": "?"}])
    with pytest.raises(DataIntegrityError, match=re.escape("unknown host_product_id")):
        chains_module.byproducts()
