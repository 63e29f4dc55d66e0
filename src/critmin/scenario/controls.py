"""Export controls as they happen: destination quotas, licensing and leakage -> model arrays.

Called by :func:`critmin.scenario.resolution.build_policy` for the instruments that need the
model's quota groups (:class:`critmin.model.quota_groups.QuotaGroup`, docs/controls.md):

* ``export_quota`` with ``importers`` other than ``"all"``: a cap of ``share_of_baseline`` x
  the exporter's baseline exports to those destinations, with its own export-tax equivalent;
* ``export_licensing``: in an annual model a licence regime is a quota at ``grant_share`` x
  baseline exports to the destinations (a share by destination gives one group per share;
  a share of 0 is a ban, 1 a cap at the baseline exports, binding where they would rise);
* ``export_ban`` with ``leak_via``: the banned pair ``i -> j`` stays open at an extra ad valorem
  cost ``leak_cost`` (the detour through a third country ``k``), capped at ``leak_share`` x the
  vias' baseline exports to ``j`` (``sum_k V_kj``): what the intermediaries' trade can hide.
  The routed flow is attributed to the vias in proportion to ``V_kj``;
* ``export_quota`` or ``export_licensing`` with ``leak_via``: the exporter's sales to each
  destination above the quota may go through the vias, at the extra cost ``leak_cost`` and the
  vias' tariff into the destination, up to ``L_ij = leak_share x sum_k V_kj``
  (:class:`critmin.model.quota_groups.GroupLeak`: the direct flow stays under the quota, the
  routed one under ``L_ij``); where the quota's share is 0 the pair is a leaky ban.

The vias are third countries: a country the policy names explicitly that is one of its
exporters or restricted destinations is refused (one message); the ones a selector such as
``"all"`` or ``"non-members"`` brings in are left out. A pair leaks under at most one policy.
Where several of these cover the same pair, the lowest cap per pair applies; pairs with the
same exporter and cap form one group (a joint cap over their destinations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from critmin.baseline import ProductBaseline
from critmin.errors import ScenarioError
from critmin.model.quota_groups import GroupLeak, QuotaGroup
from critmin.scenario.no_effect import codes, goods
from critmin.scenario.spec import (
    ExportBanPolicy,
    ExportLicensingPolicy,
    ExportQuotaPolicy,
    Scenario,
    Selector,
)

__all__ = ["ControlArrays", "LeakRoute", "is_control", "market_shifts", "resolve_controls"]


@dataclass(frozen=True)
class LeakRoute:
    """A leaky banned pair: origin and destination indices and the vias' shares."""

    origin: int
    destination: int
    vias: tuple[tuple[int, float], ...]


@dataclass
class ControlArrays:
    """What the controls add to a market's policy."""

    groups: list[QuotaGroup] = field(default_factory=list)
    trade_cost: np.ndarray | None = None
    banned: np.ndarray | None = None
    via_tariff: dict[tuple[int, int], float] = field(default_factory=dict)
    routes: list[LeakRoute] = field(default_factory=list)


def is_control(pol: object) -> bool:
    """Whether ``build_policy`` hands this policy to :func:`resolve_controls`."""
    if isinstance(pol, ExportLicensingPolicy):
        return True
    if isinstance(pol, ExportQuotaPolicy):
        return pol.importers != "all" or pol.leak_via is not None
    if isinstance(pol, ExportBanPolicy):
        return pol.leak_via is not None
    return False


def _grant_shares(
    pol: ExportLicensingPolicy,
    base: ProductBaseline,
    rows: np.ndarray,
    cols: np.ndarray,
    select: Callable[[Selector, str], np.ndarray],
    fname: str,
    notes: list[str],
) -> np.ndarray:
    """Grant share per destination (nan off the policy's destinations). A share given for a
    country that is not among the policy's importers, or that buys nothing from the
    exporters in this market's baseline (absent from the market, or no trade with them), gets
    a ``no effect`` note: it would be ignored in silence."""
    share = np.full(base.n, np.nan)
    foreign = base.V[rows].copy()
    foreign[:, np.flatnonzero(rows)] = 0.0  # the exporters' own (domestic) sales
    buys = (foreign > 0).any(axis=0)  # destinations the exporters sell to in the baseline
    if isinstance(pol.grant_share, dict):
        default = pol.grant_share.get("default")
        if default is not None:
            share[cols] = default
        for code, value in pol.grant_share.items():
            if code == "default":
                continue
            named = select([code], f"{fname}.grant_share")
            mask = named & cols
            if named.any() and not mask.any():
                notes.append(
                    f"no effect: {fname}.grant_share.{code}: {code} is not among the "
                    "policy's importers, so its share is not used"
                )
            elif not (mask & buys).any():
                notes.append(
                    f"no effect: {fname}.grant_share.{code}: {code} buys no "
                    f"{goods(base)} from {codes(base, rows)} in the baseline, so its "
                    "share is not used"
                )
            share[mask] = value
        bare = cols & np.isnan(share) & (base.V.sum(axis=0) > 0)
        if bare.any():  # without a default, an importer not named gets no licence at all
            notes.append(
                f"no effect: {fname}.grant_share has no default and no share for "
                f"{codes(base, bare)}: the licence does not cover their imports (add "
                "default = ... or a share for them)"
            )
    else:
        share[cols] = pol.grant_share
    return share


@dataclass(frozen=True)
class _LeakSpec:
    """A pair's leak: the policy's field name, its vias, cost and share."""

    fname: str
    via: np.ndarray
    cost: float
    share: float


def _leak_vias(
    pol: ExportBanPolicy | ExportQuotaPolicy | ExportLicensingPolicy,
    fname: str,
    rows: np.ndarray,
    cols: np.ndarray,
    base: ProductBaseline,
    select: Callable[[Selector, str], np.ndarray],
) -> np.ndarray:
    """The policy's vias: third countries only. A code named in ``leak_via`` that is an
    exporter or a restricted destination of the policy is refused; selectors and groups
    keep their third countries."""
    assert pol.leak_via is not None
    field_name = f"{fname}.leak_via"
    via = select(pol.leak_via, field_name)
    named = np.zeros(base.n, dtype=bool)
    if isinstance(pol.leak_via, list):
        codes = {c.strip().upper() for c in pol.leak_via}
        named = np.array([c in codes for c in base.countries], dtype=bool)
    kind = "banned" if isinstance(pol, ExportBanPolicy) else "restricted"
    for mask, one, many in (
        (rows, "is an exporter", "are exporters"),
        (cols & ~rows, f"is a {kind} destination", f"are {kind} destinations"),
    ):
        wrong = named & mask
        if wrong.any():
            codes_ = ", ".join(base.countries[i] for i in np.flatnonzero(wrong))
            raise ScenarioError(
                field_name,
                f"{codes_} {one if wrong.sum() == 1 else many} of this {pol.type}: "
                "leakage must go through a third country (neither the exporter nor a "
                "restricted destination)",
            )
    return via & ~rows & ~cols


def _via_shares(
    spec: _LeakSpec, i: int, j: int, base: ProductBaseline
) -> tuple[float, tuple[tuple[int, float], ...]]:
    """The vias' baseline exports to ``j`` (``sum_k V_kj``) and their shares of it."""
    vias = spec.via.copy()
    vias[[i, j]] = False
    through = np.where(vias, base.V[:, j], 0.0)
    total = float(through.sum())
    if total <= 0:
        return 0.0, ()
    return total, tuple((int(v), float(through[v] / total)) for v in np.flatnonzero(through > 0))


def _no_via_notes(
    stuck: dict[str, list[tuple[int, int]]], base: ProductBaseline, leaky: dict[str, int]
) -> list[str]:
    """One note per policy naming the pairs that cannot leak (no via exports the product to
    their destination); a ``no effect:`` warning on its ``leak_via`` when that is every pair
    it could leak on (``leaky``: each policy's number of such pairs)."""
    out = []
    for fname, pairs in stuck.items():
        shown = ", ".join(f"{base.countries[i]} -> {base.countries[j]}" for i, j in pairs[:8])
        more = f" and {len(pairs) - 8} more" if len(pairs) > 8 else ""
        out.append(
            f"{'no effect: ' if len(pairs) >= leaky.get(fname, 0) else ''}"
            f"{fname}.leak_via: no via country (a third country, neither exporter nor restricted "
            f"destination) exports this product to the destination of {shown}{more}: "
            f"{'that pair' if len(pairs) == 1 else 'those pairs'} cannot leak"
        )
    return out


def _evasion_notes(
    cheap: dict[str, list[tuple[int, int, float]]], base: ProductBaseline
) -> list[str]:
    """One note per leaky ban whose route costs less than the direct sale it replaces.

    A routed pair's buyer price is ``pi (1 + e)(1 + e_r)(1 + leak_cost)(1 + tv)`` (``e_r`` the
    route's export-tax equivalent, its rent) against ``pi (1 + e)(1 + t_ij)`` for the direct
    sale without the ban (docs/controls.md, "Leakage and transshipment"): relative to it the
    route costs ``(1 + e_r) kappa`` with ``kappa = (1 + leak_cost)(1 + tv) / (1 + t_ij)``.
    Where ``kappa < 1`` (a duty aimed at the origin, such as Section 301, above the detour
    cost plus the vias' tariff) and the route's rent stays below ``1 / kappa - 1``, the banned
    goods reach the destination more cheaply than before the ban: the ban raises its imports
    of them and lowers its price, since the result without the ban has no route. ``cheap``:
    per policy, its pairs and their ``kappa``."""
    out = []
    for fname, pairs in cheap.items():
        shown = ", ".join(
            f"{base.countries[i]} -> {base.countries[j]} ({(k - 1) * 100:+.1f}%, rent below "
            f"{(1 / k - 1) * 100:.1f}%)"
            for i, j, k in pairs[:8]
        )
        more = f" and {len(pairs) - 8} more" if len(pairs) > 8 else ""
        out.append(
            f"{fname}.leak_via: the route through the vias costs less than the direct sale "
            f"the ban stops (leak_cost plus the vias' tariff against the direct tariff: "
            f"{shown}{more}): while the route's export-tax equivalent (export_controls) stays "
            "below that rent, the banned goods reach the destination more cheaply than before "
            "the ban, which then raises its imports from the exporter and lowers its price; "
            "this is tariff evasion, not leakage (the result without the ban has no route)"
        )
    return out


def resolve_controls(
    policies: list[tuple[int, object]],
    base: ProductBaseline,
    select: Callable[[Selector, str], np.ndarray],
    notes: list[str],
    t1: np.ndarray | None = None,
    banned_already: np.ndarray | None = None,
) -> ControlArrays:
    """Quota groups, trade costs, extra bans and leak routes of one market.

    ``policies``: the scenario's control policies with their indices; ``select`` the
    scenario's country selector for this market; ``t1`` the scenario tariffs so far: a leaked
    pair pays the vias' tariff into the destination (their average, weighted as the routed
    flow is split), not the origin's (``via_tariff`` for a leaky ban, ``GroupLeak.via_tariff``
    for a leaky quota); ``banned_already`` the pairs the scenario's other bans remove (a ban
    without leakage wins over a leaky quota on the same pair)."""
    n = base.n
    V = base.V
    offdiag = ~np.eye(n, dtype=bool)
    pair_cap = np.full((n, n), np.inf)
    pair_from = np.zeros((n, n), dtype=np.int8)  # which instruments set a pair's cap
    banned = np.zeros((n, n), dtype=bool)
    cost = np.zeros((n, n))
    routes: list[LeakRoute] = []
    via_tariff: dict[tuple[int, int], float] = {}
    tariffs = base.t0 if t1 is None else t1
    leaks: dict[tuple[int, int], _LeakSpec] = {}  # every leaky pair, ban or quota
    quota_leaks: list[tuple[int, int]] = []
    stuck: dict[str, list[tuple[int, int]]] = {}
    cheap: dict[str, list[tuple[int, int, float]]] = {}  # leaky bans' routes below kappa 1

    def route_cost(fname: str, i: int, j: int, cost: float, tv: float) -> None:
        kappa = (1.0 + cost) * (1.0 + tv) / (1.0 + float(tariffs[i, j]))
        if kappa < 1.0:
            cheap.setdefault(fname, []).append((i, j, kappa))

    def add_leaks(spec: _LeakSpec, pairs: np.ndarray) -> list[tuple[int, int]]:
        out = []
        for i, j in zip(*np.nonzero(pairs & (V > 0)), strict=True):
            key = (int(i), int(j))
            if key in leaks:
                raise ScenarioError(
                    f"{spec.fname}.leak_via",
                    f"{base.countries[i]} -> {base.countries[j]} already leaks under "
                    f"{leaks[key].fname}: give one leaky policy per pair",
                )
            leaks[key] = spec
            out.append(key)
        return out

    own_caps: list[tuple[str, str, np.ndarray]] = []  # each quota's and licence's own caps
    for k, pol in policies:
        fname = f"policy[{k}]"
        rows = select(pol.exporters, f"{fname}.exporters")  # type: ignore[attr-defined]
        cols = select(pol.importers, f"{fname}.importers")  # type: ignore[attr-defined]
        pairs = np.outer(rows, cols) & offdiag
        if not (pairs & (V > 0)).any():
            notes.append(
                f"no effect: {fname} ({pol.type}): no baseline trade from the exporters "  # type: ignore[attr-defined]
                "to the importers selected in this market: it does nothing here"
            )
            continue
        spec = None
        if getattr(pol, "leak_via", None) is not None:
            assert isinstance(pol, ExportBanPolicy | ExportQuotaPolicy | ExportLicensingPolicy)
            via = _leak_vias(pol, fname, rows, cols, base, select)
            if pol.leak_share <= 0:
                notes.append(
                    f"no effect: {fname}.leak_via: leak_share is 0: nothing can leak, the "
                    f"{pol.type} applies as without leak_via"
                )
            else:
                spec = _LeakSpec(fname, via, pol.leak_cost, pol.leak_share)
        if isinstance(pol, ExportQuotaPolicy):
            new = np.where(pairs, pol.share_of_baseline, np.inf)
            own_caps.append((fname, pol.type, new))
            pair_from = _capped_by(pair_from, pair_cap, new, _FROM_QUOTA)
            pair_cap = np.minimum(pair_cap, new)
            if spec is not None:
                quota_leaks += add_leaks(spec, pairs)
        elif isinstance(pol, ExportLicensingPolicy):
            share = _grant_shares(pol, base, rows, cols, select, fname, notes)
            cap = np.where(pairs, share[None, :], np.inf)
            new = np.where(np.isnan(cap), np.inf, cap)
            own_caps.append((fname, pol.type, new))
            pair_from = _capped_by(pair_from, pair_cap, new, _FROM_LICENCE)
            pair_cap = np.minimum(pair_cap, new)
            if spec is not None:
                quota_leaks += add_leaks(spec, pairs)
        elif isinstance(pol, ExportBanPolicy):
            if spec is None:  # leak_share 0: a tight ban
                banned |= pairs & (V > 0)
                continue
            for i, j in add_leaks(spec, pairs):
                total, shares = _via_shares(spec, i, j, base)
                if total <= 0:
                    banned[i, j] = True
                    stuck.setdefault(spec.fname, []).append((i, j))
                    continue
                pair_cap[i, j] = min(pair_cap[i, j], spec.share * total / V[i, j])
                cost[i, j] = max(cost[i, j], spec.cost)
                routes.append(LeakRoute(i, j, shares))
                via_tariff[(i, j)] = float(sum(w * tariffs[v, j] for v, w in shares))
                route_cost(spec.fname, i, j, spec.cost, via_tariff[(i, j)])
    group_leaks: dict[tuple[int, int], GroupLeak] = {}
    tight: dict[str, list[str]] = {}
    for i, j in quota_leaks:
        spec = leaks[(i, j)]
        if banned_already is not None and banned_already[i, j]:
            tight.setdefault(spec.fname, []).append(base.countries[j])
            continue
        total, shares = _via_shares(spec, i, j, base)
        if total <= 0:
            stuck.setdefault(spec.fname, []).append((i, j))
            continue
        tv = float(sum(w * tariffs[v, j] for v, w in shares))
        if pair_cap[i, j] == 0:  # a quota share or licence grant of 0: a leaky ban
            pair_cap[i, j] = spec.share * total / V[i, j]
            cost[i, j] = spec.cost
            routes.append(LeakRoute(i, j, shares))
            via_tariff[(i, j)] = tv
            route_cost(spec.fname, i, j, spec.cost, tv)
        else:
            group_leaks[(i, j)] = GroupLeak(j, spec.share * total, spec.cost, tv, shares)
    leaky: dict[str, int] = {}
    for leak in leaks.values():
        leaky[leak.fname] = leaky.get(leak.fname, 0) + 1
    notes += _no_via_notes(stuck, base, leaky)
    notes += _evasion_notes(cheap, base)
    notes += [
        f"{fname}.leak_via: a ban without leakage covers the pairs to {', '.join(codes)}: "
        "nothing leaks there"
        for fname, codes in tight.items()
    ]
    # the bans of the scenario's ban policies (not yet those that caps of 0 make: a cap of 0
    # is the policy's own ban, not another policy's)
    shut = banned if banned_already is None else banned | banned_already
    for fname, kind, own in own_caps:  # the tightest cap on a pair applies, a ban above all
        mine = np.isfinite(own) & (V > 0) & offdiag
        if mine.any() and ((pair_cap < own) | shut)[mine].all():
            notes.append(
                f"no effect: {fname} ({kind}): a tighter cap or a ban from another policy "
                "applies on every pair it selects"
            )
    banned |= (pair_cap == 0) & (V > 0) & offdiag
    groups: list[QuotaGroup] = []
    capped = np.isfinite(pair_cap) & (pair_cap > 0) & offdiag
    rerouted = np.zeros_like(capped)  # a leaky ban's pairs: their cap is the vias' trade
    for r in routes:
        rerouted[r.origin, r.destination] = True
    for i in (int(x) for x in np.flatnonzero(capped.any(axis=1))):
        for value in np.unique(pair_cap[i][capped[i]]):
            dest = capped[i] & (pair_cap[i] == value)
            if value >= 1.0 and not cost[i][dest].any() and not rerouted[i][dest].any():
                # a cap at or above baseline exports may still bind when prices abroad rise
                setters = [f"{f} ({k})" for f, k, own in own_caps if (own[i][dest] == value).any()]
                notes.append(
                    f"may have no effect: {' and '.join(setters)}: {base.countries[i]}: an "
                    f"export cap or licence grant share of {value:g} allows at least the "
                    "baseline exports; it is applied (it binds only if exports would rise "
                    "above it)"
                )
            notes += _pooled_note(own_caps, i, dest, float(value), base)
            kind = _KIND_WORDS[int(np.bitwise_or.reduce(pair_from[i][dest]))]
            groups.append(
                QuotaGroup(i, dest, float(value), f"{base.countries[i]} cap {value:g}", kind=kind)
            )
    leak_pairs = {(r.origin, r.destination): r.vias for r in routes}
    # a leaky banned pair is its own group (its cap is the vias' trade, not a share of its
    # own); a leaky quota's routes go with its group
    split: list[QuotaGroup] = []
    for g in groups:
        rest = g.destinations.copy()
        for d in (int(d) for d in np.flatnonzero(g.destinations)):
            if (g.exporter, d) not in leak_pairs:
                continue
            rest[d] = False
            one = np.zeros(n, dtype=bool)
            one[d] = True
            label = f"leak {base.countries[g.exporter]} -> {base.countries[d]}"
            split.append(
                QuotaGroup(
                    g.exporter, one, g.cap, label, via=leak_pairs[(g.exporter, d)], kind="ban"
                )
            )
        if rest.any():
            routed = tuple(
                group_leaks[(g.exporter, int(d))]
                for d in np.flatnonzero(rest)
                if (g.exporter, int(d)) in group_leaks
            )
            label = g.label + (" (leaky)" if routed else "")
            split.append(QuotaGroup(g.exporter, rest, g.cap, label, leaks=routed, kind=g.kind))
    return ControlArrays(
        groups=split,
        trade_cost=cost if cost.any() else None,
        banned=banned,
        routes=routes,
        via_tariff=via_tariff,
    )


_FROM_QUOTA = 1
_FROM_LICENCE = 2
_KIND_WORDS = {0: "quota", 1: "quota", 2: "licence", 3: "quota and licence"}
"""A quota group's ``kind`` from the instruments that set its pairs' caps (bit 1: an
``export_quota``, bit 2: ``export_licensing``; both where they give the same cap)."""


def _pooled_note(
    own_caps: list[tuple[str, str, np.ndarray]],
    i: int,
    dest: np.ndarray,
    value: float,
    base: ProductBaseline,
) -> list[str]:
    """A note where one exporter's caps of several policies are one group: the pairs with the
    same exporter and cap share a joint cap over their destinations (the module's docstring),
    so two licences at the same grant share are one pool, and the results show one group
    (``CHN cap 0.3``) where the scenario wrote two; said, with the policies, so that the user's
    own split is not lost without a word."""
    pooled = [f for f, _, own in own_caps if (own[i][dest] == value).any()]
    if len(pooled) < 2:
        return []
    return [
        f"{', '.join(pooled[:-1])} and {pooled[-1]}: {base.countries[i]}'s exports under them have the same cap "
        f"({value:g} of baseline exports) and form one group, a joint cap over its "
        f"{int(dest.sum())} destinations ({base.countries[i]} cap {value:g} in the results)"
    ]


def _capped_by(
    pair_from: np.ndarray, pair_cap: np.ndarray, new: np.ndarray, bit: int
) -> np.ndarray:
    """Which instruments set each pair's cap after ``min(pair_cap, new)``: ``bit`` alone
    where ``new`` is lower, ``bit`` added where it is the same finite cap."""
    lower = new < pair_cap
    same = (new == pair_cap) & np.isfinite(new)
    return np.where(lower, bit, np.where(same, pair_from | bit, pair_from)).astype(np.int8)


def market_shifts(
    scenario: Scenario,
    base: ProductBaseline,
    select: Callable[[Selector, str], np.ndarray],
    notes: list[str],
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Demand and supply shifters ``a_j``, ``k_i`` of the scenario's ``[[shock]]`` tables for
    this market (``None`` where there is no shock); shocks on the same country multiply, so a
    table given twice counts twice: a note says so (a copy left in by mistake doubled the
    shock in silence)."""
    demand = np.ones(base.n)
    supply = np.ones(base.n)
    seen: dict[str, int] = {}
    for k, shock in enumerate(scenario.shock):
        if shock.products is not None and base.product_id not in shock.products:
            continue
        same = seen.setdefault(shock.model_dump_json(exclude={"label"}), k)
        if same != k and shock.change != 0.0:
            notes.append(
                f"shock[{k}] repeats shock[{same}] ({shock.type}, change {shock.change:+g}): "
                "shocks on one country multiply, so the two together are a change of "
                f"{(1.0 + shock.change) ** 2 - 1.0:+g}; remove one if it was copied by mistake"
            )
        mask = select(shock.countries, f"shock[{k}].countries")
        label = f"shock[{k}] ({shock.type}{', ' + repr(shock.label) if shock.label else ''})"
        if shock.change == 0.0:
            notes.append(f"no effect: {label}: a change of 0 leaves {shock.type} as it is")
            continue
        if shock.type == "demand":
            hit = mask & (base.V.sum(axis=0) > 0)
            demand[hit] *= 1.0 + shock.change
        else:
            hit = mask & (base.V.sum(axis=1) > 0)
            supply[hit] *= 1.0 + shock.change
        if not hit.any():
            notes.append(
                f"no effect: {label}: none of the countries selected "
                f"{'buys' if shock.type == 'demand' else 'sells'} this product: it does nothing"
            )
    return (
        demand if (demand != 1.0).any() else None,
        supply if (supply != 1.0).any() else None,
    )
