"""Resolution: a validated scenario and the world -> markets ready to solve.

``resolve(scenario, world)`` expands zone members and watch countries (codes and groups),
calibrates each product's baseline (:mod:`critmin.baseline`), resolves its elasticities
(product value > scenario default > cited class default) and turns the scenario's instruments into
the model's policy arrays. simulate, uncertainty, the report, the web and every later analysis
call this one function; nothing else selects countries or builds policy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from critmin.baseline import NoTradeError, ProductBaseline, bundled_baseline, user_baseline
from critmin.errors import (
    CritminError,
    DataIntegrityError,
    ScenarioError,
    UnknownCountryError,
    UnknownProductError,
)
from critmin.model.core import Market, Policy
from critmin.scenario import no_effect
from critmin.scenario.controls import is_control, market_shifts, resolve_controls
from critmin.scenario.spec import (
    ExportBanPolicy,
    ExportQuotaPolicy,
    PriceFloorPolicy,
    ProductSpec,
    Scenario,
    Selector,
    TariffPolicy,
)
from critmin.scenario.tariffs import apply_tariffs, resolve_tariffs
from critmin.world import World, world_for

__all__ = [
    "Elasticities",
    "ResolvedProduct",
    "build_policy",
    "default_elasticity_notes",
    "entry_notes",
    "resolve",
    "resolve_elasticities",
    "select_countries",
    "zone_codes",
    "zone_lists",
]


@dataclass(frozen=True)
class Elasticities:
    """Resolved parameters of one market."""

    sigma: float
    eta: float
    eps: np.ndarray


@dataclass
class ResolvedProduct:
    """A product ready to solve: its baseline, parameters and policy arrays."""

    spec: ProductSpec
    baseline: ProductBaseline
    elasticities: Elasticities
    policy: Policy
    members: np.ndarray
    watch: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def market(self) -> Market:
        return Market(
            V=self.baseline.V,
            t0=self.baseline.t0,
            sigma=self.elasticities.sigma,
            eta=self.elasticities.eta,
            eps=self.elasticities.eps,
            countries=tuple(self.baseline.countries),  # solver messages name ISO3 codes
        )


def class_default(world: World, product_class: str, parameter: str) -> float:
    row = world.elasticity_row(product_class, parameter)
    if row is None:
        raise DataIntegrityError(f"the elasticities table has no row for {parameter}")
    return float(row["default"])


def resolve_elasticities(
    world: World,
    scenario: Scenario,
    spec: ProductSpec,
    base: ProductBaseline,
    field_name: str,
    notes: list[str] | None = None,
) -> Elasticities:
    """Product value > scenario default > cited class default (data/curated/elasticities.csv).

    A country of the product's own ``supply_elasticity`` table that has no output of the
    product (it only buys it) changes nothing: ``notes`` gains a ``no effect:`` warning. A
    country of ``defaults.supply_elasticity`` may be absent from a market (the table is for
    every product); :func:`default_elasticity_notes` warns when it produces none of them."""
    d = scenario.defaults
    sigma = spec.sigma if spec.sigma is not None else d.sigma
    sigma = sigma if sigma is not None else class_default(world, base.product_class, "sigma")
    eta = spec.demand_elasticity if spec.demand_elasticity is not None else d.demand_elasticity
    eta = eta if eta is not None else class_default(world, base.product_class, "demand_elasticity")
    eps_default = class_default(world, base.product_class, "supply_elasticity")
    eps = np.full(base.n, eps_default)
    producing = base.V.sum(axis=1) > 0
    for k, source in enumerate((d.supply_elasticity, spec.supply_elasticity)):
        if source is None:
            continue
        name = "defaults.supply_elasticity" if k == 0 else f"{field_name}.supply_elasticity"
        if isinstance(source, dict):
            if "default" in source:
                eps[:] = float(source["default"])
            for code, value in source.items():
                if code == "default":
                    continue
                iso = _elasticity_codes(world, base, code, name)
                mask = base.index(iso)
                if k == 1 and not mask.any() and len(iso) == 1:  # a group may miss a market
                    raise ScenarioError(name, f"{code} is not a country of this market")
                if k == 1 and notes is not None and not (mask & producing).any():
                    notes.append(
                        f"no effect: {name}.{code}: {code} has no output of {no_effect.goods(base)} "
                        "in the baseline (it sells none), so its supply elasticity changes nothing"
                    )
                eps[mask] = float(value)
        else:
            eps[:] = float(source)
    return Elasticities(sigma=float(sigma), eta=float(eta), eps=eps)


def _elasticity_codes(world: World, base: ProductBaseline, code: str, name: str) -> list[str]:
    """The countries a key of an elasticity table names: a code of the market itself (also a
    user market's own), else a country or group of the world (an unknown one is an error)."""
    if code.strip().upper() in base.countries:
        return [code.strip().upper()]
    try:
        return world.resolve_countries([code])
    except UnknownCountryError as err:
        raise ScenarioError(name, str(err)) from None


def default_elasticity_notes(
    world: World, scenario: Scenario, bases: list[ProductBaseline]
) -> list[str]:
    """``no effect:`` warnings on the countries of ``defaults.supply_elasticity`` that have
    no output of any of the markets ``bases`` (all the scenario's markets): the default is for
    every product, so a country that produces some of them is not warned about the others."""
    table = scenario.defaults.supply_elasticity
    if not isinstance(table, dict) or not bases:
        return []
    name = "defaults.supply_elasticity"
    out = []
    for code in table:
        if code == "default":
            continue
        if not any(
            (b.index(_elasticity_codes(world, b, code, name)) & (b.V.sum(axis=1) > 0)).any()
            for b in bases
        ):
            what = ", ".join(dict.fromkeys(no_effect.goods(b) for b in bases))
            out.append(
                f"no effect: {name}.{code}: {code} has no output of any of the scenario's "
                f"products ({what}) in the baseline, so its supply elasticity changes nothing"
            )
    return out


WORDS = frozenset({"all", "members", "non-members", "watch"})
"""The words a list of countries may hold besides codes and groups."""


def entry_notes(
    world: World,
    scenario: Scenario,
    markets: list[tuple[ProductBaseline, np.ndarray, np.ndarray]],
    applies: Callable[[object, int], bool],
    user_codes: set[str] | frozenset[str] = frozenset(),
) -> list[tuple[str, list[int]]]:
    """``no effect:`` warnings on the entries of a policy's list of exporters or importers
    that select no traded pair in any market it applies to (``markets``: baseline, members,
    watch; ``applies(policy, k)``), each with the indices of those markets: ``exporters =
    ["CHN", "ISL"]`` bans China's exports, and ISL, which exports none, is a name that does
    nothing. A list none of whose entries trades is left to the policy's own warning in each
    market (:mod:`critmin.scenario.no_effect`); so are the words ``members``, ``watch``."""
    out: list[tuple[str, list[int]]] = []
    for number, pol in zip(scenario.policy_numbers, scenario.policy, strict=True):
        where = [k for k in range(len(markets)) if applies(pol, k)]
        sides: dict[str, Selector] = {
            side: getattr(pol, side, "all") for side in ("exporters", "importers")
        }
        if not where or not any(isinstance(v, list) and len(v) > 1 for v in sides.values()):
            continue
        fname = f"policy[{number}]"
        label = f"{fname} ({pol.type}{', ' + repr(pol.label) if pol.label else ''})"
        for side, other, verb, prep in (
            ("exporters", "importers", "export", "to"),
            ("importers", "exporters", "import", "from"),
        ):
            items = sides[side]
            if not isinstance(items, list) or len(items) < 2:
                continue
            named = [i for i in items if i.strip().lower() not in WORDS]
            idle = []
            for item in named:
                traded = False
                for k in where:
                    base, members, watch = markets[k]
                    mine, theirs = (
                        select_countries(
                            world, sel, members, watch, base, f"{fname}.{name}", user_codes
                        )
                        for sel, name in (([item], side), (sides[other], other))
                    )
                    rows, cols = (mine, theirs) if side == "exporters" else (theirs, mine)
                    pairs = np.outer(rows, cols) & ~np.eye(len(rows), dtype=bool)
                    if (base.V[pairs] > 0).any():
                        traded = True
                        break
                if not traded:
                    idle.append(item)
            if not idle or len(idle) == len(items):  # else the policy's own warning
                continue
            goods = dict.fromkeys(no_effect.goods(markets[k][0]) for k in where)
            what = (
                next(iter(goods))
                if len(goods) == 1
                else f"any of the products it applies to ({', '.join(goods)})"
            )
            one = len(idle) == 1
            out.append(
                (
                    f"no effect: {label}: {', '.join(idle)}, "
                    f"{f'one of its {side},' if one else f'of its {side}, do'} "
                    f"{'does ' if one else ''}not {verb} {what} {prep} its {other} in the "
                    f"baseline: {'that entry changes' if one else 'those entries change'} "
                    "nothing",
                    where,
                )
            )
    return out


def select_countries(
    world: World,
    selector: Selector,
    members: np.ndarray,
    watch: np.ndarray,
    base: ProductBaseline,
    field_name: str,
    user_codes: set[str] | frozenset[str] = frozenset(),
) -> np.ndarray:
    """Mask over the market's countries: ``all``, ``members``, ``non-members`` or a list of
    codes, groups, ``watch`` and those words. A code of the market itself or of any of the
    scenario's own flows files (``user_codes``) is taken as it is, as in ``zone.watch``."""
    if selector == "all":
        return np.ones(base.n, dtype=bool)
    if selector == "members":
        return members.copy()
    if selector == "non-members":
        return ~members
    assert isinstance(selector, list)
    mask = np.zeros(base.n, dtype=bool)
    own = set(base.countries) | set(user_codes)
    for item in selector:
        word = item.strip().lower()
        if word == "watch":
            mask |= watch
        elif word in {"members", "non-members", "all"}:
            mask |= select_countries(world, word, members, watch, base, field_name)  # type: ignore[arg-type]
        elif item.strip().upper() in own:
            mask |= base.index([item.strip().upper()])
        else:
            try:
                mask |= base.index(world.resolve_countries([item]))
            except UnknownCountryError as err:
                raise ScenarioError(field_name, str(err)) from None
    return mask


def producer_unit_values(base: ProductBaseline) -> np.ndarray:
    """Each producer's baseline unit value (USD/t) = its sales value / its sales tonnes."""
    with np.errstate(invalid="ignore", divide="ignore"):
        tonnes = np.where(base.V > 0, base.V / base.p0, 0.0).sum(axis=1)
        value = base.V.sum(axis=1)
        uv = np.where(tonnes > 0, value / tonnes, np.nanmean(base.p0))
    return uv


def build_policy(
    world: World | None,
    scenario: Scenario,
    base: ProductBaseline,
    members: np.ndarray,
    watch: np.ndarray,
    notes: list[str],
    user_codes: set[str] | frozenset[str] = frozenset(),
    select: Callable[[Selector, str], np.ndarray] | None = None,
) -> Policy:
    """The model's policy arrays for one market; ``notes`` gains a warning for every policy
    that does (or may do) nothing here (:mod:`critmin.scenario.no_effect`). ``select``
    replaces the country selection of ``world`` (:func:`select_countries`): the Monte Carlo
    draws rebuild a policy with other grant shares from the selections recorded once."""
    n = base.n
    t1 = base.t0.copy()
    banned = np.zeros((n, n), dtype=bool)
    levy = np.zeros((n, n))
    subsidy = np.zeros(n)
    cap = np.full(n, np.inf)
    offdiag = ~np.eye(n, dtype=bool)

    def select_in_world(selector: Selector, field_name: str) -> np.ndarray:
        if world is None:
            raise ValueError("build_policy needs a world or a select function")
        return select_countries(world, selector, members, watch, base, field_name, user_codes)

    if select is None:
        select = select_in_world

    controls: list[tuple[int, object]] = []
    tariffs: list[tuple[str, np.ndarray]] = []  # each tariff's label and pairs, in order
    floors: list[tuple[str, np.ndarray, float]] = []  # variable-levy floors: label, pairs, price
    # producer-subsidy floors: label, zone members, price
    subsidies: list[tuple[str, np.ndarray, float]] = []
    quotas: list[tuple[str, np.ndarray, float]] = []  # export quotas: label, exporters, share
    bans: list[tuple[str, np.ndarray]] = []  # export bans: label, pairs
    for number, pol in zip(scenario.policy_numbers, scenario.policy, strict=True):
        fname = f"policy[{number}]"  # as written, also for a chain stage's part of the policies
        if pol.products is not None and base.product_id not in pol.products:
            continue
        label = f"{fname} ({pol.type}{', ' + repr(pol.label) if pol.label else ''})"
        if is_control(pol):  # destination quotas, licensing, leaky bans: scenario.controls
            controls.append((number, pol))
        elif isinstance(pol, TariffPolicy):
            rows = select(pol.exporters, f"{fname}.exporters")
            cols = select(pol.importers, f"{fname}.importers")
            pairs = np.outer(rows, cols) & offdiag
            notes += no_effect.tariff_notes(label, base, pairs, pol.rate)
            notes += no_effect.tariff_overlap_notes(label, base, pairs, tariffs)
            tariffs.append((label, pairs))
            t1[pairs] = pol.rate
        elif isinstance(pol, ExportBanPolicy):
            rows = select(pol.exporters, f"{fname}.exporters")
            cols = select(pol.importers, f"{fname}.importers")
            notes += no_effect.ban_notes(label, base, rows, cols)
            bans.append((label, np.outer(rows, cols) & offdiag))
            banned |= bans[-1][1]
        elif isinstance(pol, ExportQuotaPolicy):
            rows = select(pol.exporters, f"{fname}.exporters")
            notes += no_effect.quota_notes(label, base, rows, pol.share_of_baseline)
            notes += no_effect.overlap_notes(
                label,
                "an export quota",
                "exporters",
                rows,
                pol.share_of_baseline,
                quotas,
                lambda a, b: a < b,
            )
            quotas.append((label, rows, pol.share_of_baseline))
            cap[rows] = np.minimum(cap[rows], pol.share_of_baseline)
        elif isinstance(pol, PriceFloorPolicy):
            if not np.isfinite(base.p0).any():
                raise ScenarioError(
                    f"product[{base.product_id}].baseline_price_usd_per_t",
                    "a price floor needs a baseline price: give baseline_price_usd_per_t",
                )
            if pol.mechanism == "variable_levy":
                pairs = np.outer(~members, members) & offdiag
                notes += no_effect.levy_floor_notes(label, base, pairs, pol.price_usd_per_t)
                notes += no_effect.overlap_notes(
                    label,
                    "a price floor",
                    "pairs",
                    pairs,
                    pol.price_usd_per_t,
                    floors,
                    lambda a, b: a > b,
                )
                floors.append((label, pairs, pol.price_usd_per_t))
                rel = pol.price_usd_per_t / base.p0
                levy = np.where(pairs, np.maximum(levy, np.nan_to_num(rel)), levy)
            else:
                uv = producer_unit_values(base)
                notes += no_effect.subsidy_floor_notes(
                    label, base, members, pol.price_usd_per_t, uv
                )
                notes += no_effect.overlap_notes(
                    label,
                    "a producer-subsidy floor",
                    "zone producers",
                    members,
                    pol.price_usd_per_t,
                    subsidies,
                    lambda a, b: a > b,
                )
                subsidies.append((label, members, pol.price_usd_per_t))
                rel_i = pol.price_usd_per_t / uv
                subsidy = np.where(members, np.maximum(subsidy, rel_i), subsidy)
            notes.append(
                f"{pol.mechanism} floor USD {pol.price_usd_per_t:,.0f}/t vs baseline unit value "
                f"USD {float(np.nanmedian(base.p0)):,.0f}/t (median over pairs)"
            )
    ctl = resolve_controls(controls, base, select, notes, t1, banned) if controls else None
    if ctl is not None:
        for (i, j), rate in ctl.via_tariff.items():
            t1[i, j] = rate  # a leaked pair pays the vias' tariff into the destination
    demand, supply = market_shifts(scenario, base, select, notes)
    if ctl is not None and ctl.banned is not None:
        banned |= ctl.banned
    notes += no_effect.closed_notes(base, banned, cap, tariffs, floors, quotas, bans, notes)
    notes += no_effect.cut_off_notes(base, no_effect.closed_pairs(banned, cap))
    return Policy(
        t1=t1,
        banned=banned,
        levy_floor=levy,
        subsidy_floor=subsidy,
        export_cap=cap,
        quota_groups=tuple(ctl.groups) if ctl is not None else (),
        trade_cost=ctl.trade_cost if ctl is not None else None,
        demand_shift=demand,
        supply_shift=supply,
    )


def zone_codes(
    world: World, scenario: Scenario, user_codes: set[str]
) -> tuple[list[str], list[str], list[str]]:
    """ISO3 codes of the zone's members and watch countries, and the watch codes dropped
    because they are members (a watch group such as G7 may overlap the zone: the watch share
    measures supply from outside the zone). A watch country named on its own that is also a
    member is a contradiction: a ScenarioError, as in ``critmin assess``."""
    try:
        return zone_lists(world, scenario.zone.members, scenario.zone.watch, user_codes)
    except ZoneListError as err:
        raise ScenarioError(err.field, err.problem) from None


class ZoneListError(CritminError):
    """A zone list that cannot be resolved: which list (``members`` or ``watch``) and why."""

    def __init__(self, which: str, problem: str) -> None:
        self.field = f"zone.{which}"
        self.which = which
        self.problem = problem
        super().__init__(f"{which}: {problem}")


def zone_lists(
    world: World,
    members: list[str],
    watch: list[str],
    user_codes: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[str], list[str], list[str]]:
    """Members, watch countries outside the zone, and watch codes dropped as members.

    The one rule for every command (simulate, assess, the web): a watch *group* that overlaps
    the zone keeps only its countries outside it (the dropped ones are returned for a note); a
    watch *country* listed by itself that is also a member raises :class:`ZoneListError`
    ("a watch country must be outside the zone"). A country or group named twice in one
    list (``["USA", "usa"]``, ``["USA", "United States"]``) raises :class:`ZoneListError`
    too: the list is a set, and in ``critmin coalition`` each member is a player, so a member
    named twice would be two players sharing its value."""
    _named_once(world, members, user_codes, "members")
    _named_once(world, watch, user_codes, "watch")
    member_codes = _resolve_field(world, members, user_codes, "members")
    explicit: list[str] = []
    watch_codes: list[str] = []
    for item in watch:
        codes = _resolve_field(world, [item], user_codes, "watch")
        watch_codes += codes
        if not _is_group(world, item):
            explicit += codes
    contradiction = sorted(set(explicit) & set(member_codes))
    if contradiction:
        raise ZoneListError(
            "watch",
            f"watch countries {', '.join(contradiction)} are also zone members: a watch "
            "country must be outside the zone (remove it from one of the two lists)",
        )
    in_both = sorted(set(watch_codes) & set(member_codes))
    outside = sorted(set(watch_codes) - set(member_codes))
    return member_codes, outside, in_both


def _named_once(
    world: World, items: list[str], extra: set[str] | frozenset[str], which: str
) -> None:
    """Raise :class:`ZoneListError` when two items of a zone list name the same country or the
    same group (the same codes). A country that is also in a listed group is fine (``EU27``
    and ``DEU``): a group is a shorthand, not an item to count."""
    seen: dict[tuple[str, ...], str] = {}
    for item in items:
        codes = tuple(_resolve_field(world, [item], extra, which))
        if codes not in seen:
            seen[codes] = item
            continue
        first = seen[codes]
        same = (
            f"{item!r} is listed twice"
            if first.strip().upper() == item.strip().upper()
            else f"{first!r} and {item!r} name the same "
            + ("group" if len(codes) > 1 else f"country ({codes[0]})")
        )
        raise ZoneListError(which, f"{same}: list each country or group once")


def _is_group(world: World, item: str) -> bool:
    key = item.strip().upper()
    return key in {g.upper() for g in world.group_names} or key in {"EU", "EUROPEAN UNION"}


def _resolve_field(
    world: World, items: list[str], extra: set[str] | frozenset[str], which: str
) -> list[str]:
    """Expand codes and groups; codes of the user's own markets are accepted as they are."""
    known = [i for i in items if i.strip().upper() in extra]
    rest = [i for i in items if i.strip().upper() not in extra]
    try:
        codes = world.resolve_countries(rest) if rest else []
    except UnknownCountryError as err:
        raise ZoneListError(which, str(err)) from None
    return sorted(set(codes) | {k.strip().upper() for k in known})


def resolve(
    scenario: Scenario, world: World | None = None, *, all_markets: bool = True
) -> tuple[World, list[ResolvedProduct]]:
    """Resolve groups, calibrate every product and build its policy arrays.

    ``all_markets``: these are all the scenario's markets (not the single markets of a
    scenario that also has chains, :func:`critmin.scenario.chains.resolve_single_markets`),
    so that the warnings on settings for every market (a ``defaults.supply_elasticity``
    country that produces none of them) are given here; else by the caller."""
    if scenario.chain or any(p.stage is not None for p in scenario.policy):
        field = "chain" if scenario.chain else "policy"
        raise ScenarioError(
            field,
            "linked chains (chain tables, a policy's stage) are solved by critmin simulate, "
            "report, sweep and paths; this analysis takes single product markets",
        )
    world = world_for(world, scenario.year)
    baselines: list[ProductBaseline] = []
    for k, spec in enumerate(scenario.product):
        fname = f"product[{k}]"
        if spec.flows:
            path = Path(spec.flows)
            path = path if path.is_absolute() else scenario.base_dir / path
            base = user_baseline(spec.id, path, spec.baseline_price_usd_per_t, f"{fname}.flows")
        else:
            try:
                world.product_record(spec.id)
            except UnknownProductError as err:
                raise ScenarioError(f"{fname}.id", str(err)) from None
            try:
                base = bundled_baseline(world, spec.id, spec.baseline_price_usd_per_t)
            except NoTradeError as err:
                raise ScenarioError(f"{fname}.id", str(err)) from None
        same = [j for j, b in enumerate(baselines) if b.product_id == base.product_id]
        if same:  # an HS6 code and an id (or two codes) of one market: it would count twice
            raise ScenarioError(
                f"{fname}.id",
                f"{spec.id!r} is the same market as product[{same[0]}] "
                f"({scenario.product[same[0]].id!r}, {base.product_id}): list it once "
                "(twice, every figure of it would be counted twice)",
            )
        baselines.append(base)
    # codes of a user's own markets (which may be fictional regions) are valid zone members
    user_codes = {
        c
        for b, sp in zip(baselines, scenario.product, strict=True)
        if sp.flows
        for c in b.countries
    }
    member_codes, watch_codes, in_both = zone_codes(world, scenario, user_codes)
    tariff_rows = resolve_tariffs(
        scenario.tariffs, world, scenario.year, scenario.base_dir, user_codes
    )
    resolved = []
    for k, (spec, base) in enumerate(zip(scenario.product, baselines, strict=True)):
        members = base.index(member_codes)
        if tariff_rows is not None and scenario.tariffs is not None:
            base = apply_tariffs(base, tariff_rows, members, scenario.tariffs.preferential_cut)
        watch = base.index(watch_codes)
        notes: list[str] = []
        if in_both:
            notes.append(
                f"zone.watch: {', '.join(in_both)} are zone members and are not counted as "
                "watch countries"
            )
        notes += no_effect.settings_notes(scenario, base)
        el = resolve_elasticities(world, scenario, spec, base, f"product[{k}]", notes)
        policy = build_policy(world, scenario, base, members, watch, notes, user_codes)
        resolved.append(ResolvedProduct(spec, base, el, policy, members, watch, notes))
    if tariff_rows is not None and scenario.tariffs is not None and scenario.tariffs.file:
        idle = no_effect.tariff_file_notes(
            scenario.tariffs.file, tariff_rows, [rp.baseline for rp in resolved]
        )
        for rp in resolved:
            rp.notes.extend(idle)
    for j, dis in enumerate(scenario.disruption):  # codes checked by every command, not only
        for side in ("exporters", "importers"):  # by those that draw the disruptions; a code
            rp = resolved[0]  # is resolved against the world when a market lacks it: one will do
            select_countries(
                world,
                getattr(dis, side),
                rp.members,
                rp.watch,
                rp.baseline,
                f"disruption[{j}].{side}",
                user_codes,
            )
    if all_markets:
        every = default_elasticity_notes(world, scenario, [rp.baseline for rp in resolved])
        for rp in resolved:  # one warning for the scenario, said once for every product
            rp.notes += every
        markets = [(rp.baseline, rp.members, rp.watch) for rp in resolved]
        for note, where in entry_notes(
            world,
            scenario,
            markets,
            lambda pol, k: pol.products is None or resolved[k].baseline.product_id in pol.products,  # type: ignore[attr-defined]
            user_codes,
        ):
            for k in where:
                resolved[k].notes.append(note)
    return world, resolved
