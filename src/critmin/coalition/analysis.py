"""Coalition analysis: who should join the zone, whom it cannot lose, and the Shapley values.

``run_coalition(scenario, candidates=[...])`` values coalitions of the scenario's zone members
and candidate countries. A *coalition* is a set of players that, with the members that are not
players, forms the zone; the scenario's policies are applied to it exactly as ``critmin
simulate`` would with that member list (policies saying "members"/"non-members" follow it). Its
value is a vector of objectives, each per product and in total (:func:`objective_values`):

* ``self_sufficiency``: ``sum_{i, j in Z} q_ij / sum_{i; j in Z} q_ij``, the share of zone
  demand met by zone producers after the policies (baseline-price values; in total: summed over
  products first). An empty zone, or one without demand for a product, scores 0;
* ``watch_share``: the same share for watch countries outside the zone (lower is better);
* ``zone_welfare_usd``: the zone members' summed welfare change (USD);
* ``world_welfare_usd``: every country's welfare change (USD).

Reported (docs/coalition.md):

* the marginal value of each candidate, ``v(zone + c) - v(zone)``, and of each member, what the
  zone loses if it leaves, ``v(zone) - v(zone - m)``;
* Shapley values of the players (the eligible candidates; with ``members_as_players`` also
  members): exact over all ``2^k`` coalitions up to :data:`EXACT_MAX_PLAYERS` players, else the
  permutation estimate with its standard error (:mod:`critmin.coalition.shapley`);
* the eligibility of each candidate under the scenario's gates (:mod:`critmin.coalition.gates`).

Scale: each product is resolved once; every distinct member mask of a market is solved once per
run (coalitions that look the same to a market, e.g. differing only by a candidate that does not
trade the product or has not joined for its stage, share the solve), in batches by the compiled
solver, here or on a Dask cluster (:mod:`critmin.coalition.markets`), and kept in a file cache
(:mod:`critmin.coalition.cache`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from critmin.catalog import STAGES
from critmin.coalition.cache import CoalitionCache, default_cache_dir
from critmin.coalition.gates import check_eligibility
from critmin.coalition.markets import (
    IN_A_COALITION,
    QUANTITIES,
    PolicyCountries,
    ProductTask,
    solve_coalitions,
)
from critmin.coalition.shapley import (
    exact_shapley,
    permutation_coalitions,
    popcount,
    random_orders,
    sampled_shapley,
)
from critmin.errors import CritminError, ScenarioError, did_you_mean
from critmin.scenario.coalition_settings import CoalitionSettings, MembershipScope
from critmin.scenario.resolution import build_policy, resolve, zone_codes
from critmin.scenario.spec import Scenario, load_scenario
from critmin.world import World

__all__ = [
    "DEFAULT_PERMUTATIONS",
    "EXACT_MAX_PLAYERS",
    "OBJECTIVE_INFO",
    "CoalitionResult",
    "Player",
    "objective_values",
    "run_coalition",
]

EXACT_MAX_PLAYERS = 12
"""Exact Shapley values up to this many players (2^12 = 4,096 coalitions)."""
DEFAULT_PERMUTATIONS = 200
"""Random orders of the sampled estimate when more players than that and none are asked for."""
TOTAL = "total"
HEATMAP_BINS = 24
"""Value bins of the coalition heat map."""

OBJECTIVE_INFO: dict[str, tuple[str, str, str]] = {
    "self_sufficiency": ("Zone self-sufficiency", "share", "higher"),
    "watch_share": ("Watch countries' share of zone demand", "share", "lower"),
    "zone_welfare_usd": ("Zone welfare change", "USD", "higher"),
    "world_welfare_usd": ("World welfare change", "USD", "higher"),
}
"""Objective -> (label, unit, which direction is better)."""

Progress = Callable[[int, int], None]


@dataclass
class Player:
    """A zone member or a candidate; ``actor`` is its index among the countries that can be in
    a coalition (``None`` for a candidate left out by the gates)."""

    token: str
    codes: list[str]
    role: str
    eligible: bool = True
    reasons: tuple[str, ...] = ()
    checks: dict[str, Any] = field(default_factory=dict)
    scope: MembershipScope | None = None
    actor: int | None = None
    in_game: bool = False


@dataclass(repr=False)
class CoalitionResult:
    """The analysis; :meth:`to_dict` is the results contract of ``critmin coalition --json``."""

    scenario: str
    year: int
    objectives: list[str]
    products: list[str]
    players: list[Player]
    game: list[int]  # indices into players of the Shapley players, in game order
    method: str
    permutations: int | None
    seed: int
    shapley: np.ndarray  # (k, m)
    shapley_se: np.ndarray | None
    marginal: dict[int, np.ndarray]  # player index -> (m,)
    grand: np.ndarray
    empty: np.ndarray
    core: np.ndarray
    game_sizes: np.ndarray  # sizes and values of the game coalitions evaluated (heat map)
    game_values: np.ndarray
    coalitions_evaluated: int
    markets_solved: int
    cache_hits: int
    nonconverged: int
    engine: str
    workers: int
    timings: dict[str, float]
    notes: list[str]
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def _map(self, values: np.ndarray | None) -> dict[str, float | None]:
        if values is None:
            return dict.fromkeys(self.objectives)
        return {k: _num(v) for k, v in zip(self.objectives, values, strict=True)}

    def __repr__(self) -> str:
        """One line (the dataclass printed every player and coalition value)."""
        return (
            f"CoalitionResult(scenario={self.scenario!r}, year={self.year}, "
            f"players={[p.token for p in self.players]}, products={self.products}, "
            f"objectives={len(self.objectives)}, method={self.method!r})"
        )

    def player_shapley(self, p: int) -> np.ndarray | None:
        """Player ``p``'s Shapley values by objective (``None``: not a player of the game)."""
        return self.shapley[self.game.index(p)] if p in self.game else None

    def to_dict(self) -> dict[str, Any]:
        players = []
        for p, pl in enumerate(self.players):
            row: dict[str, Any] = {
                "iso3": pl.token,
                "countries": pl.codes,
                "role": pl.role,
                "eligible": pl.eligible,
                "reasons": list(pl.reasons),
                "in_game": pl.in_game,
                "scope": pl.scope.model_dump() if pl.scope else None,
                "marginal": self._map(self.marginal.get(p)),
                "shapley": self._map(self.player_shapley(p)),
            }
            if self.shapley_se is not None:
                se = self.shapley_se[self.game.index(p)] if p in self.game else None
                row["shapley_standard_error"] = self._map(se)
            if pl.checks:
                row["checks"] = pl.checks
            players.append(row)
        base = self.objectives
        info = {}
        for key in base:
            name, _, unit_scope = key.partition(":")
            label, unit, better = OBJECTIVE_INFO[name]
            info[key] = {
                "objective": name,
                "scope": unit_scope,
                "label": label,
                "unit": unit,
                "better": better,
            }
        return {
            "scenario": self.scenario,
            "year": self.year,
            "products": self.products,
            "objectives": info,
            "method": self.method,
            "permutations": self.permutations,
            "seed": self.seed,
            "players": players,
            "shapley_players": [self.players[p].token for p in self.game],
            "coalitions_evaluated": self.coalitions_evaluated,
            "objective_values": {
                "grand": self._map(self.grand),
                "empty": self._map(self.empty),
                "zone": self._map(self.core),
            },
            "by_size": self.by_size(),
            "heatmap": self.heatmap(),
            "markets_solved": self.markets_solved,
            "cache_hits": self.cache_hits,
            "nonconverged_markets": self.nonconverged,
            "engine": self.engine,
            "workers": self.workers,
            "timings": self.timings,
            "notes": self.notes,
            "warnings": self.warnings,
        }

    def by_size(self) -> dict[str, list[dict[str, float | int | None]]]:
        """Per objective and coalition size: how many game coalitions, min, mean and max."""
        out: dict[str, list[dict[str, float | int | None]]] = {}
        sizes = self.game_sizes
        for k, key in enumerate(self.objectives):
            rows: list[dict[str, float | int | None]] = []
            for s in np.unique(sizes):
                v = self.game_values[sizes == s, k]
                rows.append(
                    {
                        "size": int(s),
                        "coalitions": len(v),
                        "min": _num(v.min()),
                        "mean": _num(v.mean()),
                        "max": _num(v.max()),
                    }
                )
            out[key] = rows
        return out

    def heatmap(self, bins: int = HEATMAP_BINS) -> dict[str, dict[str, Any]]:
        """Per objective: game coalitions counted by size and value bin (``counts[size][bin]``
        over ``bins`` equal bins from the smallest to the largest value)."""
        out: dict[str, dict[str, Any]] = {}
        if not len(self.game_sizes):
            return out
        sizes = np.unique(self.game_sizes)
        for k, key in enumerate(self.objectives):
            v = self.game_values[:, k]
            ok = np.isfinite(v)
            if not ok.any():
                continue
            lo, hi = float(v[ok].min()), float(v[ok].max())
            if hi <= lo:
                hi = lo + max(abs(lo), 1.0) * 1e-9
            edges = np.linspace(lo, hi, bins + 1)
            counts = [
                np.histogram(v[ok & (self.game_sizes == s)], bins=edges)[0].tolist() for s in sizes
            ]
            out[key] = {"sizes": sizes.tolist(), "edges": edges.tolist(), "counts": counts}
        return out


def _num(v: Any) -> float | None:
    x = float(v)
    return x if np.isfinite(x) else None


# ----------------------------------------------------------------------------- objectives


def objective_values(
    quantities: np.ndarray, objectives: Sequence[str], products: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """Coalition quantities ``(C, P, len(QUANTITIES))`` -> objective values ``(C, m)`` and their
    keys ``"<objective>:total"`` then ``"<objective>:<product>"`` (module docstring)."""
    col = {name: k for k, name in enumerate(QUANTITIES)}
    demand = quantities[..., col["zone_demand"]]
    internal = quantities[..., col["zone_internal"]]
    watch = quantities[..., col["watch_to_zone"]]

    def share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    per: dict[str, np.ndarray] = {}
    tot: dict[str, np.ndarray] = {}
    per["self_sufficiency"] = share(internal, demand)
    tot["self_sufficiency"] = share(internal.sum(axis=1), demand.sum(axis=1))
    per["watch_share"] = share(watch, demand)
    tot["watch_share"] = share(watch.sum(axis=1), demand.sum(axis=1))
    for name, q in (("zone_welfare_usd", "zone_welfare"), ("world_welfare_usd", "world_welfare")):
        per[name] = quantities[..., col[q]]
        tot[name] = per[name].sum(axis=1)
    columns, keys = [], []
    for name in objectives:
        columns.append(tot[name])
        keys.append(f"{name}:{TOTAL}")
    for p, pid in enumerate(products):
        for name in objectives:
            columns.append(per[name][:, p])
            keys.append(f"{name}:{pid}")
    return np.stack(columns, axis=1), keys


# ----------------------------------------------------------------------------- settings


def _as_list(value: Any) -> Any:
    """A sequence argument as a list for the settings' validation; text is left as it is, for
    the validation to refuse (``candidates="CHN"`` was read as the countries C, H and N)."""
    if value is None or isinstance(value, str | bytes):
        return value
    return list(value)


def _settings(scenario: Scenario, overrides: dict[str, Any]) -> CoalitionSettings:
    base = scenario.coalition.model_dump() if scenario.coalition else {}
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return CoalitionSettings.model_validate(base)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in e["loc"] if not str(x).startswith(("literal[", "list[")))
        raise ScenarioError(
            f"coalition.{where}", str(e["msg"]).removeprefix("Value error, ")
        ) from None


def _codes(world: World, token: str, user_codes: set[str], field_name: str) -> list[str]:
    up = token.strip().upper()
    if up in user_codes:
        return [up]
    try:
        return world.resolve_countries([token])
    except CritminError as err:
        raise ScenarioError(field_name, str(err)) from None


def _players(
    world: World,
    scenario: Scenario,
    settings: CoalitionSettings,
    user_codes: set[str],
    product_ids: list[str],
    notes: list[str],
) -> list[Player]:
    players: list[Player] = []
    for k, token in enumerate(scenario.zone.members):
        codes = _codes(world, token, user_codes, f"zone.members[{k}]")
        players.append(Player(token.strip().upper(), codes, "member"))
    member_codes = {c for p in players for c in p.codes}
    seen: dict[str, str] = {}
    for k, token in enumerate(settings.candidates):
        fname = f"coalition.candidates[{k}]"
        codes = _codes(world, token, user_codes, fname)
        if clash := sorted(set(codes) & member_codes):
            # name the members it is in: 'DEU is already a zone member (DEU)' did not say that
            # EU27 holds it
            within = [
                f"{c} in {m.token}" if m.token != c else c
                for c in clash
                for m in players
                if c in m.codes
            ]
            raise ScenarioError(fname, f"{token} is already a zone member ({', '.join(within)})")
        for c in codes:
            if c in seen:
                raise ScenarioError(fname, f"{c} is already a candidate (in {seen[c]})")
            seen[c] = token
        players.append(Player(token.strip().upper(), codes, "candidate"))
    candidates = {p.token: p for p in players if p.role == "candidate"}
    for token, scope in settings.scope.items():
        key = token.strip().upper()
        fname = f"coalition.scope.{token}"
        if key in {p.token for p in players if p.role == "member"}:
            raise ScenarioError(
                fname, "a membership scope is for candidates; members are full zone members"
            )
        if key not in candidates:
            _codes(world, token, user_codes, fname)  # an unknown code is an error, not a note
            notes.append(
                f"no effect: coalition.scope.{token}: {token} is not a candidate; scope ignored"
            )
            continue
        for stage in scope.stages or []:
            if stage not in STAGES:
                raise ScenarioError(f"{fname}.stages", _not_a_stage(stage, product_ids))
        for pid in scope.products or []:
            if pid not in product_ids:
                raise ScenarioError(f"{fname}.products", _not_a_product(pid, product_ids))
        candidates[key].scope = scope
    return players


def _not_a_stage(stage: str, product_ids: list[str]) -> str:
    """Why ``stage`` of a membership scope is none, with the stages there are."""
    stages = ", ".join(STAGES)
    if stage.strip().lower() in STAGES:
        return (
            f"unknown stage {stage!r}: stage names are lower case (did you mean "
            f"{stage.strip().lower()!r}?); stages: {stages}"
        )
    if stage in product_ids:
        return f"{stage!r} is a product, not a stage: list it under products; stages: {stages}"
    return f"unknown stage {stage!r}{did_you_mean(stage, STAGES)}; stages: {stages}"


def _not_a_product(pid: str, product_ids: list[str]) -> str:
    """Why ``pid`` of a membership scope (``products``, or a ``--scope`` item that is not a
    stage) is not one of the scenario's products, saying what was expected: a stage name in
    another case (``--scope IDN=Refine``) was called an unknown product, with no word of
    the stages."""
    stages = ", ".join(STAGES)
    products = ", ".join(product_ids)
    if pid in STAGES:
        return (
            f"{pid!r} is a stage, not a product: list it under stages; the scenario's products "
            f"are {products}"
        )
    if pid.strip().lower() in STAGES:
        return (
            f"{pid!r} is neither a stage nor one of the scenario's products: stage names are "
            f"lower case (did you mean {pid.strip().lower()!r}?); stages: {stages}; products: "
            f"{products}"
        )
    return (
        f"{pid!r} is neither a stage ({stages}) nor one of the scenario's products "
        f"({products}){did_you_mean(pid, [*STAGES, *product_ids])}"
    )


def check_coalition_table(scenario: Scenario, world: World | None = None) -> None:
    """Raise the :class:`ScenarioError` that :func:`run_coalition` would raise for the
    scenario's ``[coalition]`` table before it solves anything (unknown or duplicated
    candidates, a zone member among them, a scope or player it cannot apply), so that a
    scenario is refused when it is saved rather than when its coalition is first valued.
    Nothing to check without the table."""
    if scenario.coalition is None:
        return
    settings = _settings(scenario, {})
    world, resolved = resolve(scenario, world)
    user_codes = {c for rp in resolved if rp.spec.flows for c in rp.baseline.countries}
    players = _players(world, scenario, settings, user_codes, [rp.spec.id for rp in resolved], [])
    _member_players(settings, [p for p in players if p.role == "member"])
    joining = {c for p in players if p.role == "candidate" for c in p.codes}
    for rp in resolved:  # the policies with every candidate in the zone (a leak's via ...)
        members = rp.members | rp.baseline.index(joining)
        try:
            build_policy(world, scenario, rp.baseline, members, rp.watch & ~members, [], user_codes)
        except ScenarioError as err:
            raise ScenarioError(err.field, f"{err.problem}{IN_A_COALITION}") from None


def _member_players(settings: CoalitionSettings, members: list[Player]) -> list[Player]:
    """The members that are Shapley players (``members_as_players``: all, some or none).
    Players may not share a country (``EU27`` and ``DEU``): it would be in two players, each
    joining with it, and the Shapley values would split its part between them, as two
    candidates sharing one are refused."""
    if not settings.members_as_players:
        return []
    chosen = members
    if settings.members_as_players is not True:
        chosen = _listed_members(settings.members_as_players, members)
    seen: dict[str, str] = {}
    for player in chosen:
        for code in player.codes:
            if code in seen:
                raise ScenarioError(
                    "coalition.members_as_players",
                    f"{code} is in two of the players ({seen[code]} and {player.token}): "
                    "each member player must be its own countries (list the members that "
                    "play without overlap, or make only one of them a player)",
                )
            seen[code] = player.token
    return chosen


def _listed_members(tokens: list[str], members: list[Player]) -> list[Player]:
    """The members named in a ``members_as_players`` list; an unknown name is an error."""
    wanted = {t.strip().upper() for t in tokens}
    unknown = sorted(wanted - {m.token for m in members})
    if unknown:
        raise ScenarioError(
            "coalition.members_as_players",
            f"{', '.join(unknown)} not among the zone's members "
            f"({', '.join(m.token for m in members)})",
        )
    return [m for m in members if m.token in wanted]


def _in_scope(scope: MembershipScope | None, task: ProductTask) -> bool:
    if scope is None:
        return True
    ok_stage = scope.stages is None or task.stage in scope.stages
    ok_product = scope.products is None or task.product_id in scope.products
    return ok_stage and ok_product


# ----------------------------------------------------------------------------- the run


def run_coalition(
    source: str | Path | dict[str, Any] | Scenario,
    *,
    candidates: Sequence[str] | None = None,
    objectives: Sequence[str] | None = None,
    members_as_players: bool | Sequence[str] | None = None,
    sampled: int | None = None,
    seed: int | None = None,
    on_fail: str | None = None,
    gates: dict[str, Any] | None = None,
    scope: dict[str, Any] | None = None,
    world: World | None = None,
    scheduler: Any = None,
    workers: int | None = None,
    cache_dir: Path | bool | None = True,
    progress: Progress | None = None,
) -> CoalitionResult:
    """Value coalitions of the scenario's zone and the candidates (module docstring).

    Arguments left ``None`` come from the scenario's ``[coalition]`` table, else its defaults.
    ``scheduler``: a Dask scheduler address or ``distributed.Client``; else ``workers`` local
    processes (default: every core for large runs). ``cache_dir``: ``True`` = the user's cache
    folder, a path, or ``False``/``None`` for no cache. ``progress(done, total)`` is called as
    markets are solved.
    """
    t0 = time.perf_counter()
    scenario = load_scenario(source)
    settings = _settings(
        scenario,
        {
            "candidates": _as_list(candidates),
            "objectives": _as_list(objectives),
            "members_as_players": (
                members_as_players
                if isinstance(members_as_players, bool | None)
                else _as_list(members_as_players)
            ),
            "sampled": sampled,
            "seed": seed,
            "on_fail": on_fail,
            "gates": gates,
            "scope": scope,
        },
    )
    world, resolved = resolve(scenario, world)
    notes: list[str] = []
    user_codes = {c for rp in resolved if rp.spec.flows for c in rp.baseline.countries}
    product_ids = [rp.spec.id for rp in resolved]
    players = _players(world, scenario, settings, user_codes, product_ids, notes)
    if not any(p.role == "candidate" for p in players):
        notes.append("no candidates: only the members' marginal values are computed")
    # gates
    for p in players:
        if p.role != "candidate":
            continue
        verdict = check_eligibility(world, p.codes, settings.gates, p.token)
        p.eligible, p.reasons, p.checks = verdict.eligible, verdict.reasons, verdict.checks
        if not p.eligible:
            action = "left out" if settings.on_fail == "exclude" else "kept, flagged"
            notes.append(
                f"{p.token} fails the eligibility gates ({action}): {'; '.join(p.reasons)}"
            )
    # actors: members, then the candidates that take part
    actors = [p for p in players if p.role == "member" or p.eligible or settings.on_fail == "flag"]
    for a, p in enumerate(actors):
        p.actor = a
    members = [p for p in players if p.role == "member"]
    member_players = _member_players(settings, members)
    game = [players.index(p) for p in member_players] + [
        players.index(p) for p in actors if p.role == "candidate"
    ]
    for g in game:
        players[g].in_game = True
    k = len(game)
    method = "exact" if k <= EXACT_MAX_PLAYERS and settings.sampled == 0 else "sampled"
    n_perm = (settings.sampled or DEFAULT_PERMUTATIONS) if method == "sampled" else None
    if method == "sampled" and settings.sampled == 0:
        notes.append(
            f"{k} players: more than {EXACT_MAX_PLAYERS} for exact Shapley values; sampled "
            f"estimate over {n_perm} random orders"
        )
    notes.extend(_sampling_notes(k, n_perm))
    notes.extend(_overlap_notes(members))
    tariffs = scenario.tariffs
    if tariffs and tariffs.preferential_cut > 0 and (tariffs.baseline != "none" or tariffs.file):
        notes.append(
            f"[tariffs] preferential_cut = {tariffs.preferential_cut:g} is part of the baseline "
            "of the scenario's zone: a country that joins in a coalition keeps its uncut "
            "baseline tariffs (critmin simulate with it in zone.members would cut them), so "
            "marginal and Shapley values differ from the difference of two simulations"
        )
    watch_codes = _watch_codes(world, scenario, user_codes)
    countries = PolicyCountries.of(world, scenario)
    tasks = [ProductTask.from_resolved(scenario, rp, watch_codes, countries) for rp in resolved]
    warnings = {rp.spec.id: list(rp.baseline.warnings) for rp in resolved}

    # coalitions over actors (bitmasks)
    fixed = sum(1 << p.actor for p in members if p not in member_players and p.actor is not None)
    game_bits = [1 << players[g].actor for g in game]  # type: ignore[operator]

    def actor_mask(player_mask: int) -> int:
        out = fixed
        for i, bit in enumerate(game_bits):
            if player_mask >> i & 1:
                out |= bit
        return out

    if method == "exact":
        game_masks = list(range(1 << k))
        orders = None
        prefixes: list[list[int]] = []
    else:
        orders = random_orders(k, n_perm or 0, settings.seed)
        prefixes = permutation_coalitions(orders)
        game_masks = sorted({m for pre in prefixes for m in pre})
    core = sum(1 << p.actor for p in members if p.actor is not None)
    wanted_actor_masks = {actor_mask(m) for m in game_masks} | {core}
    for p in actors:
        bit = 1 << p.actor  # type: ignore[operator]
        wanted_actor_masks.add(core | bit if p.role == "candidate" else core & ~bit)
    coalitions = sorted(wanted_actor_masks)
    index = {c: r for r, c in enumerate(coalitions)}

    # solve every distinct market mask once
    coal = np.array(
        [[c >> a & 1 for a in range(len(actors))] for c in coalitions], dtype=np.int32
    ).reshape(len(coalitions), len(actors))
    actor_countries = [
        np.array(
            [task.baseline.index(p.codes) & _in_scope(p.scope, task) for p in actors],
            dtype=np.int32,
        ).reshape(len(actors), task.n)
        for task in tasks
    ]
    cache = CoalitionCache(default_cache_dir() if cache_dir is True else (cache_dir or None))
    solved = solve_coalitions(
        tasks,
        actor_countries,
        coal,
        cache,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    notes.extend(cache.notes)
    if solved.nonconverged:
        notes.append(
            f"{solved.nonconverged} market solve(s) did not converge; their coalitions' values "
            "are unreliable (not cached)"
        )

    values_all, keys_all = objective_values(solved.quantities, settings.objectives, product_ids)

    def v(actor_masks: Sequence[int]) -> np.ndarray:
        return values_all[[index[c] for c in actor_masks]]

    game_values = v([actor_mask(m) for m in game_masks])
    game_sizes = (
        popcount(np.array(game_masks, dtype=np.int64))
        if k < 63
        else np.array([bin(m).count("1") for m in game_masks])
    )
    if method == "exact":
        shapley = exact_shapley(game_values) if k else np.zeros((0, len(keys_all)))
        shapley_se = None
    else:
        assert orders is not None
        prefix_values = [v([actor_mask(m) for m in pre]) for pre in prefixes]
        shapley, shapley_se = sampled_shapley(orders, prefix_values)
    marginal: dict[int, np.ndarray] = {}
    v_core = v([core])[0]
    for p in actors:
        bit = 1 << p.actor  # type: ignore[operator]
        idx = players.index(p)
        if p.role == "candidate":
            marginal[idx] = v([core | bit])[0] - v_core
        else:
            marginal[idx] = v_core - v([core & ~bit])[0]
    for p in actors:
        if p.role == "candidate" and not any(
            task.baseline.index(p.codes).any() and _in_scope(p.scope, task) for task in tasks
        ):
            notes.append(
                f"no effect: {p.token} trades none of the scenario's products (within its "
                "scope): it changes no coalition's value"
            )
    return CoalitionResult(
        scenario=scenario.name,
        year=scenario.year,
        objectives=keys_all,
        products=product_ids,
        players=players,
        game=game,
        method=method,
        permutations=n_perm,
        seed=settings.seed,
        shapley=shapley,
        shapley_se=shapley_se,
        marginal=marginal,
        grand=v([actor_mask((1 << k) - 1)])[0],
        empty=v([actor_mask(0)])[0],
        core=v_core,
        game_sizes=game_sizes,
        game_values=game_values,
        coalitions_evaluated=len(coalitions),
        markets_solved=solved.solved,
        cache_hits=solved.cache_hits,
        nonconverged=solved.nonconverged,
        engine=solved.engine,
        workers=solved.workers,
        timings={
            "solve_seconds": solved.seconds,
            "total_seconds": time.perf_counter() - t0,
            "markets_per_second": solved.solved / solved.seconds if solved.seconds > 0 else 0.0,
            "coalitions_per_second": len(coalitions) / solved.seconds
            if solved.seconds > 0
            else 0.0,
        },
        notes=notes,
        warnings=warnings,
    )


def _sampling_notes(k: int, n_perm: int | None) -> list[str]:
    """What a sampled estimate the user asked for cannot give: with ``k`` players there are
    ``k!`` distinct orders, so ``n >= k!`` random orders still carry sampling error (they
    repeat some orders and miss others) where the exact value over ``2^k`` coalitions has
    none; one order has no standard error (``sd / sqrt(n)`` needs two)."""
    if n_perm is None or k == 0:
        return []
    notes = []
    if k <= EXACT_MAX_PLAYERS and n_perm >= math.factorial(k):
        notes.append(
            f"{n_perm} random orders of {k} player(s), which have only {math.factorial(k)} "
            "distinct orders: the sampled estimate repeats some and misses others; the exact "
            f"Shapley values (sampled = 0) cost {2**k} coalitions and have no sampling error"
        )
    if n_perm == 1:
        notes.append(
            "one random order: the Shapley estimate is that order's marginal values, with no "
            "standard error (it needs at least two orders)"
        )
    return notes


def _overlap_notes(members: list[Player]) -> list[str]:
    """What "what if a member leaves" means for members that share countries (``zone.members
    = ["EU27", "DEU"]``): a member leaving takes out only its countries that no other member
    holds, ``v(zone) - v(zone - (codes_m - codes_others))``; one whose countries are all held
    by others changes nothing (its values are 0, which read as "the zone loses nothing")."""
    notes = []
    for m in members:
        shared = {
            o.token: sorted(set(m.codes) & set(o.codes))
            for o in members
            if o is not m and set(m.codes) & set(o.codes)
        }
        if not shared:
            continue
        held = sorted({c for codes in shared.values() for c in codes})
        where = "; ".join(f"{', '.join(codes)} in {t}" for t, codes in shared.items())
        if set(held) == set(m.codes):
            notes.append(
                f"no effect: what if {m.token} leaves: all its countries are also in other "
                f"members ({where}) and stay in the zone with them; its values are 0"
            )
        else:
            notes.append(
                f"what if {m.token} leaves: countries of it that are also in other members "
                f"({where}) stay in the zone; its values count only its other "
                f"{len(m.codes) - len(held)} of {len(m.codes)}"
            )
    return notes


def _watch_codes(world: World, scenario: Scenario, user_codes: set[str]) -> list[str]:
    """The scenario's watch list in full (members included: a member that leaves the zone is a
    watch country again in that coalition)."""
    _, watch, in_both = zone_codes(world, scenario, user_codes)
    return sorted(set(watch) | set(in_both))
