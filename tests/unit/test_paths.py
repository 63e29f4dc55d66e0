"""critmin paths: the properties of issue 16 on the bundled lithium carbonate market.

A flat path equals the static solve; a contract for difference costs (floor - market price)+ x
covered volume each year; a floor below every market price costs nothing; offtake stays within
its budget and the stockpile never goes negative; shortfall counts only disruptions; capacity
arrives after the stage's lead time; draws do not depend on chunking."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _paths_helpers import QUIET, YEARS, ZONE, central, model_of, scenario
from _paths_helpers import world as _world

from critmin.model import solve
from critmin.model.chain_solver import ChainSolution, solve_chain
from critmin.note_kinds import WARNING_PREFIXES
from critmin.paths import run_paths
from critmin.paths.engine import YearSolver, draw_inputs, simulate_path
from critmin.paths.inputs import fit_shocks
from critmin.paths.setup import path_model
from critmin.scenario.spec import load_scenario
from critmin.simulation import simulate


def test_no_growth_no_shocks_no_policy_is_flat_and_static() -> None:
    model, settings = model_of(QUIET)
    keep: list[ChainSolution] = []
    path = central(model, settings, "none", keep)
    static = solve_chain(model.stages)
    for sol in keep:
        for a, b in zip(sol.stages, static.stages, strict=True):
            np.testing.assert_array_equal(a.pi, b.pi)
            np.testing.assert_array_equal(a.S, b.S)
            np.testing.assert_array_equal(a.q, b.q)
    assert np.ptp(path["price_usd_per_t"]) == 0.0
    assert (path["fiscal_cost_usd"] == 0).all() and (path["shortfall_t"] == 0).all()


@pytest.mark.parametrize("cap", [None, 2000.0])
def test_cfd_cost_is_the_gap_times_covered_volume(cap: float | None) -> None:
    model, settings = model_of({**QUIET, "demand_growth": True, "cfd_volume_cap_t": cap})
    keep: list[ChainSolution] = []
    path = central(model, settings, "producer_subsidy", keep)
    F = settings.floor_usd_per_t
    puv = model.info[0].producer_unit_values
    mem = model.members
    paid = 0
    for t, sol in enumerate(keep):
        st = sol.stages[0]
        price = st.pi * puv  # market price, USD/t
        vol = np.where(mem & (st.R > 0), st.S * st.R / puv, 0.0)  # t
        if YEARS[t] < 2026:
            assert path["fiscal_cost_usd"][t] == 0.0
            continue
        covered = vol if cap is None or vol.sum() <= cap else vol * cap / vol.sum()
        expected = float((np.maximum(F - price, 0.0) * covered).sum())
        assert path["fiscal_cost_usd"][t] == pytest.approx(expected, rel=1e-9)
        paid += expected > 0
    assert paid > 0  # the floor binds in some year


def test_cfd_term_ends_the_payments() -> None:
    model, settings = model_of({**QUIET, "cfd_term_years": 3})
    path = central(model, settings, "producer_subsidy")
    cost = path["fiscal_cost_usd"]
    assert (cost[1:4] > 0).all() and (cost[4:] == 0).all()


@pytest.mark.parametrize("mech", ["variable_levy", "producer_subsidy", "price_gap", "offtake"])
def test_a_floor_below_every_market_price_costs_nothing(mech: str) -> None:
    model, settings = model_of({"floor_usd_per_t": 100.0, "draws": 0})
    T, S, E = len(YEARS), len(model.stages), len(model.events)
    none = None
    for d in range(3):
        z, u = draw_inputs(1, d, T, S, E)
        z *= 0.3
        none = simulate_path(model, settings, "none", YEARS, z, u, (0.2, 0.2))
        path = simulate_path(model, settings, mech, YEARS, z, u, (0.2, 0.2))
        assert (path["fiscal_cost_usd"] == 0.0).all()
        np.testing.assert_allclose(path["levy_revenue_usd"], none["levy_revenue_usd"], atol=1e-3)
        np.testing.assert_allclose(path["price_usd_per_t"], none["price_usd_per_t"], rtol=1e-12)
    assert none is not None


def test_offtake_stays_within_budget_and_stock_is_never_negative() -> None:
    budget = 2e8
    model, settings = model_of(
        {"floor_usd_per_t": 30000, "offtake_budget_usd": budget, "stockpile_target_days": 90},
        [{"exporters": ["CHN"], "importers": "members", "probability": 0.3}],
    )
    T, S, E = len(YEARS), len(model.stages), len(model.events)
    bought_any = released_any = False
    for d in range(6):
        z, u = draw_inputs(3, d, T, S, E)
        path = simulate_path(model, settings, "offtake", YEARS, z, u, (0.3, 0.3))
        spent = np.cumsum(path["purchases_t"]) * settings.floor_usd_per_t
        assert (spent <= budget * (1 + 1e-12)).all()
        assert (path["stockpile_t"] >= 0).all()
        stock = np.cumsum(path["purchases_t"] - path["releases_t"])
        np.testing.assert_allclose(path["stockpile_t"], stock, rtol=1e-12, atol=1e-9)
        bought_any |= bool((path["purchases_t"] > 0).any())
        released_any |= bool((path["releases_t"] > 0).any())
    assert bought_any and released_any


@pytest.mark.parametrize("floor", [5000.0, 20000.0, 60000.0])
def test_without_disruption_shortfall_is_zero_whatever_the_floor(floor: float) -> None:
    model, settings = model_of({"floor_usd_per_t": floor})
    T, S, E = len(YEARS), len(model.stages), len(model.events)
    for mech in ("none", "variable_levy", "producer_subsidy", "price_gap", "offtake"):
        z, u = draw_inputs(0, 0, T, S, E)
        path = simulate_path(model, settings, mech, YEARS, z, u, (0.2, 0.2))
        assert (path["shortfall_t"] == 0.0).all()
    # a levy floor cuts zone demand by design: not a shortfall
    levy = central(model, settings, "variable_levy")
    none = central(model, settings, "none")
    if floor > 15000:
        assert levy["zone_demand_t"][3] < none["zone_demand_t"][3]


def test_a_disruption_in_one_year_gives_a_shortfall_that_year_only() -> None:
    model, settings = model_of(
        QUIET, [{"exporters": ["CHN"], "importers": "members", "probability": 1.0, "year": 2028}]
    )
    for mech in ("none", "variable_levy"):
        path = central(model, settings, mech)
        short = path["shortfall_t"]
        assert short[YEARS.index(2028)] > 0
        assert (np.delete(short, YEARS.index(2028)) == 0).all()


def test_capacity_arrives_after_the_lead_time() -> None:
    """A CfD from 2026 raises zone supply at once (short-run response) and again from 2026 + L
    (new capacity; L = 3 years for a refinery)."""
    model, settings = model_of(QUIET)
    lead = model.info[0].rule.lead_time_years
    sub = central(model, settings, "producer_subsidy")["stage_supply_t"][:, 0]
    none = central(model, settings, "none")["stage_supply_t"][:, 0]
    ratio = sub / none
    start = YEARS.index(2026)
    assert ratio[start] > 1.0
    np.testing.assert_allclose(ratio[start : start + lead], ratio[start], rtol=1e-10)
    assert ratio[start + lead] > ratio[start] * (1 + 1e-6)


def test_draws_do_not_depend_on_chunking() -> None:
    sc = scenario({"draws": 4, "years": "2025-2028", "mechanisms": ["producer_subsidy"]})
    a = run_paths(sc, chunk=4, workers=1, world=_world())
    b = run_paths(sc, chunk=1, workers=1, world=_world())
    for mech in a.raw:
        for key, v in a.raw[mech].items():
            np.testing.assert_array_equal(v, b.raw[mech][key])
    d = a.to_dict()
    assert [y["year"] for y in d["years"]] == [2025, 2026, 2027, 2028]
    entry = d["mechanisms"]["producer_subsidy"]
    assert set(entry["npv"]) >= {"fiscal_cost_usd", "levy_revenue_usd", "zone_buyers_cost_usd"}
    b95 = entry["npv"]["fiscal_cost_usd"]
    assert b95["p5"] <= b95["expected"] <= b95["p95"]


def test_a_chain_path_is_flat_and_static_and_its_mines_lag() -> None:
    """The lithium chain (ores -> carbonate): flat = static at every stage; under a CfD on the
    carbonate stage nothing moves after 2026 until the first new capacity arrives (the
    refinery's lead time, shorter than the mine's)."""
    sc = load_scenario(
        {
            "name": "chain",
            "zone": ZONE,
            "chain": [{"id": "lithium"}],
            "paths": {
                "product": "lithium_carbonate",
                "floor_usd_per_t": 20000,
                "years": "2025-2032",
                "start_year": 2026,
                **QUIET,
            },
        }
    )
    assert sc.paths is not None
    model = path_model(sc, _world(), sc.paths)
    assert [i.key for i in model.info][-1] == "lithium_carbonate" and len(model.stages) == 2
    keep: list[ChainSolution] = []
    central(model, sc.paths, "none", keep)
    static = solve_chain(model.stages)
    for sol in keep:
        for a, b in zip(sol.stages, static.stages, strict=True):
            np.testing.assert_array_equal(a.pi, b.pi)
            np.testing.assert_array_equal(a.S, b.S)
    sub = central(model, sc.paths, "producer_subsidy")["stage_supply_t"]
    none = central(model, sc.paths, "none")["stage_supply_t"]
    assert model.info[0].stage == "mine" and model.info[1].stage == "refine"
    lead = min(i.rule.lead_time_years for i in model.info)
    assert lead < model.info[0].rule.lead_time_years
    start = YEARS.index(2026)
    for s in range(2):
        ratio = sub[:, s] / none[:, s]
        np.testing.assert_allclose(ratio[start : start + lead], ratio[start], rtol=1e-9)
        assert abs(ratio[start + lead] / ratio[start] - 1) > 1e-6


def test_a_floor_that_never_binds_on_the_central_path_is_noted() -> None:
    """With draws the floor may still bind: a note. Without draws the central path is all
    there is and every figure is 0: that was the same plain note (``note:``, not in
    ``warnings.csv``); it is now a ``no effect:`` warning."""
    sc = scenario({"floor_usd_per_t": 100.0, "draws": 0, "years": "2025-2027"})
    res = run_paths(sc, world=_world())
    below = [n for n in res.notes if "below the market price in every year" in n]
    assert len(below) == 1 and below[0].startswith("no effect: ")
    assert res.to_dict()["notes"] == res.notes
    npv = res.to_dict()["mechanisms"]
    assert all(abs(v["expected"]) < 1e-3 for e in npv.values() for v in e["npv"].values())
    drawn = run_paths(sc, draws=2, workers=1, world=_world())
    below = [n for n in drawn.notes if "below the market price in every year" in n]
    assert len(below) == 1 and not below[0].startswith(WARNING_PREFIXES)


def test_a_mechanism_the_scenarios_own_floor_already_does_is_warned_of() -> None:
    """A scenario whose own variable levy already holds the zone price at the paths' floor:
    the levy path is the path without a floor in every year, so every figure of the levy row
    is 0, with no word why (an analyst takes it for a fault). It is now a ``no effect:``
    warning naming the mechanism; the subsidy, which still binds, is not named."""
    own = {"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 20000}
    sc = scenario({"draws": 0, "years": "2025-2027", "mechanisms": ["variable_levy", "price_gap"]})
    res = run_paths(sc | {"policy": [own]}, workers=1, world=_world())
    idle = [n for n in res.notes if n.startswith("no effect: paths mechanism")]
    assert len(idle) == 1 and idle[0].startswith("no effect: paths mechanism variable_levy:")
    levy = res.to_dict()["mechanisms"]["variable_levy"]["npv"]
    assert all(v["expected"] == 0.0 for v in levy.values())
    # without the scenario's own floor, no such warning
    plain = run_paths(sc, workers=1, world=_world())
    assert not [n for n in plain.notes if n.startswith("no effect: paths mechanism")]


def test_paths_sharing_one_year_solver_are_bit_identical_to_paths_solved_alone() -> None:
    """A chunk's paths share one :class:`YearSolver` (its stage templates set up once): every
    series of every mechanism, offtake's baseline price included, is the same bits as with a
    solver of its own, and the shared solver sets up each template once."""
    model, settings = model_of(
        {"floor_usd_per_t": 30000, "offtake_budget_usd": 2e8, "stockpile_target_days": 90},
        [{"exporters": ["CHN"], "importers": "members", "probability": 0.3}],
    )
    T, S, E = len(YEARS), len(model.stages), len(model.events)
    shared = YearSolver(model)
    for d in range(3):
        z, u = draw_inputs(5, d, T, S, E)
        for mech in ("none", "variable_levy", "producer_subsidy", "price_gap", "offtake"):
            alone = simulate_path(model, settings, mech, YEARS, z, u, (0.3, 0.3))
            both = simulate_path(model, settings, mech, YEARS, z, u, (0.3, 0.3), solver=shared)
            assert alone.keys() == both.keys()
            for key in alone:
                np.testing.assert_array_equal(alone[key], both[key], err_msg=f"{mech} {key}")
    variants = {key[0] for key in shared.cache}
    assert {"none", "levy", "subsidy"} <= variants
    assert any(key[1] for key in shared.cache)  # a disruption fired: its templates too
    with pytest.raises(ValueError, match="another model"):
        other, _ = model_of(QUIET)
        simulate_path(other, settings, "none", YEARS, z, u, (0.3, 0.3), solver=shared)


def test_stage_flows_are_dense_on_access_and_equal_a_plain_sum_over_the_pairs() -> None:
    """:attr:`StageSolution.q` (built on first access from the pairs' quantities) against a
    plain loop over the pairs; ``q_nonqualifying`` over the non-qualifying share's pairs."""
    model, settings = model_of(QUIET)
    keep: list[ChainSolution] = []
    central(model, settings, "price_gap", keep)
    st = keep[-1].stages[model.floor_stage]
    assert "q" not in st.__dict__  # not built by the solve
    n = st.flows.n
    q = np.zeros((n, n))
    qn = np.zeros((n, n))
    pairs = zip(st.flows.flat.tolist(), st.flows.q.tolist(), st.flows.alt.tolist(), strict=True)
    for f, v, alt in pairs:
        q[f // n, f % n] += v
        if alt:
            qn[f // n, f % n] += v
    assert st.flows.alt.any()  # the price gap splits the floor stage's pairs
    np.testing.assert_allclose(st.q, q, rtol=1e-13, atol=0.0)
    np.testing.assert_allclose(st.q_nonqualifying, qn, rtol=1e-13, atol=0.0)
    assert st.q is st.q  # built once


def test_a_disruption_dated_outside_the_years_is_reported_as_doing_nothing() -> None:
    sc = scenario(
        {"draws": 0, "years": "2025-2027", **QUIET},
        [{"exporters": ["CHN"], "importers": "members", "probability": 0.5, "year": 2090}],
    )
    notes = run_paths(sc, workers=1, world=_world()).to_dict()["notes"]
    assert any(n.startswith("no effect: disruption[0] in 2090") and "2025-2027" in n for n in notes)


def test_draws_left_out_of_a_mechanism_are_named() -> None:
    sc = scenario({"draws": 3, "years": "2025-2026", "mechanisms": ["producer_subsidy"]})
    res = run_paths(sc, workers=1, world=_world())
    assert not [n for n in res.to_dict()["notes"] if "did not converge" in n]
    res.raw["producer_subsidy"]["converged"][1, 0] = 0.0  # as a draw that failed
    d = res.to_dict()
    assert d["mechanisms"]["producer_subsidy"]["converged_draws"] == 2
    assert any(n.startswith("numerical: producer_subsidy: 1 of 3 draw(s)") for n in d["notes"])


NDPR_PATHS = (
    Path(__file__).resolve().parents[2] / "examples" / "paths" / "ndpr_floor_2026_2035.toml"
)


def _ndpr_levy_solves(draw: int) -> list[list[Any]]:
    """The stages of every yearly solve of the NdPr example's variable levy in draw ``draw``
    (with the draw's shocks), as :class:`YearSolver` solves them (the floor at 1.56 times the
    baseline price: hundreds of pairs reach it on the way from the baseline)."""
    sc = load_scenario(NDPR_PATHS)
    assert sc.paths is not None
    model = path_model(sc, _world(), sc.paths)
    years = list(range(2025, 2036))
    T, S, E = len(years), len(model.stages), len(model.events)
    z, u = draw_inputs(sc.paths.seed, draw, T, S, E)
    mk = model.stages[model.floor_stage].market
    R0 = mk.V.sum(axis=1)
    fit = fit_shocks(model.mineral, mk.eta, float((R0 * mk.eps).sum() / R0.sum()))
    assert fit is not None
    seen: list[list[Any]] = []
    y = YearSolver(model)
    solve_year = y.solve

    def keep_stages(H: np.ndarray, A: np.ndarray, variant: str, *rest: Any) -> ChainSolution:
        template, _ = y._template(variant, *rest)
        seen.append([st.with_shifts(A[k], H[k]) for k, st in enumerate(template)])
        return solve_year(H, A, variant, *rest)

    y.solve = keep_stages  # type: ignore[method-assign]
    sd = (fit.sd_demand, fit.sd_output)
    simulate_path(model, sc.paths, "variable_levy", years, z, u, sd, solver=y)
    return seen


@pytest.mark.parametrize("draw", [2, 16])
def test_ndpr_levy_years_with_hundreds_of_floor_kinks_converge_in_few_steps(draw: int) -> None:
    """Draws 2 and 16 each had a yearly solve (2033, 2029) that stopped at the iteration limit
    of every attempt while the line search always stopped at the first floor kink on the way
    (one or two floors crossed per step): 9 of the example's 100 draws were left out of the
    variable levy's figures (the single-market solver got there only by Levenberg-Marquardt,
    after 369 steps). Every yearly solve of those draws now converges, with the chain solver
    and with the single-market solver, which agree, in 7-50 steps (those two years: 12-18)."""
    solves = _ndpr_levy_solves(draw)
    assert len(solves) >= 11
    for stages in solves:
        chain = solve_chain(stages)
        assert chain.converged and chain.iterations <= 60, chain.message
        st = stages[0]
        policy = replace(st.policy, supply_shift=st.supply_shift, demand_shift=st.demand_shift)
        alone = solve(st.market, policy)
        assert alone.converged and alone.iterations <= 60, alone.message
        assert np.allclose(alone.pi, chain.stages[0].pi, rtol=1e-9, atol=0.0)


def test_a_chain_path_whose_years_stall_at_rounding_level_keeps_its_draws() -> None:
    """The rare-earth chain (compounds, metals, magnets) with a magnet floor of USD 46,000/t:
    in some years a producer's value added is nearly gone, and its year stalls at a residual
    of 1e-12 to 1e-11 (float64's rounding there). Solved to 1e-12, 2 of these 6 levy draws
    were left out; to the paths' tolerance (1e-10, a relative market imbalance) none is."""
    sc = {
        "name": "rare-earth chain path",
        "zone": ZONE,
        "chain": [{"id": "rare_earths"}],
        "paths": {
            "product": "permanent_magnets",
            "floor_usd_per_t": 46000,
            "years": "2025-2035",
            "start_year": 2026,
            "draws": 6,
            "mechanisms": ["variable_levy"],
        },
    }
    res = run_paths(sc, workers=1, world=_world()).to_dict()
    assert res["mechanisms"]["variable_levy"]["converged_draws"] == 6
    assert not [n for n in res["notes"] if "did not converge" in n]


@pytest.mark.parametrize(
    ("stage", "key"), [("refine", "lithium_carbonate"), ("mine", "lithium_ores")]
)
def test_a_chain_stage_names_the_floored_market(stage: str, key: str) -> None:
    """``paths.product`` may name a stage of a chain (``refine``), as docs/paths.md says and as
    a policy's ``stage`` does: the same market and the same path as naming its product (the
    stage's name was refused: "not a product or chain stage here")."""
    sc = {
        "name": "chain",
        "zone": ZONE,
        "chain": [{"id": "lithium"}],
        "paths": {"floor_usd_per_t": 20000, "years": "2025-2027", "draws": 0, **QUIET},
    }
    by_stage = load_scenario(sc | {"paths": sc["paths"] | {"product": stage}})
    by_product = load_scenario(sc | {"paths": sc["paths"] | {"product": key}})
    assert by_stage.paths is not None and by_product.paths is not None
    model = path_model(by_stage, _world(), by_stage.paths)
    assert model.info[model.floor_stage].key == key
    a = run_paths(by_stage, world=_world()).to_dict()
    b = run_paths(by_product, world=_world()).to_dict()
    assert a["market"] == b["market"] and a["mechanisms"] == b["mechanisms"]


LEFT_OUT = [
    ({"type": "export_licensing", "exporters": ["CHL"], "grant_share": 0.1}, "export licences"),
    (
        {"type": "export_quota", "exporters": ["CHL"], "importers": "members"}
        | {"share_of_baseline": 0.1},
        "by destination",
    ),
    (
        {"type": "export_ban", "exporters": ["CHL"], "importers": ["USA"]}
        | {"leak_via": ["ARG"], "leak_share": 0.5},
        "leak_via",
    ),
]


@pytest.mark.parametrize(("policy", "words"), LEFT_OUT)
def test_instruments_the_paths_do_not_model_are_named_as_left_out(
    policy: dict[str, Any], words: str
) -> None:
    """Licences, destination quotas and leakage are not in the chain solver the paths use:
    each is named in a ``left out:`` warning (they were dropped without a word, the figures
    equal to those without them while ``critmin simulate`` applied them)."""
    base = scenario({"draws": 0, "years": "2025-2027", **QUIET})
    plain = run_paths(base, world=_world())
    res = run_paths(base | {"policy": [policy]}, world=_world())
    assert [n for n in res.notes if n.startswith("left out:")] == [
        n for n in res.notes if "policy[0]" in n
    ]
    assert any(n.startswith("left out: policy[0]") and words in n for n in res.notes)
    assert res.to_dict()["mechanisms"] == plain.to_dict()["mechanisms"]  # what "left out" means
    shock = run_paths(
        base | {"shock": [{"type": "demand", "countries": "all", "change": 1.0}]}, world=_world()
    )
    assert any(n.startswith("left out: shock[0]") for n in shock.notes)
    assert not any(n.startswith("left out:") for n in plain.notes)


def test_settings_and_disruptions_that_do_nothing_in_the_paths_are_warned_of() -> None:
    """An offtake without budget or stockpile target buys nothing; a disruption with
    probability 0 never fires: each is a ``no effect:`` warning (they were silent)."""
    res = run_paths(
        scenario(
            {"draws": 0, "years": "2025-2027", "offtake_budget_usd": 0, **QUIET},
            [{"exporters": ["CHN"], "importers": "members", "probability": 0.0}],
        ),
        world=_world(),
    )
    assert "no effect: paths.offtake_budget_usd = 0: the offtake mechanism buys nothing" in (
        res.notes
    )
    assert any(
        n.startswith("no effect: disruption[0]") and "no draw fires it (probability 0)" in n
        for n in res.notes
    )
    days = run_paths(
        scenario({"draws": 0, "years": "2025-2027", "stockpile_target_days": 0, **QUIET}),
        world=_world(),
    )
    assert any("stockpile_target_days = 0" in n for n in days.notes)
    fine = run_paths(scenario({"draws": 0, "years": "2025-2027", **QUIET}), world=_world())
    assert not any(n.startswith("no effect:") for n in fine.notes)


def test_a_disruption_that_cuts_buyers_off_says_so() -> None:
    """A ban of every exporter on the zone leaves members without a domestic output with no
    supplier in the years it fires: a ``cut off:`` warning names them (there was only a
    numerical warning about an invalid subtraction, and '-' for the zone buyers' cost)."""
    res = run_paths(
        scenario(
            {"draws": 0, "years": "2025-2027", **QUIET},
            [{"exporters": "all", "importers": "members", "probability": 1.0}],
        ),
        world=_world(),
    )
    cut = [n for n in res.notes if n.startswith("cut off: disruption[0]")]
    assert len(cut) == 1 and "buyer(s) of lithium_carbonate with no supplier (" in cut[0], res.notes
    quiet = run_paths(
        scenario(
            {"draws": 0, "years": "2025-2027", **QUIET},
            [{"exporters": ["CHN"], "importers": "members", "probability": 1.0}],
        ),
        world=_world(),
    )
    assert not any(n.startswith("cut off:") for n in quiet.notes)


def test_a_disruption_that_removes_no_trade_never_fires() -> None:
    """A ban by a country that sells nothing to the zone (ISL), every year: it removes no
    trade, so it is a ``no effect`` warning and the paths equal those without it (it counted as
    a disruption every year, and the offtake agency, which does not buy in such years, bought
    nothing: its figures were all zero)."""
    paths = {"draws": 0, "years": "2025-2028", **QUIET}
    none = run_paths(scenario(paths), world=_world()).to_dict()
    isl = run_paths(
        scenario(paths, [{"exporters": ["ISL"], "importers": "members", "probability": 1.0}]),
        world=_world(),
    )
    assert any(n.startswith("no effect: disruption[0]") for n in isl.notes), isl.notes
    assert isl.to_dict()["mechanisms"] == none["mechanisms"]
    assert none["mechanisms"]["offtake"]["npv"]["fiscal_cost_usd"]["expected"] > 0


def test_the_scenarios_own_warnings_are_in_the_paths_notes() -> None:
    """A policy that does nothing warns in the paths as in ``critmin simulate`` (the paths
    said nothing), once."""
    tariff = {"type": "tariff", "exporters": ["ISL"], "rate": 0.5}
    res = run_paths(
        scenario({"draws": 0, "years": "2025-2026", **QUIET}) | {"policy": [tariff]},
        world=_world(),
    )
    own = [n for n in res.notes if n.startswith("no effect: policy[0] (tariff)")]
    assert len(own) == 1, res.notes


SUBSIDY_1E8 = {"type": "price_floor", "mechanism": "producer_subsidy", "price_usd_per_t": 1e8}


@pytest.mark.parametrize(
    "market",
    [
        {"product": [{"id": "lithium_carbonate"}]},
        {"chain": [{"id": "lithium"}], "paths": {"product": "lithium_carbonate"}},
    ],
    ids=["product", "chain"],
)
def test_the_scenarios_own_extreme_results_are_warned_of_as_simulate_does(
    market: dict[str, Any],
) -> None:
    """A producer subsidy of USD 1e8/t of the scenario's own (a floor 7,000 times the
    market) drives an output 987-fold and a price down 100%: the paths say so once, in
    ``critmin simulate``'s words for each market (the paths were silent; only a paths
    floor far above the market was warned of), and say that it is the scenario's policies."""
    base = scenario({"draws": 0, "years": "2025-2026", **QUIET})
    sc = base | market | {"paths": base["paths"] | market.get("paths", {})}
    if "chain" in market:
        del sc["product"]
    extreme = sc | {"policy": [SUBSIDY_1E8 | ({"stage": "refine"} if "chain" in market else {})]}
    where = "under the scenario's own policies (the base year, without the paths' floor): "
    want = [
        f"extreme: {key} {where}{note.removeprefix('extreme: ')}"
        for key, product in simulate(extreme, _world()).to_dict()["products"].items()
        for note in product["notes"]
        if note.startswith("extreme:")
    ]
    assert any("lithium_carbonate" in w and "987-fold" in w for w in want), want
    got = run_paths(extreme, world=_world()).notes
    assert [n for n in got if n.startswith("extreme:")] == want
    assert not any(n.startswith("extreme:") for n in run_paths(sc, world=_world()).notes)


def test_the_scenarios_own_subsidy_is_a_fiscal_cost_in_every_path() -> None:
    """A scenario's own producer subsidy is paid in every path. Only the producer_subsidy and
    price_gap paths counted it (their year's subsidy cost holds it): the path without a floor
    and the levy path showed a fiscal cost of 0, so the two subsidy mechanisms looked dearer
    by its cost. Now every path's fiscal cost is the year's zone subsidies (plus what the
    mechanism pays otherwise), and without a floor it is that subsidy's cost alone."""
    own = {"type": "price_floor", "mechanism": "producer_subsidy", "price_usd_per_t": 14000}
    sc = load_scenario(scenario(QUIET) | {"policy": [own]})
    assert sc.paths is not None
    model = path_model(sc, _world(), sc.paths)
    mem = model.members
    for mech in ("none", "variable_levy", "producer_subsidy"):
        keep: list[ChainSolution] = []
        path = central(model, sc.paths, mech, keep)
        subsidies = [float(sum(st.subsidy_cost[mem].sum() for st in sol.stages)) for sol in keep]
        assert path["fiscal_cost_usd"] == pytest.approx(subsidies, rel=1e-12), mech
        assert min(subsidies) > 0.0, mech  # the own subsidy binds in every year
    plain_model, settings = model_of(QUIET)
    assert (central(plain_model, settings, "none")["fiscal_cost_usd"] == 0.0).all()


def test_a_mechanisms_fiscal_cost_is_what_it_adds_to_the_scenarios_own_subsidy() -> None:
    """Each measure of a mechanism is its path's minus the no-floor path's of the same draw;
    the fiscal cost was the path's own, so once every path counted the scenario's own subsidy
    a variable levy (which costs taxpayers nothing) showed that subsidy's cost as its own."""
    own = {"type": "price_floor", "mechanism": "producer_subsidy", "price_usd_per_t": 14000}
    sc = scenario(QUIET | {"mechanisms": ["variable_levy", "producer_subsidy"]})
    plain = run_paths(sc, workers=1, world=_world()).to_dict()["mechanisms"]
    subsidised = run_paths(sc | {"policy": [own]}, workers=1, world=_world()).to_dict()
    npv = {m: v["npv"]["fiscal_cost_usd"]["expected"] for m, v in plain.items()}
    both = {m: v["npv"]["fiscal_cost_usd"]["expected"] for m, v in subsidised["mechanisms"].items()}
    assert npv["variable_levy"] == 0.0 and npv["producer_subsidy"] > 0.0
    # the levy lifts zone prices, so the own subsidy (a floor under them) costs less, not more
    assert both["variable_levy"] <= 0.0
    assert 0.0 < both["producer_subsidy"] <= npv["producer_subsidy"]


def test_years_allow_at_most_sixty_years_counting_both_ends() -> None:
    """``years`` promised "at most 60 years" but took 2024-2084 (61 yearly equilibria: both
    ends are years of the path); 2024-2083 is 60."""
    from critmin.scenario.paths_settings import MAX_YEARS, parse_years

    assert MAX_YEARS == 60
    assert parse_years("2024-2083") == (2024, 2083)
    with pytest.raises(ValueError, match="at most 60 years"):
        parse_years("2024-2084")
    with pytest.raises(ValueError, match="first < last"):
        parse_years("2030-2030")


def test_a_mechanisms_settings_without_that_mechanism_warn() -> None:
    """``cfd_term_years`` and ``cfd_volume_cap_t`` without ``producer_subsidy``, the offtake's
    budget, stockpile and release settings without ``offtake``: each changed nothing, in
    silence. Each is now a ``no effect:`` warning naming the mechanism that reads it; settings
    left at their defaults (or their mechanism compared) say nothing."""
    from critmin.paths.run import idle_mechanisms
    from critmin.scenario.paths_settings import PathsSettings

    given = {
        "cfd_volume_cap_t": 1000.0,
        "cfd_term_years": 5,
        "offtake_budget_usd": 2e9,
        "stockpile_target_days": 30.0,
        "release_price_ratio": 2.0,
        "release_days": 10.0,
    }
    only_levy = PathsSettings(floor_usd_per_t=20000, mechanisms=["variable_levy"], **given)
    notes = idle_mechanisms(only_levy)
    assert len(notes) == len(given)
    for name, note in zip(given, notes, strict=True):
        assert note.startswith(f"no effect: paths.{name} = ") and "variable_levy" in note
    assert "only the producer_subsidy mechanism reads it" in notes[0]
    assert "only the offtake mechanism reads it" in notes[-1]
    assert idle_mechanisms(PathsSettings(floor_usd_per_t=20000, mechanisms=["price_gap"])) == []
    assert idle_mechanisms(PathsSettings(floor_usd_per_t=20000, **given)) == []
    result = run_paths(
        scenario(
            {"draws": 0, "years": "2025-2026", "mechanisms": ["variable_levy"], **QUIET}
            | {"cfd_term_years": 5}
        ),
        workers=1,
    )
    assert any(n.startswith("no effect: paths.cfd_term_years = 5") for n in result.notes)
