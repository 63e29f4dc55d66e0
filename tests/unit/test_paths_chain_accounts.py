"""Paths on a chain whose floored stage is bought by the next stage (docs/paths.md): an
offtake's purchases are what the market carries, and a capped CfD's shortfall is measured
against its own market."""

from __future__ import annotations

from typing import Any

import numpy as np
from _paths_helpers import MEMBERS, QUIET, central
from _paths_helpers import scenario_model as _model

from critmin.model.chain import chain_setup
from critmin.model.chain_solver import ChainSolution
from critmin.paths import run_paths


def _scenario(market: dict[str, Any], paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "paths on a chain",
        "zone": {"members": MEMBERS, "watch": ["CHN"]},
        **market,
        **extra,
        "paths": {"start_year": 2026, "draws": 0, **QUIET, **paths},
    }


def test_an_offtake_of_ore_bought_only_by_refiners_buys_nothing_and_says_so() -> None:
    """The zone buys lithium ores only as its refiners' input: it has no other use of them
    (``delta = 1``). An offtake is carried as a shift of the zone's other use, so it cannot buy
    there. It used to count a shift of the index ``E D_other`` (which omits ``1 - delta``) as
    purchases: about 19,000 t of ore "bought" in 2026 for USD 29 m, the market price unmoved,
    the premium booked as zone producers' income."""
    years = list(range(2025, 2029))
    sc = _scenario(
        {"chain": [{"id": "lithium"}]},
        {
            "product": "lithium_ores",
            "floor_usd_per_t": 1500,  # the base-year price is about USD 1,240/t
            "years": "2025-2028",
            "mechanisms": ["offtake"],
        },
    )
    model, settings = _model(sc)
    none = central(model, settings, "none", years=years)
    off = central(model, settings, "offtake", years=years)
    assert (off["purchases_t"] == 0.0).all()
    assert (off["stockpile_t"] == 0.0).all()
    assert np.array_equal(off["fiscal_cost_usd"], none["fiscal_cost_usd"])
    assert np.array_equal(off["zone_producer_surplus_usd"], none["zone_producer_surplus_usd"])
    notes = run_paths(sc, draws=0, workers=1).notes
    assert any(n.startswith("no effect: paths offtake at lithium_ores") for n in notes), notes


def test_offtake_purchases_at_an_intermediate_stage_are_what_the_market_carries() -> None:
    """Rare-earth compounds are bought by zone metal makers and by other users. The tonnes
    the agency is said to buy must be the market's demand beyond zone buyers' own: members'
    purchases ``sum E_j D_j`` minus their producers' input and minus their other use at the
    year's prices, ``(1 - delta_j) E_j P_j^(-eta)`` (no growth, no shocks: ``H = 1``), with
    ``delta_j`` from the chain's setup. They were overstated by about 0.7 % here (the
    sizing divided by ``E D_other`` rather than by the other use)."""
    years = [2025, 2026]
    sc = _scenario(
        {"chain": [{"id": "rare_earths"}]},
        {
            "product": "rare_earth_compounds",
            "floor_usd_per_t": 12000,  # the base-year price is about USD 9,200/t
            "years": "2025-2026",
            "mechanisms": ["offtake"],
        },
    )
    model, settings = _model(sc)
    keep: list[ChainSolution] = []
    off = central(model, settings, "offtake", keep, years)
    bought = float(off["purchases_t"][1])
    assert bought > 0.0
    k, mem = model.floor_stage, model.members
    delta = chain_setup(model.stages).arrays.delta[k]
    st = keep[1].stages[k]
    own = (1.0 - delta) * st.E * np.exp(-model.stages[k].market.eta * np.log(st.P))
    agency = float((st.E * st.D - st.input_bought - own)[mem].sum()) / model.info[k].unit_value
    assert np.isclose(bought, agency, rtol=1e-8, atol=0.0), (bought, agency)


def test_a_capped_cfds_shortfall_is_measured_against_its_own_market() -> None:
    """With ``cfd_volume_cap_t`` below zone output the payment is inframarginal: the year is
    solved without the floor, exactly as the no-floor path, and so must be the disruption's
    reference. The reference kept the uncapped floor, so a capped CfD showed a larger shortfall
    (447 t against 321 t in 2028 on the lithium chain) on a market identical to ``none``."""
    years = list(range(2025, 2030))
    sc = _scenario(
        {"chain": [{"id": "lithium"}]},
        {
            "product": "refine",
            "floor_usd_per_t": 20000,
            "years": "2025-2029",
            "cfd_volume_cap_t": 1000,
            "mechanisms": ["producer_subsidy"],
        },
        disruption=[
            {"exporters": ["CHN"], "importers": "members", "probability": 1.0, "year": 2028}
        ],
    )
    model, settings = _model(sc)
    none = central(model, settings, "none", years=years)
    cfd = central(model, settings, "producer_subsidy", years=years)
    assert np.array_equal(cfd["price_usd_per_t"], none["price_usd_per_t"])
    assert none["shortfall_t"][3] > 0.0
    assert np.array_equal(cfd["shortfall_t"], none["shortfall_t"])
