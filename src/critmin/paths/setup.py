"""A scenario with a ``[paths]`` table -> the linked stages and policy variants of the paths.

The floored market is a ``[[product]]`` (a one-stage chain, exactly the single market) or a
stage of a ``[[chain]]``. The scenario's own policies apply in every variant; the floor is added
as a ``price_floor`` policy of the scenario (so the floor is converted to relative prices exactly
as ``critmin simulate`` does, :func:`critmin.scenario.resolution.build_policy`), once as a
variable levy and once as a producer subsidy, and each ``[[disruption]]`` once as an export ban,
whose removed pairs are kept as a mask per stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from critmin.baseline import ProductBaseline
from critmin.errors import ScenarioError
from critmin.model.chain import ChainStage
from critmin.model.core import Policy
from critmin.note_kinds import WARNING_PREFIXES
from critmin.paths.inputs import CapacityRule, DemandGrowth, capacity_rules, demand_growth
from critmin.scenario.chains import resolve_chains, resolve_single_markets, unit_value
from critmin.scenario.paths_settings import PathsSettings, parse_years
from critmin.scenario.resolution import producer_unit_values
from critmin.scenario.spec import ExportBanPolicy, PriceFloorPolicy, Scenario
from critmin.world import World

__all__ = ["PathEvent", "PathModel", "StageInfo", "path_model"]


@dataclass(frozen=True)
class StageInfo:
    """Facts of one stage: its key, stage name, unit values (USD/t) and capacity rule."""

    key: str
    stage: str
    unit_value: float
    producer_unit_values: np.ndarray
    rule: CapacityRule


@dataclass(frozen=True)
class PathEvent:
    """A ``[[disruption]]``: the pairs it removes per stage, its year (None: every year) and
    probability."""

    label: str
    banned: list[np.ndarray]
    year: int | None
    probability: float

    @property
    def removes_trade(self) -> bool:
        """Whether it removes any trade of the stages: one that removes none never fires (a
        year with it is a year without a disruption: no shortfall, and an offtake agency
        buys as in any other year)."""
        return any(b.any() for b in self.banned)


@dataclass
class PathModel:
    """Everything the yearly paths solve: stages (scenario policies, no floor), the floor's
    policy variants, events, growth and facts."""

    name: str
    mineral: str
    countries: list[str]
    members: np.ndarray
    stages: list[ChainStage]
    info: list[StageInfo]
    floor_stage: int
    floor_usd_per_t: float
    policies: dict[str, list[Policy]]
    zone_sales_share: np.ndarray  # members' baseline sales share to members at the floor stage
    events: list[PathEvent]
    growth: DemandGrowth
    notes: list[str] = field(default_factory=list)


Row = tuple[str, str, ProductBaseline, ChainStage]


def _stages(
    scenario: Scenario, world: World, target: str | None, warnings: list[str] | None = None
) -> tuple[str, str, list[Row], np.ndarray]:
    """(name, mineral, [(key, stage, baseline, ChainStage)], members) of the floored market;
    with ``warnings``, the warnings of its resolution (notes that start with one of
    :data:`critmin.note_kinds.WARNING_PREFIXES`: a policy that does nothing ...) are
    added to it."""
    found: list[tuple[str, str, list[Row], np.ndarray, list[str]]] = []
    for rc in resolve_chains(scenario, world):
        keys = {n for s in rc.stages for n in (s.key, s.stage, *s.product_ids)}
        if target is None or target in keys:
            rows = [(s.key, s.stage, s.baseline, s.model_stage()) for s in rc.stages]
            notes = [*rc.notes, *(n for s in rc.stages for n in s.notes)]
            found.append((rc.id, rc.mineral, rows, rc.members, notes))
    # a [[product]] that is also a stage of a catalog chain (its key) is that stage's
    # settings: simulate shows the chain's stage under the key, and so the paths carry it
    # there (as a second candidate it made every paths.product naming it ambiguous)
    chain_keys = {row[0] for f in found for row in f[2]}
    _, rps = resolve_single_markets(scenario, world)
    for rp in rps:
        if rp.spec.id in chain_keys:
            continue
        if target is None or rp.spec.id == target:
            st = ChainStage(rp.market, rp.policy, name=rp.spec.id)
            row = (rp.spec.id, rp.baseline.stage, rp.baseline, st)
            found.append((rp.spec.id, rp.baseline.mineral, [row], rp.members, list(rp.notes)))
    if not found:
        raise ScenarioError(
            "paths.product",
            f"{target!r} is not a product or chain stage here (name a product id of the "
            "scenario, or with a chain one of its stages, such as refine, or its products)",
        )
    if len(found) > 1:
        raise ScenarioError(
            "paths.product",
            "several markets could carry the floor "
            f"({', '.join(f[0] for f in found)}): name one in paths.product",
        )
    name, mineral, rows, members, notes = found[0]
    if warnings is not None:
        warnings += [n for n in dict.fromkeys(notes) if n.startswith(WARNING_PREFIXES)]
    return name, mineral, rows, members


def _floor_key(rows: list[Row], target: str | None) -> int:
    if target is None:
        return len(rows) - 1
    for k, row in enumerate(rows):
        key = row[0]
        if target in (key, row[1]) or target in key.split("+"):  # its key, stage or a product
            return k
    return len(rows) - 1


def _with(scenario: Scenario, extra: list) -> Scenario:
    out = scenario.model_copy(update={"policy": [*scenario.policy, *extra], "disruption": []})
    object.__setattr__(out, "_base_dir", scenario.base_dir)
    return out


def left_out(scenario: Scenario) -> list[str]:
    """Warnings (``left out:``) for the parts of a scenario the yearly paths do not model:
    export licences, export quotas by destination, leakage through third countries, market
    shocks and chain shocks. The yearly equilibria are solved by the chain solver, which has
    none of them, so each would otherwise be dropped without a word while ``critmin
    simulate`` applies it."""
    out = []
    for k, pol in enumerate(scenario.policy):
        what = None
        if pol.type == "export_licensing":
            what = "export licences"
        elif pol.type == "export_quota" and getattr(pol, "importers", "all") != "all":
            what = "export quotas by destination"
        elif getattr(pol, "leak_via", None) is not None:
            what = "leakage through third countries (leak_via)"
        if what is not None:
            out.append(
                f"left out: policy[{k}] ({pol.type}): the yearly paths do not model {what}; "
                "the paths run without it (critmin simulate and uncertainty apply it)"
            )
    for k, _ in enumerate(scenario.shock):
        out.append(
            f"left out: shock[{k}]: the yearly paths draw their own demand and output shocks "
            "and do not apply the scenario's market shocks"
        )
    for c, chain in enumerate(scenario.chain):
        for k, _ in enumerate(chain.shock):
            out.append(
                f"left out: chain[{c}].shock[{k}]: the yearly paths do not apply chain shocks"
            )
    return out


def check_paths_table(scenario: Scenario, world: World) -> None:
    """Raise the :class:`ScenarioError` that ``critmin paths`` would raise for the scenario's
    own ``[paths]`` table (its years as written) before it solves anything: a start year
    outside those years, a market that is not a product or chain stage of the scenario (or
    one of several that could carry the floor). Nothing to check without the table."""
    settings = scenario.paths
    if settings is None:
        return
    check_start_year(settings)
    _stages(_with(scenario, []), world, settings.product)


def check_start_year(settings: PathsSettings) -> tuple[int, int]:
    """The first and last of the settings' years; a start year outside them raises."""
    first, last = parse_years(settings.years)
    if settings.start_year is not None and not first <= settings.start_year <= last:
        raise ScenarioError(
            "paths.start_year", f"{settings.start_year} is outside the years {settings.years}"
        )
    return first, last


def path_model(scenario: Scenario, world: World, settings: PathsSettings) -> PathModel:
    """Resolve the floored market of ``scenario`` and its policy variants."""
    plain = _with(scenario, [])
    own_warnings: list[str] = []  # the scenario's own: a policy that does nothing ...
    name, mineral, rows, members = _stages(plain, world, settings.product, own_warnings)
    k = _floor_key(rows, settings.product)
    key = rows[k][0]
    is_chain = len(rows) > 1 or any(c.id == name for c in scenario.chain)
    target: dict[str, Any] = {"stage": key} if is_chain else {"products": [key]}
    policies: dict[str, list[Policy]] = {"none": [r[3].policy or Policy() for r in rows]}
    for mech, label in (("variable_levy", "levy"), ("producer_subsidy", "subsidy")):
        floor = PriceFloorPolicy(
            type="price_floor",
            mechanism=mech,  # type: ignore[arg-type]
            price_usd_per_t=settings.floor_usd_per_t,
            label=f"paths floor ({mech})",
            **target,
        )
        _, _, vrows, _ = _stages(_with(scenario, [floor]), world, settings.product)
        policies[label] = [r[3].policy or Policy() for r in vrows]
    events = []
    for e, d in enumerate(scenario.disruption):
        ban = ExportBanPolicy(
            type="export_ban",
            exporters=d.exporters,
            importers=d.importers,
            products=d.products,
            stage=d.stage,
            label=f"disruption[{e}]",
        )
        _, _, drows, _ = _stages(_with(scenario, [ban]), world, settings.product)
        masks = []
        for r0, r1 in zip(rows, drows, strict=True):
            b0 = r0[3].policy.banned if r0[3].policy and r0[3].policy.banned is not None else None
            b1 = r1[3].policy.banned if r1[3].policy and r1[3].policy.banned is not None else None
            n = r0[3].market.n
            z = np.zeros((n, n), dtype=bool)
            added = (b1 if b1 is not None else z) & ~(b0 if b0 is not None else z)
            masks.append(added & (r0[3].market.V > 0))  # a pair without trade loses nothing
        when = f" in {d.year}" if d.year else " every year"
        events.append(
            PathEvent(
                f"disruption[{e}]{when} (p = {d.probability:g})", masks, d.year, d.probability
            )
        )
    rules = capacity_rules()
    info = [
        StageInfo(
            key=r[0],
            stage=r[1] if r[1] in rules else "refine",
            unit_value=unit_value(r[2]),
            producer_unit_values=producer_unit_values(r[2]),
            rule=rules.get(r[1], rules["refine"]),
        )
        for r in rows
    ]
    if not np.isfinite(info[k].unit_value):
        raise ScenarioError(
            f"product[{key}].baseline_price_usd_per_t",
            "the floored market needs a baseline price: give baseline_price_usd_per_t",
        )
    V = rows[k][3].market.V
    sales = V.sum(axis=1)
    to_zone = V[:, members].sum(axis=1)
    share = np.divide(to_zone, sales, out=np.zeros_like(sales), where=sales > 0)
    notes = [*own_warnings, *left_out(scenario)]
    if any(st.alt_policy is not None for _, _, _, st in rows):
        notes.append("paths: the scenario's rules of origin are ignored by the price_gap variant")
    return PathModel(
        name=name,
        mineral=mineral,
        countries=list(rows[0][2].countries),
        members=np.asarray(members, dtype=bool),
        stages=[r[3] for r in rows],
        info=info,
        floor_stage=k,
        floor_usd_per_t=settings.floor_usd_per_t,
        policies=policies,
        zone_sales_share=np.where(members, share, 0.0),
        events=events,
        growth=demand_growth(mineral),
        notes=notes,
    )
