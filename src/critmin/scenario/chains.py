"""Resolution of ``[[chain]]``: a catalog chain (or a user's own) -> linked stage markets.

For each chain of the scenario: every step's product is calibrated (:mod:`critmin.baseline`;
several products at one step, e.g. lithium carbonate and hydroxide, are summed into one stage
market), the stages are put on one country list (the union), each stage gets its elasticities
and its policy from the existing :func:`critmin.scenario.resolution.resolve_elasticities` and
:func:`critmin.scenario.resolution.build_policy` (with the scenario's policies that target it:
``stage`` = the step's stage or a product id of the step, and ``products``), the input cost
shares are calibrated, by-products are linked to their host, shocks become supply shifts, and a
``[zone.origin]`` rule becomes each member's qualifying share and the policy facing the rest.

Input cost share of a step (an estimate, said so in the notes): ``a = c x (p_in / k_in) /
(p_out / k_out)``, with ``c`` the catalog's input coefficient (t of the previous step's
content per t of this step's content), ``p`` the stages' baseline unit values (USD/t of
product, value-weighted over pairs) and ``k`` their content factors; capped at 0.9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin import catalog
from critmin.baseline import ProductBaseline, bundled_baseline, user_baseline
from critmin.errors import CritminError, ScenarioError
from critmin.model.core import Market, Policy
from critmin.scenario.origin_notes import idle_origin_note, origin_bites, unqualified_subsidy_notes
from critmin.scenario.resolution import (
    Elasticities,
    ResolvedProduct,
    build_policy,
    default_elasticity_notes,
    entry_notes,
    resolve,
    resolve_elasticities,
    select_countries,
    zone_codes,
)
from critmin.scenario.spec import ChainShock, ChainSpec, ProductSpec, Scenario
from critmin.world import World, world_for

if TYPE_CHECKING:  # the linked-chain model is imported when a scenario has chains, so that
    # single-market runs (which import this module for resolve_single_markets) skip it
    from critmin.model.chain import ChainStage, Link

__all__ = [
    "MAX_INPUT_SHARE",
    "ResolvedChain",
    "ResolvedStage",
    "StepDef",
    "resolve_chains",
    "resolve_single_markets",
    "single_market_scenario",
]

MAX_INPUT_SHARE = 0.9
"""Input cost shares above this (inconsistent unit values) are capped, with a note."""


@dataclass(frozen=True)
class StepDef:
    """One step of a chain before calibration."""

    stage: str
    product_ids: tuple[str, ...]
    input_coefficient: float | None
    input_cost_share: float | None = None
    byproduct: bool = False
    recovery_share: float | None = None  # catalog: t of by-product per t of host output


@dataclass
class ResolvedStage:
    """A chain stage ready to solve."""

    key: str
    stage: str
    product_ids: tuple[str, ...]
    baseline: ProductBaseline
    elasticities: Elasticities
    policy: Policy
    link: Link
    input_share: np.ndarray
    supply_shift: np.ndarray
    origin_share: np.ndarray | None = None
    alt_policy: Policy | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def market(self) -> Market:
        el = self.elasticities
        return Market(
            V=self.baseline.V,
            t0=self.baseline.t0,
            sigma=el.sigma,
            eta=el.eta,
            eps=el.eps,
            countries=tuple(self.baseline.countries),
            name=self.key,
        )

    def model_stage(self) -> ChainStage:
        from critmin.model.chain import ChainStage

        return ChainStage(
            market=self.market,
            policy=self.policy,
            link=self.link,
            input_share=self.input_share,
            supply_shift=self.supply_shift,
            origin_share=self.origin_share,
            alt_policy=self.alt_policy,
            name=self.key,
        )


@dataclass
class ResolvedChain:
    """A chain ready to solve: its stages on one country list."""

    id: str
    mineral: str
    countries: list[str]
    stages: list[ResolvedStage]
    members: np.ndarray
    watch: np.ndarray
    notes: list[str] = field(default_factory=list)

    def model_stages(self) -> list[ChainStage]:
        return [s.model_stage() for s in self.stages]


# --------------------------------------------------------------------------------------------
# the catalog


def _catalog_steps(chain_id: str, field_name: str) -> tuple[str, list[StepDef]]:
    """The mineral and steps of a catalog chain (``critmin.catalog.chains()``)."""
    chains = catalog.chains()
    if chain_id not in chains:
        raise ScenarioError(
            field_name, f"unknown chain {chain_id!r}; known: {', '.join(sorted(chains))}"
        )
    ch = chains[chain_id]
    hosts = {(b.product_id, b.host_product_id): b.recovery_share for b in catalog.byproducts()}
    steps: list[StepDef] = []
    for k, st in enumerate(sorted(ch.steps, key=lambda s: s.step)):
        prev = steps[-1].product_ids if steps else ()
        byp = k > 0 and all(any((p, h) in hosts for h in prev) for p in st.product_ids)
        shares = [hosts[(p, h)] for p in st.product_ids for h in prev if (p, h) in hosts]
        steps.append(
            StepDef(
                stage=st.stage,
                product_ids=tuple(st.product_ids),
                input_coefficient=st.input_coefficient,
                byproduct=byp,
                recovery_share=shares[0] if byp and shares else None,
            )
        )
    return str(ch.mineral), steps


def _user_steps(spec: ChainSpec, scenario: Scenario, field_name: str) -> list[StepDef]:
    ids = {p.id for p in scenario.product}
    steps = []
    for k, st in enumerate(spec.step):
        if st.product not in ids:
            raise ScenarioError(
                f"{field_name}.step[{k}].product",
                f"{st.product!r} is not a product of the scenario "
                + (
                    f"({', '.join(sorted(ids))})"
                    if ids
                    else "(it has none: list the chain's products in [[product]])"
                ),
            )
        linked = k > 0 and not st.byproduct
        if linked and st.input_coefficient is None and st.input_cost_share is None:
            raise ScenarioError(
                f"{field_name}.step[{k}]",
                "give input_cost_share (or input_coefficient with baseline prices), "
                "or byproduct = true",
            )
        stage = st.stage or ("mine" if k == 0 else "refine")
        if stage not in catalog.STAGES:
            raise ScenarioError(
                f"{field_name}.step[{k}].stage",
                f"{stage!r} is not a stage; expected one of {', '.join(catalog.STAGES)}",
            )
        steps.append(
            StepDef(stage, (st.product,), st.input_coefficient, st.input_cost_share, st.byproduct)
        )
    return steps


def user_chain_products(scenario: Scenario) -> set[str]:
    """``[[product]]`` ids that are steps of a user's own chain (solved in the chain)."""
    return {st.product for ch in scenario.chain for st in ch.step}


# --------------------------------------------------------------------------------------------
# baselines


def _step_baseline(
    world: World, scenario: Scenario, pids: tuple[str, ...], field_name: str
) -> ProductBaseline | str:
    """One stage's baseline: a product's, or the sum of several products' at one step; the
    reason why not when no bundled product of the step has usable trade data."""
    specs = {p.id: p for p in scenario.product}
    bases = []
    skipped: list[str] = []
    for pid in pids:
        sp = specs.get(pid)
        if sp is not None and sp.flows:
            path = Path(sp.flows)
            path = path if path.is_absolute() else scenario.base_dir / path
            bases.append(
                user_baseline(pid, path, sp.baseline_price_usd_per_t, f"{field_name}.flows")
            )
        else:
            try:
                world.product_record(pid)
            except CritminError as err:
                raise ScenarioError(field_name, str(err)) from None
            price = sp.baseline_price_usd_per_t if sp is not None else None
            try:
                bases.append(bundled_baseline(world, pid, price))
            except CritminError as err:
                skipped.append(f"{pid} left out: {err}")
    if not bases:
        return "; ".join(skipped)
    if len(bases) == 1:
        bases[0].warnings.extend(skipped)
        return bases[0]
    codes = sorted({c for b in bases for c in b.countries})
    padded = [pad_baseline(b, codes) for b in bases]
    V = sum(b.V for b in padded)
    assert isinstance(V, np.ndarray)
    p0 = _pair_unit_values(padded)
    fill = float(np.nanmean([np.nanmedian(b.p0) for b in bases]))
    p0 = np.where(V > 0, p0, fill)
    first = bases[0]
    return ProductBaseline(
        product_id="+".join(b.product_id for b in bases),
        name=" + ".join(b.name for b in bases),
        countries=codes,
        V=V,
        t0=np.zeros_like(V),
        p0=np.asarray(p0, dtype=float),
        product_class=first.product_class,
        stage=first.stage,
        mineral=first.mineral,
        hs6="+".join(b.hs6 for b in bases),
        warnings=[w for b in bases for w in b.warnings]
        + [f"one stage market: the sum of {', '.join(b.product_id for b in bases)} (USD)"]
        + skipped,
        estimated_domestic=sorted({c for b in bases for c in b.estimated_domestic}),
        sources=sorted({s for b in bases for s in b.sources}),
    )


def _pair_unit_values(bases: list[ProductBaseline]) -> np.ndarray:
    """Each pair's unit value (USD/t) of several products summed into one stage market (the
    same country list): its value over its tonnes, ``sum_k V_k / sum_k (V_k / p0_k)`` over the
    products with a unit value, so that a floor in USD/t and the stage's unit value
    (:func:`unit_value`) divide USD by the tonnes traded (a value-weighted mean of the unit
    values would overstate them: nickel matte at USD 7,952/t and intermediates at USD 3,403/t,
    one dollar each, are 2 USD for 0.00042 t, USD 4,766/t, not 5,677); NaN where none has one."""
    value = np.zeros_like(bases[0].V)
    tonnes = np.zeros_like(bases[0].V)
    for b in bases:
        known = (b.V > 0) & np.isfinite(b.p0) & (b.p0 > 0)
        value += np.where(known, b.V, 0.0)
        tonnes += np.where(known, b.V / np.where(known, b.p0, 1.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(tonnes > 0, value / tonnes, np.nan), dtype=float)


def pad_baseline(base: ProductBaseline, codes: list[str]) -> ProductBaseline:
    """``base`` on the country list ``codes`` (a superset): zero flows for the new ones."""
    if base.countries == codes:
        return base
    pos = np.array([codes.index(c) for c in base.countries], dtype=np.intp)
    n = len(codes)
    V = np.zeros((n, n))
    t0 = np.zeros((n, n))
    fill = float(np.nanmedian(base.p0)) if np.isfinite(base.p0).any() else np.nan
    p0 = np.full((n, n), fill)
    ix = np.ix_(pos, pos)
    V[ix] = base.V
    t0[ix] = base.t0
    p0[ix] = base.p0
    return replace(base, countries=list(codes), V=V, t0=t0, p0=p0)


def unit_value(base: ProductBaseline) -> float:
    """Baseline unit value (USD/t of product), value-weighted over the trading pairs."""
    ok = (base.V > 0) & np.isfinite(base.p0) & (base.p0 > 0)
    if not ok.any():
        return float("nan")
    return float(base.V[ok].sum() / (base.V[ok] / base.p0[ok]).sum())


def _content_factor(world: World, pids: tuple[str, ...]) -> float:
    """Content factor ``k`` of a stage market (t of content per t of product): its product's,
    or for several products summed into one market their mean weighted by the tonnes each
    trades, ``sum_k k_k T_k / sum_k T_k`` with ``T_k = sum V / p0`` over its pairs (the
    stage's unit value divides its USD by the same tonnes, :func:`_pair_unit_values`: nickel
    matte at 0.7 and intermediates at 0.35, traded 5.1 and 10.3 Mt, are 0.465, not 0.525);
    1 where unknown."""
    try:  # the products table's records: no pandas
        raw = [world.product_record(p)["content_factor"] for p in pids]
        vals = [math.nan if v is None else float(v) for v in raw]
    except (CritminError, KeyError, TypeError, ValueError):
        return 1.0
    weights = [_tonnes(world, p) if len(pids) > 1 else 1.0 for p in pids]
    ok = [(v, t) for v, t in zip(vals, weights, strict=True) if np.isfinite(v) and v > 0]
    if not ok:
        return 1.0
    if not all(np.isfinite(t) and t > 0 for _, t in ok):  # no tonnes to weigh by
        return float(np.mean([v for v, _ in ok]))
    return float(sum(v * t for v, t in ok) / sum(t for _, t in ok))


def _tonnes(world: World, pid: str) -> float:
    """Tonnes a bundled product trades in the baseline (``sum V / p0`` over its pairs with a
    unit value); NaN where it has none."""
    try:
        base = bundled_baseline(world, pid, None)
    except CritminError:
        return math.nan
    ok = (base.V > 0) & np.isfinite(base.p0) & (base.p0 > 0)
    return float((base.V[ok] / base.p0[ok]).sum()) if ok.any() else math.nan


def _input_share(
    world: World, step: StepDef, base: ProductBaseline, prev_base: ProductBaseline
) -> tuple[float, str]:
    """The step's input cost share and how it was obtained.

    The content factors ``k`` are those of the products in the two stage markets
    (``base.product_id``, ``"<id>+<id>"`` for several), the same products whose unit values
    ``p`` enter: a product of the step left out for want of trade data (lithium hydroxide) is
    in neither."""
    if step.input_cost_share is not None:
        return float(step.input_cost_share), "input cost share given in the scenario"
    coef = float(step.input_coefficient or 0.0)
    p_out, p_in = unit_value(base), unit_value(prev_base)
    k_out = _content_factor(world, tuple(base.product_id.split("+")))
    k_in = _content_factor(world, tuple(prev_base.product_id.split("+")))
    if not (np.isfinite(p_out) and np.isfinite(p_in) and p_out > 0):
        return 0.0, "no unit values to calibrate the input cost share: set to 0 (no link)"
    share = coef * (p_in / k_in) / (p_out / k_out)
    how = (
        f"estimate: input cost share {min(share, MAX_INPUT_SHARE):.3f} = coefficient {coef:g} x "
        f"input USD {p_in:,.0f}/t (content {k_in:g}) / output USD {p_out:,.0f}/t "
        f"(content {k_out:g}), baseline unit values"
    )
    if share > MAX_INPUT_SHARE:
        how += f" (capped at {MAX_INPUT_SHARE} from {share:.2f}: the unit values are inconsistent)"
    return min(share, MAX_INPUT_SHARE), how


# --------------------------------------------------------------------------------------------
# policies


def _targets(pol: Any, stage: str, pids: tuple[str, ...], key: str) -> bool:
    """Whether a scenario policy applies to a chain stage (``stage`` and ``products``)."""
    names = {stage, key, *pids}
    if pol.stage is not None and pol.stage not in names:
        return False
    return pol.products is None or bool(set(pol.products) & names)


def single_market_scenario(scenario: Scenario) -> Scenario:
    """The scenario's ``[[product]]`` markets alone: without its chains, the products that are
    steps of a user's chain, and the policies that target a chain stage (``stage`` names a
    chain's stage: without a ``[[chain]]`` it is an error, not a policy on every product)."""
    if not scenario.chain:  # a stage without a chain is refused by the scenario's validation
        return scenario
    in_chain = user_chain_products(scenario)
    products = [p for p in scenario.product if p.id not in in_chain]
    ids = {p.id for p in products}
    keep = [
        k
        for k, p in enumerate(scenario.policy)
        if p.stage is None and (p.products is None or set(p.products) & ids)
    ]
    return scenario.keeping_policies(keep, chain=[], product=products)


def resolve_single_markets(
    scenario: Scenario, world: World | None = None
) -> tuple[World, list[ResolvedProduct]]:
    """:func:`critmin.scenario.resolution.resolve` on :func:`single_market_scenario` (nothing
    to resolve when every product is a step of a user's chain). The warnings on settings for
    every market are given here when the scenario has no chains, else by
    :func:`resolve_chains` when it has no single markets (of a scenario with both, neither
    sees all its markets: a ``defaults.supply_elasticity`` country is not checked there)."""
    single = single_market_scenario(scenario)
    if not single.product:
        return world_for(world, scenario.year), []
    return resolve(single, world, all_markets=not scenario.chain)


def _check_targets(scenario: Scenario, chain_products: set[str], stages: set[str]) -> None:
    known = {p.id for p in scenario.product} | chain_products
    for k, pol in enumerate(scenario.policy):
        for pid in pol.products or []:
            if pid not in known:
                raise ScenarioError(
                    f"policy[{k}].products",
                    f"product {pid!r} is not a product of the scenario or its chains "
                    f"({', '.join(sorted(known))})",
                )
        if pol.stage is not None and pol.stage not in stages | chain_products:
            raise ScenarioError(
                f"policy[{k}].stage",
                f"{pol.stage!r} is not a stage of the scenario's chains "
                f"({', '.join(sorted(stages))}) or one of their products",
            )


def _stage_policy(
    world: World,
    scenario: Scenario,
    base: ProductBaseline,
    stage: str,
    pids: tuple[str, ...],
    members: np.ndarray,
    watch: np.ndarray,
    notes: list[str],
) -> Policy:
    """The stage's policy arrays from :func:`build_policy` with the policies that target it."""
    keep = [k for k, p in enumerate(scenario.policy) if _targets(p, stage, pids, base.product_id)]
    pols = [scenario.policy[k].model_copy(update={"products": None}) for k in keep]
    sub = scenario.keeping_policies(keep, pols)
    policy = build_policy(world, sub, base, members, watch, notes)
    if policy.has_groups or policy.has_shifts:
        raise ScenarioError(
            "shock" if policy.has_shifts else "policy",
            f"stage {stage} of a chain: destination quotas, export licensing, leaky bans and "
            "[[shock]] tables are solved on single product markets only; the linked-chain model "
            "does not take them yet (give the product as a [[product]] market; a chain's own "
            "output shocks are [[chain.shock]])",
        )
    return policy


def _origin(
    world: World,
    scenario: Scenario,
    rc: ResolvedChain,
) -> None:
    """Apply ``[zone.origin]``: each member's qualifying share and, for the rest, the policy it
    would face as a non-member (tariffs, levies, no subsidy)."""
    rule = scenario.zone.origin
    if rule is None:
        return
    members = rc.members
    from critmin.model.chain import origin_shares

    phi = origin_shares(rc.model_stages(), members, rule.rule, rule.rvc_threshold)
    bites = False  # whether a member's non-qualifying output faces another policy anywhere
    short = False  # whether any member producer falls short of the rule
    for s, st in enumerate(rc.stages):
        share = np.where(members, phi[s], 1.0)
        short |= bool((members & (st.baseline.V.sum(axis=1) > 0) & (share < 1.0)).any())
        if (share >= 1.0).all():
            continue
        main = st.policy.resolve(st.market)
        t1, banned = main.t1.copy(), main.banned.copy()
        levy, sub = main.levy_floor.copy(), main.subsidy_floor.copy()
        for i in np.flatnonzero(share < 1.0):
            others = members.copy()
            others[i] = False
            as_outsider = _stage_policy(
                world, scenario, st.baseline, st.stage, st.product_ids, others, rc.watch, []
            ).resolve(st.market)
            t1[i], banned[i] = as_outsider.t1[i], as_outsider.banned[i]
            levy[i], sub[i] = as_outsider.levy_floor[i], 0.0
        st.alt_policy = Policy(
            t1=t1, banned=banned, levy_floor=levy, subsidy_floor=sub, export_cap=main.export_cap
        )
        st.origin_share = share
        producers = members & (st.baseline.V.sum(axis=1) > 0)
        out = producers & (share < 1.0)
        st.notes.append(
            f"rule of origin {rule.rule}"
            + (f" (threshold {rule.rvc_threshold:g})" if rule.rule == "rvc" else "")
            + f": {int(out.sum())} of {int(producers.sum())} member producers do not fully "
            "qualify; their non-qualifying output is treated as non-member supply"
        )
        st.notes.extend(unqualified_subsidy_notes(st, producers, share, main.subsidy_floor))
        bites |= origin_bites(st, out, main, st.alt_policy.resolve(st.market))
    if not bites:
        rc.notes.append(idle_origin_note(rule.rule, rule.rvc_threshold, short))


# --------------------------------------------------------------------------------------------


def _available(
    world: World, scenario: Scenario, steps: list[StepDef], k: int
) -> tuple[list[tuple[StepDef, ProductBaseline]], list[str]]:
    """The steps with trade data: from the first that has some to the last before a gap
    (a stage without data cuts the chain: its successors have no input market); notes on the
    steps left out."""
    kept: list[tuple[StepDef, ProductBaseline]] = []
    notes: list[str] = []
    cut = False
    own_flows = {p.id for p in scenario.product if p.flows}
    for j, st in enumerate(steps):
        if cut:
            notes.append(f"step {j + 1} ({', '.join(st.product_ids)}) left out: it follows a gap")
            continue
        got = _step_baseline(world, scenario, st.product_ids, f"chain[{k}].step[{j}]")
        if isinstance(got, str):
            notes.append(f"step {j + 1} ({', '.join(st.product_ids)}) has no market: {got}")
            cut = bool(kept)
            continue
        if not kept and j > 0:  # the first step with data: nothing before it to link to
            st = StepDef(st.stage, st.product_ids, None)
        if st.stage and all(pid in own_flows for pid in st.product_ids):
            got = replace(got, stage=st.stage)  # a user's market has no catalog stage: the step's
        kept.append((st, got))
    if not kept:
        raise ScenarioError(
            f"chain[{k}]", "no step of this chain has trade data: " + "; ".join(notes)
        )
    return kept, notes


def _check_shared_markets(scenario: Scenario, baselines: list[list[ProductBaseline]]) -> None:
    """Refuse two ``[[chain]]`` entries that both solve one product's market (their stages
    with trade data, :func:`_available`).

    Each chain is solved as its own system, so a shared market would be solved twice, with
    two different links (the gallium and germanium chains both end at HS 811292, one a
    by-product of alumina, the other of zinc concentrate), give two answers, and be counted
    twice in every total (zone welfare, revenue, self-sufficiency). User chains that feed
    each other (ore -> metal in one, metal -> ore in the other) are a cycle of stage links
    that no system of this model can solve; they are refused here too."""
    seen: dict[str, int] = {}
    for k, bases in enumerate(baselines):
        for base in bases:
            for pid in base.product_id.split("+"):
                first = seen.setdefault(pid, k)
                if first != k:
                    a, b = scenario.chain[first].id, scenario.chain[k].id
                    raise ScenarioError(
                        f"chain[{k}]",
                        f"chains {a!r} and {b!r} both have a stage market for {pid!r}: each "
                        "chain is solved on its own, so that market would be solved twice, "
                        "give two answers and count twice in the totals (and chains that feed "
                        "each other are a cycle of stage links); keep one of these chains in "
                        "the scenario, or simulate them in separate runs",
                    )


def _recovery(shock: ChainShock, step: StepDef, k: int, si: int) -> float:
    """A shock's capacity multiplier from recovery: ``recovery_multiplier``, or the new
    ``recovery_share`` over the catalog's (t of by-product per t of host output)."""
    if shock.recovery_share is None:
        return shock.recovery_multiplier
    if not step.byproduct or not step.recovery_share:
        raise ScenarioError(
            f"chain[{k}].shock[{si}].recovery_share",
            f"{shock.product!r} is not a by-product with a catalog recovery share: "
            "use recovery_multiplier",
        )
    return shock.recovery_multiplier * shock.recovery_share / step.recovery_share


def _idle_policies(scenario: Scenario, chains: list[ResolvedChain]) -> list[str]:
    """``no effect:`` notes on policies that select a stage or product (``stage``,
    ``products``) and so no market at all: none of the chains' stages (a stage and products
    that have no market in common, such as ``stage = "mine"`` with a refined product, or a
    stage without trade data) and none of the single markets."""
    stages = [s for rc in chains for s in rc.stages]
    singles = {p.id for p in scenario.product} - user_chain_products(scenario)
    out = []
    for k, pol in enumerate(scenario.policy):
        if pol.stage is None and pol.products is None:
            continue  # every market
        if any(_targets(pol, s.stage, s.product_ids, s.key) for s in stages):
            continue
        if pol.stage is None and set(pol.products or []) & singles:
            continue
        picked = " and ".join(
            part
            for part in (
                f"stage {pol.stage}" if pol.stage else "",
                f"products {', '.join(pol.products)}" if pol.products else "",
            )
            if part
        )
        out.append(
            f"no effect: policy[{k}] ({pol.type}) selects {picked}, which no market of the "
            "scenario is (a stage and products with no market in common, or without trade "
            "data): it changes nothing"
        )
    return out


def resolve_chains(scenario: Scenario, world: World) -> list[ResolvedChain]:
    """Every ``[[chain]]`` of the scenario, calibrated and with its policies."""
    if not scenario.chain:
        return []
    if scenario.tariffs is not None:
        raise ScenarioError(
            "tariffs",
            "baseline tariffs ([tariffs]) apply to single product markets only; the linked-chain "
            "model does not take them yet (remove [tariffs] or the [[chain]] tables)",
        )
    defs: list[tuple[ChainSpec, str, list[StepDef]]] = []
    for k, spec in enumerate(scenario.chain):
        fname = f"chain[{k}]"
        if spec.step:
            defs.append((spec, spec.id, _user_steps(spec, scenario, fname)))
        else:
            mineral, steps = _catalog_steps(spec.id, f"{fname}.id")
            defs.append((spec, mineral, steps))
    chain_products = {p for _, _, steps in defs for st in steps for p in st.product_ids}
    baselines: list[list[ProductBaseline]] = []
    dropped: list[list[str]] = []
    for k, (spec, _, steps) in enumerate(defs):
        kept, why = _available(world, scenario, steps, k)
        defs[k] = (spec, defs[k][1], [st for st, _ in kept])
        baselines.append([b for _, b in kept])
        dropped.append(why)
    _check_shared_markets(scenario, baselines)
    stage_names = {b.stage for bs in baselines for b in bs} | set(catalog.STAGES)
    _check_targets(scenario, chain_products, stage_names)
    user_codes = {
        c
        for p in scenario.product
        if p.flows
        for bs in baselines
        for b in bs
        if p.id in b.product_id.split("+")
        for c in b.countries
    }
    member_codes, watch_codes, in_both = zone_codes(world, scenario, user_codes)
    out = []
    for k, ((spec, mineral, steps), bases) in enumerate(zip(defs, baselines, strict=True)):
        codes = sorted({c for b in bases for c in b.countries})
        bases = [pad_baseline(b, codes) for b in bases]
        members = bases[0].index(member_codes)
        watch = bases[0].index(watch_codes)
        notes = (
            [f"zone.watch: {', '.join(in_both)} are zone members, not watch countries"]
            if in_both
            else []
        )
        stages: list[ResolvedStage] = []
        for j, (st, base) in enumerate(zip(steps, bases, strict=True)):
            stage_name = st.stage or base.stage
            snotes: list[str] = []
            pspec = next((p for p in scenario.product if p.id == base.product_id), None)
            el = resolve_elasticities(
                world,
                scenario,
                pspec or ProductSpec(id=base.product_id),
                base,
                f"chain[{k}]",
                snotes,
            )
            policy = _stage_policy(  # the products with a market here, as _idle_policies
                world, scenario, base, stage_name, tuple(base.product_id.split("+")),
                members, watch, snotes,
            )  # fmt: skip
            link: Link = "none"
            share = 0.0
            if j > 0 and st.byproduct:
                link = "byproduct"
                rec = (
                    f" (catalog recovery {st.recovery_share:.3g} t per t of host output)"
                    if st.recovery_share
                    else ""
                )
                snotes.append(
                    f"by-product of {steps[j - 1].product_ids[0]}: capacity follows its output{rec}"
                )
            elif j > 0:
                link = "input"
                share, how = _input_share(world, st, base, bases[j - 1])
                snotes.append(how)
                if st.input_cost_share == 0.0:  # legal (a sweep's end point): no link at all
                    notes.append(
                        f"no effect: chain[{k}].step[{j}].input_cost_share = 0: "
                        f"{base.product_id} buys nothing from {bases[j - 1].product_id}, so the "
                        "link does nothing: the two stages are solved as separate markets"
                    )
            shift = np.ones(len(codes))
            for si, shock in enumerate(spec.shock):
                if shock.product not in {base.product_id, *st.product_ids}:
                    continue
                mask = select_countries(
                    world, shock.countries, members, watch, base, f"chain[{k}].shock[{si}]"
                )
                factor = (1.0 + shock.output_change) * _recovery(shock, st, k, si)
                shift[mask] *= factor
                producing = mask & (base.V.sum(axis=1) > 0)
                if factor == 1.0 or not producing.any():  # legal, and it changes nothing
                    reason = (
                        "it leaves output as it is (a factor of 1)"
                        if factor == 1.0
                        else "none of the countries it selects produces "
                        f"{base.product_id.replace('_', ' ')}"
                    )
                    notes.append(f"no effect: chain[{k}].shock[{si}]: {reason}")
            stages.append(
                ResolvedStage(
                    key=base.product_id,
                    stage=stage_name,
                    product_ids=tuple(base.product_id.split("+")),
                    baseline=base,
                    elasticities=el,
                    policy=policy,
                    link=link,
                    input_share=np.full(len(codes), share),
                    supply_shift=shift,
                    notes=snotes,
                )
            )
        for si, shock in enumerate(spec.shock):
            if not any(shock.product in {s.key, *s.product_ids} for s in stages):
                raise ScenarioError(
                    f"chain[{k}].shock[{si}].product",
                    f"{shock.product!r} is not a product of chain {spec.id!r} "
                    f"({', '.join(s.key for s in stages)})",
                )
        notes.extend(dropped[k])
        rc = ResolvedChain(spec.id, mineral, codes, stages, members, watch, notes)
        _origin(world, scenario, rc)
        out.append(rc)
    if out:
        out[0].notes.extend(_idle_policies(scenario, out))
        if not single_market_scenario(scenario).product:  # the chains are all its markets
            markets = [st.baseline for rc in out for st in rc.stages]
            out[0].notes.extend(default_elasticity_notes(world, scenario, markets))
            placed = [st for chain in out for st in chain.stages]
            idle = entry_notes(
                world,
                scenario,
                [(st.baseline, chain.members, chain.watch) for chain in out for st in chain.stages],
                lambda pol, k: _targets(pol, placed[k].stage, placed[k].product_ids, placed[k].key),
                user_codes,
            )
            out[0].notes.extend(note for note, _ in idle)
    return out
