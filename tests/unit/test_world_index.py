"""The World's indexes return exactly what a boolean filter of the whole table returns."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.errors import UnknownProductError
from critmin.world import World


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Same index, columns and values (string columns compared as text)."""
    return (
        list(a.index) == list(b.index)
        and list(a.columns) == list(b.columns)
        and all(a[c].astype(object).equals(b[c].astype(object)) for c in a.columns)
    )


def test_product_flows_equal_a_filter_of_the_flows(world: World) -> None:
    for pid in world.product_ids:
        expected = world.flows[world.flows["product_id"] == pid]
        assert same_rows(world.product_flows(pid), expected), pid
    hs6 = str(world.products["hs6"].iloc[0])
    assert same_rows(world.product_flows(hs6), world.product_flows(world.product_ids[0]))


def test_product_lookup_by_id_and_hs6(world: World) -> None:
    first = world.products.iloc[0]
    assert world.product(str(first["product_id"]))["name"] == first["name"]
    assert world.product(str(first["hs6"]))["product_id"] == first["product_id"]
    with pytest.raises(UnknownProductError, match="unknown product"):
        world.product("no_such_product")


def test_supply_rows_equal_a_filter_of_the_supply_table(world: World) -> None:
    s = world.supply
    for minerals, stage in (
        (["lithium"], "mine"),
        (["nickel", "cobalt"], "refine"),
        (["x"], "mine"),
    ):
        expected = s[
            s["mineral"].isin(minerals) & (s["stage"] == stage) & (s["measure"] == "production")
        ]
        assert same_rows(world.supply_rows(minerals, stage, "production"), expected)


def test_elasticity_rows_fall_back_to_metal(world: World) -> None:
    el = world.elasticities
    row = world.elasticity_row("no_such_class", "sigma")
    assert row is not None
    metal = el[(el["product_class"] == "metal") & (el["parameter"] == "sigma")].iloc[0]
    assert row["default"] == metal["default"]
    assert world.elasticity_row("metal", "no_such_parameter") is None


def test_processing_shares_cannot_be_edited(world: World) -> None:
    """The processing shares are computed once per world and read by every later baseline of
    a refined product: an edit by a caller (``world.processing_shares["share"][:] = 0``)
    changed those baselines silently. The mapping and its arrays are read-only, and they
    equal a filter of the EU table."""
    shares = world.processing_shares
    with pytest.raises(ValueError, match="read-only"):
        shares["share"][:] = 0.0
    with pytest.raises(TypeError):
        shares["share"] = shares["share"] * 0.0  # type: ignore[index]
    table = world.eu_supply_shares
    expected = table[
        (table["scope"] == "global") & (table["stage"] == "P") & (table["country"] != "OTH")
    ]
    assert shares["country"].tolist() == expected["country"].tolist()
    assert shares["share"].tolist() == pytest.approx(expected["share"].tolist())
    assert shares["material"].tolist() == [m.lower() for m in expected["material"]]
