"""The paths' accounts checked against plain recomputations (docs/paths.md): the central path's
disruptions, zone buyers' surplus in an offtake's release year, who receives a capped CfD's
payment, and each year's stage figures over the same draws as the mechanism's own."""

from __future__ import annotations

import numpy as np
import pytest
from _paths_helpers import QUIET, YEARS, central, model_of, scenario
from _paths_helpers import world as _world

from critmin.model.chain_solver import ChainSolution
from critmin.paths import run_paths


@pytest.mark.parametrize("probability", [0.1, 0.6, 0.999])
def test_the_central_path_fires_no_disruption_below_probability_one(probability: float) -> None:
    """docs/paths.md: the central path (``--draws 0``) fires only disruptions of probability 1.
    Its event draws were 0.5, so a yearly ban of probability 0.6 fired in every year: a
    shortfall each year and an offtake that never bought (it buys only without a
    disruption)."""
    ban = {"exporters": ["CHN"], "importers": "members", "probability": probability}
    model, settings = model_of(QUIET, [ban])
    for mech in ("none", "offtake"):
        path = central(model, settings, mech)
        assert (path["shortfall_t"] == 0.0).all(), mech
    assert central(model, settings, "offtake")["purchases_t"][1] > 0.0
    sure, settings = model_of(QUIET, [{**ban, "probability": 1.0}])
    assert (central(sure, settings, "none")["shortfall_t"] > 0.0).all()


def test_zone_buyers_surplus_in_a_release_year_counts_the_released_tonnes() -> None:
    """An offtake's release sells stock to zone buyers at the market price: the market then
    carries ``f x H`` of their demand ``H`` (``f < 1``), but the buyers consume all of ``H`` at
    that price, so their surplus is the one of their whole demand. It was counted on ``f x H``
    alone in release years (purchase years were right), so a release showed ``1 - f`` of the
    buyers' surplus change as nobody's. Recomputed here from each year's prices:
    ``-sum E_j (P_j^(1 - eta) - 1) / (1 - eta)`` over members (no growth, no shocks: H = 1)."""
    model, settings = model_of(
        {**QUIET, "floor_usd_per_t": 30000},
        [{"exporters": ["CHN"], "importers": "members", "probability": 1.0, "year": 2029}],
    )
    keep: list[ChainSolution] = []
    path = central(model, settings, "offtake", keep)
    mem, eta = model.members, model.stages[0].market.eta
    assert path["releases_t"][YEARS.index(2029)] > 0.0
    assert path["purchases_t"][YEARS.index(2026)] > 0.0
    for t, sol in enumerate(keep):
        st = sol.stages[0]
        ok = mem & (st.E > 0)
        own = -float((st.E[ok] * np.expm1((1.0 - eta) * np.log(st.P[ok])) / (1.0 - eta)).sum())
        assert path["zone_consumer_surplus_usd"][t] == pytest.approx(own, rel=1e-9, abs=1e-3)


def test_a_capped_cfd_payment_is_zone_producers_income() -> None:
    """With ``cfd_volume_cap_t`` below zone output the CfD is paid beside the market (supply is
    solved without the floor): the payment is income of the zone's producers. Their gain left
    it out, so taxpayers paid USD 2.6 m a year that nobody received. Now the zone producers'
    gain is the market's change in their surplus plus the payment."""
    model, settings = model_of({**QUIET, "cfd_volume_cap_t": 2000.0})
    keep: list[ChainSolution] = []
    sub = central(model, settings, "producer_subsidy", keep)
    none = central(model, settings, "none")
    mem = model.members
    paid = sub["fiscal_cost_usd"] - none["fiscal_cost_usd"]
    assert paid[1:].min() > 0.0  # the floor binds on the capped volume every year
    market = np.array([float(sol.stages[0].dPS[mem].sum()) for sol in keep])
    np.testing.assert_allclose(sub["zone_producer_surplus_usd"], market + paid, rtol=1e-12)
    gain = sub["zone_producer_surplus_usd"] - none["zone_producer_surplus_usd"]
    np.testing.assert_allclose(gain, paid, rtol=1e-9)  # the market is the no-floor one


def test_each_years_stage_figures_keep_the_draws_of_the_mechanisms_own_figures() -> None:
    """A draw whose year did not converge is left out of the mechanism's figures of that year;
    the stage series of the same year (``years[].mechanisms[].stages``, ``stages.csv``) kept
    it, so the floored stage's price there differed from the mechanism's price."""
    sc = scenario({"draws": 3, "years": "2025-2027", "mechanisms": ["producer_subsidy"]})
    res = run_paths(sc, workers=1, world=_world())
    raw = res.raw["producer_subsidy"]
    raw["converged"][1, 2] = 0.0  # as a draw that failed in 2027
    raw["stage_price_usd_per_t"][1, 2, 0] = 1e9  # what a failed solve may leave
    d = res.to_dict()
    key = d["stages"][0]
    for t, row in enumerate(d["years"]):
        stage = row["mechanisms"]["producer_subsidy"]["stages"][key]
        own = d["mechanisms"]["producer_subsidy"]["years"][t]["price_usd_per_t"]["expected"]
        assert stage["price_usd_per_t"] == pytest.approx(own, rel=1e-12)


def test_an_offtakes_premium_over_the_market_price_is_zone_producers_income() -> None:
    """The agency buys at the floor ``F`` under contracts with zone producers while the market
    price ``p`` is below it; the tonnes come through the market at ``p``. The premium ``(F -
    p) x`` tonnes bought was in the fiscal cost and in nobody's gain (USD 80 m a year on the
    lithium example's central path); now zone producers' gain is the market's change in their
    surplus plus it, in purchase years, and the market's alone in the others."""
    model, settings = model_of(QUIET)
    keep: list[ChainSolution] = []
    path = central(model, settings, "offtake", keep)
    mem = model.members
    floor = 20000.0
    bought = path["purchases_t"]
    assert bought[1] > 0.0 and (bought == 0.0).any()  # purchase years and years without
    premium = np.maximum(floor - path["price_usd_per_t"], 0.0) * bought
    assert premium[1] > 1e6
    market = np.array([float(sol.stages[0].dPS[mem].sum()) for sol in keep])
    np.testing.assert_allclose(path["zone_producer_surplus_usd"], market + premium, rtol=1e-12)


def test_the_central_path_has_no_shocks_whatever_their_fitted_size() -> None:
    """docs/paths.md: the central path (``--draws 0``) has no shocks. It was solved with the
    fitted shock sizes and zero normals, so each year's demand and capacity multipliers were
    ``exp(-sd^2 / 2)`` (0.83 for lithium): the base year was not the calibration and every
    quantity and money figure was 17% short (a one-year levy's revenue USD 236 m, not the
    285 m of ``critmin simulate``). With shocks on or off it is now the same path."""
    quiet = {"floor_usd_per_t": 20000, "draws": 0, "years": "2025-2027", "start_year": 2025}
    on = run_paths(scenario(quiet | {"demand_growth": False}), workers=1, world=_world())
    off = run_paths(scenario(quiet | QUIET), workers=1, world=_world())
    assert on.facts["shock_fit"] is not None
    for mech in ("none", "variable_levy", "producer_subsidy"):
        for key in ("levy_revenue_usd", "fiscal_cost_usd", "stage_supply_t", "stage_demand_t"):
            np.testing.assert_allclose(on.central[mech][key], off.central[mech][key], rtol=1e-12)
    # the base year of the path without a floor is the calibration: its supply, in tonnes
    model, _ = model_of(QUIET)
    supply0 = model.stages[0].market.V.sum() / model.info[0].unit_value
    np.testing.assert_allclose(on.central["none"]["stage_supply_t"][0, 0], supply0, rtol=1e-9)


def test_an_offtake_never_releases_below_the_floor_it_defends() -> None:
    """A release trigger below the floor (``release_price_ratio`` 1.01 x a base price of about
    USD 14,400 against a floor of 20,000; the bundled NdPr example's defaults do the same) had
    the agency sell 9,420 t in a year of high demand priced at USD 17,447, below the floor it
    was buying to lift the price to, then buy them back. It now releases only above the floor
    (or on a disruption), buys in that year instead, and a note says so."""
    from critmin.paths.engine import YearSolver, central_inputs, simulate_path
    from critmin.paths.run import release_below_floor

    model, settings = model_of(
        {"shocks": True, "demand_growth": False, "release_price_ratio": 1.01}
    )
    T, S, E = len(YEARS), len(model.stages), len(model.events)
    z, u = central_inputs(T, S, E)
    z[3, 0] = 2.0  # demand 22% above trend in 2028: the price between trigger and floor
    none = simulate_path(model, settings, "none", YEARS, z, u, (0.1, 0.0))
    assert 1.01 * none["price_usd_per_t"][0] < none["price_usd_per_t"][3] < 20000
    path = simulate_path(model, settings, "offtake", YEARS, z, u, (0.1, 0.0))
    assert (path["releases_t"] == 0.0).all()
    assert path["purchases_t"][3] > 0.0
    assert (path["stockpile_t"][1:] > 0.0).all()
    (note,) = release_below_floor(model, settings, YearSolver(model).baseline())
    assert "below the floor (USD 20,000/t)" in note and "only above the floor" in note
