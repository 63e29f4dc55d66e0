"""Linked chains: the stage markets of one mineral solved as one system (arrays only).

A chain is a list of :class:`ChainStage` in order (ore -> intermediate -> refined -> product).
Each stage is an Armington market of :mod:`critmin.model.core` over the same ``n`` countries
(the same order at every stage), with its own policy. The stages are linked
(``DESIGN.md``, "Linked chains"):

* **Input link** (``link="input"``): country ``i``'s producers at stage ``s`` buy the stage
  ``s-1`` composite of country ``i`` (Armington across sources, at its buyer prices) in fixed
  proportion to their output. With input cost share ``a_i`` (baseline input spending / output
  value; = input coefficient x input unit value / output unit value, content terms), zero
  profit gives the value-added price ``w_i = (pt_i - a_i P^{s-1}_i) / (1 - a_i)`` and supply
  ``S_i = A_i w_i^eps_i`` (value added with its own supply elasticity; Leontief between the
  input and value added). ``pt`` is the price producers receive (``max(pi, G)`` under a
  producer-subsidy floor). With ``a = 0`` this is the single market's ``S = pt^eps``.
* **Derived demand**: the stage ``s-1`` composite demanded by buyer ``j`` is its other use
  plus its producers' input, ``D_j = H_j (1 - delta_j) P_j^(-eta) + delta_j S^s_j`` (baseline-value
  units, baseline 1; ``H_j`` = ``demand_shift``, the buyers' demand multiplier of the other use,
  1 = none: demand growth or a demand shock), with ``delta_j = a_j R^s_j / E^{s-1}_j`` the input's share of ``j``'s
  baseline purchases. Where the data show a country buying less input than its output needs
  (``a_j R^s_j > E^{s-1}_j``: unrecorded or own inputs), ``a_j`` is cut to ``E^{s-1}_j /
  R^s_j`` and :attr:`ChainSolution.notes` says so. Final demand sits at the last stage.
* **By-product link** (``link="byproduct"``): capacity follows the host's output (the previous
  stage, same country): ``S_i = A_i S^host_i pt_i^eps_i``; ``eps`` is the by-product's own
  capacity response. No input is bought (joint production), so the host sees no derived
  demand. ``supply_shift`` ``A`` carries a scenario's shock to output or recovery.
* **Rules of origin**: ``origin_share`` ``phi_i`` is the share of country ``i``'s output of
  this stage sold under ``policy``; the rest is sold under ``alt_policy`` (a member's
  non-qualifying output treated as non-member supply). Both shares are Armington varieties
  of the same producer with one price; a producer-subsidy floor reaches the share ``phi``
  only (``pt = phi max(pi, G) + (1 - phi) pi``). See :func:`origin_shares`.

A chain of one stage is exactly the single-market model. The system and its compiled
solver are :mod:`critmin.model.chain_kernels`; the solve is :mod:`critmin.model.chain_solver`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from critmin.model.core import FloatArray, Market, ModelInputError, Policy, ResolvedPolicy

if TYPE_CHECKING:
    from critmin.model.kernel_tuples import ChainArrays

Link = Literal["none", "input", "byproduct"]
_LINKS = ("none", "input", "byproduct")

__all__ = ["ChainSetup", "ChainStage", "Link", "chain_setup", "origin_shares", "reshift"]


def _vector(value: Any, n: int, name: str, default: float, lo: float, hi: float) -> FloatArray:
    """A length-``n`` float vector in ``[lo, hi]`` (a scalar is broadcast)."""
    if value is None:
        return np.full(n, default)
    arr = np.array(np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)), dtype=np.float64)
    if not np.isfinite(arr).all() or (arr < lo).any() or (arr > hi).any():
        raise ModelInputError(f"{name}: expected {n} finite numbers in [{lo:g}, {hi:g}]")
    return arr


@dataclass(frozen=True, eq=False)
class ChainStage:
    """One stage of a chain.

    Attributes:
        market: the stage's Armington market (same ``n`` countries as every other stage).
        policy: its instruments (``None``: no change).
        link: how supply depends on the previous stage: ``"none"`` (first stage),
            ``"input"`` (buys the previous stage's composite) or ``"byproduct"``.
        input_share: ``(n,)`` input cost share ``a_i`` in ``[0, 1)`` (input link).
        supply_shift: ``(n,)`` exogenous multiplier ``A_i > 0`` of supply (host output or
            recovery shocks, capacity; 1 = none).
        demand_shift: ``(n,)`` exogenous multiplier ``H_j > 0`` of buyer ``j``'s other use
            (final demand at the last stage): ``H_j (1 - delta_j) P_j^(-eta)`` (demand growth,
            demand shocks, stock purchases or releases; 1 = none).
        origin_share: ``(n,)`` share ``phi_i`` of country ``i``'s output sold under ``policy``,
            the rest under ``alt_policy`` (rules of origin); ``None``: all under ``policy``.
        alt_policy: the instruments facing the non-qualifying share.
        name: a label (messages, results).
    """

    market: Market
    policy: Policy | None = None
    link: Link = "none"
    input_share: FloatArray | None = None
    supply_shift: FloatArray | None = None
    origin_share: FloatArray | None = None
    alt_policy: Policy | None = None
    name: str = ""
    demand_shift: FloatArray | None = None

    def __post_init__(self) -> None:
        n = self.market.n
        if self.link not in _LINKS:
            raise ModelInputError(f"link: expected none, input or byproduct, got {self.link!r}")
        object.__setattr__(
            self, "input_share", _vector(self.input_share, n, "input_share", 0.0, 0.0, 0.999)
        )
        shift = _vector(self.supply_shift, n, "supply_shift", 1.0, 0.0, 1e6)
        if (shift <= 0).any():
            raise ModelInputError("supply_shift: multipliers must be > 0")
        object.__setattr__(self, "supply_shift", shift)
        dshift = _vector(self.demand_shift, n, "demand_shift", 1.0, 0.0, 1e6)
        if (dshift <= 0).any():
            raise ModelInputError("demand_shift: multipliers must be > 0")
        object.__setattr__(self, "demand_shift", dshift)
        object.__setattr__(
            self, "origin_share", _vector(self.origin_share, n, "origin_share", 1.0, 0.0, 1.0)
        )

    def with_shifts(self, supply_shift: FloatArray, demand_shift: FloatArray) -> ChainStage:
        """A copy with new supply and demand shifts (``(n,)``, finite, > 0); the rest of the
        stage is already validated. Many solves of one chain under moving shifts (yearly paths)
        pair this with :func:`reshift`."""
        out = object.__new__(ChainStage)
        out.__dict__.update(self.__dict__)
        n = self.market.n
        for name, value in (("supply_shift", supply_shift), ("demand_shift", demand_shift)):
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (n,) or not (np.isfinite(arr) & (arr > 0)).all():
                raise ModelInputError(f"{name}: expected {n} finite multipliers > 0")
            object.__setattr__(out, name, arr)
        return out


@dataclass(frozen=True, eq=False)
class ChainSetup:
    """The flat arrays of a chain (:class:`critmin.model.kernel_tuples.ChainArrays`) and what
    it takes to turn a solution back into countries."""

    arrays: ChainArrays
    n: int
    policies: list[ResolvedPolicy]
    alt_policies: list[ResolvedPolicy]
    pair_country: NDArray[np.intp]  # seller country of every pair
    pair_alt: NDArray[np.bool_]  # pair of a non-qualifying share
    pair_t1: FloatArray
    pair_F: FloatArray
    E: FloatArray  # (S, n) baseline expenditure
    rev0: FloatArray  # (S, n) baseline tariff revenue
    R: FloatArray  # (S, n) baseline sales
    X0: FloatArray  # (S, n) baseline exports
    input_share: FloatArray  # (S, n) effective input cost shares
    notes: list[str] = field(default_factory=list)


def _cat(parts: list[Any], dtype: Any) -> NDArray[Any]:
    if not parts:
        return np.zeros(0, dtype=dtype)
    out = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.ascontiguousarray(out, dtype=dtype)


def chain_setup(stages: list[ChainStage]) -> ChainSetup:
    """Flatten a chain into the arrays of the compiled system.

    Baseline sums (sales ``R``, exports ``X0``, expenditure ``E``, tariff revenue) run over
    the pairs in the order the compiled evaluation sums them, so "no change" reproduces the
    baseline bit for bit.
    """
    # the compiled chain kernels load only when a chain is built (from the AOT build where
    # it is current, else Numba's JIT: critmin.model.compiled)
    from critmin.model.compiled import LINK_BYPRODUCT, LINK_INPUT, LINK_NONE, stage_pairs
    from critmin.model.kernel_tuples import ChainArrays

    link_codes = {"none": LINK_NONE, "input": LINK_INPUT, "byproduct": LINK_BYPRODUCT}
    if not stages:
        raise ModelInputError("a chain needs at least one stage")
    n = stages[0].market.n
    S = len(stages)
    for k, st in enumerate(stages):
        if st.market.n != n:
            raise ModelInputError(
                f"stage {k + 1} ({st.name}): every stage needs the same {n} countries, "
                f"got {st.market.n}"
            )
        if (k == 0) != (st.link == "none"):
            raise ModelInputError(
                f"stage {k + 1} ({st.name}): link must be 'none' at the first stage only, "
                f"got {st.link!r}"
            )
    notes: list[str] = []
    pol = [(st.policy or Policy()).resolve(st.market) for st in stages]
    alt = [(st.alt_policy or st.policy or Policy()).resolve(st.market) for st in stages]
    E = np.zeros((S, n))
    rev0 = np.zeros((S, n))
    R = np.zeros((S, n))
    X0 = np.zeros((S, n))
    per_stage = []
    for s, st in enumerate(stages):
        m = st.market
        phi = st.origin_share if st.alt_policy is not None else np.ones(n)
        assert phi is not None
        p, q = pol[s], alt[s]
        ri, rj, rV, rt0, rt1, rF, ralt, is_open, E[s], rev0[s], R[s], X0[s] = stage_pairs(
            m.V, m.t0, p.t1, p.banned, p.levy_floor, q.t1, q.banned, q.levy_floor,
            np.asarray(phi, dtype=np.float64), p.export_cap,
        )  # fmt: skip
        off = ri != rj
        per_stage.append((ri, rj, rV, rt0, rt1, rF, ralt, off, is_open))

    # effective input shares and derived-demand shares
    a_eff = np.zeros((S, n))
    delta = np.zeros((S, n))
    for s in range(1, S):
        if stages[s].link != "input":
            continue
        a = np.asarray(stages[s].input_share, dtype=np.float64)
        need = a * R[s]
        with np.errstate(divide="ignore", invalid="ignore"):
            cut = (need > E[s - 1]) & (R[s] > 0)
            a_s = np.where(cut, np.where(R[s] > 0, E[s - 1] / R[s], 0.0), a)
        a_s = np.minimum(a_s, a)
        a_eff[s] = np.where(R[s] > 0, a_s, 0.0)
        if cut.any():
            codes = stages[s].market.countries
            who = [codes[i] if codes else f"#{i}" for i in np.flatnonzero(cut)]
            notes.append(
                f"stage {s + 1} ({stages[s].name}): input cost share cut for {', '.join(who[:8])}"
                f"{' and more' if len(who) > 8 else ''} (recorded purchases of the input "
                "stage are below what its output needs)"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            delta[s - 1] = np.where(E[s - 1] > 0, a_eff[s] * R[s] / E[s - 1], 0.0)
        delta[s - 1] = np.clip(delta[s - 1], 0.0, 1.0)

    notes.extend(_close_without_input(stages, per_stage, E, R, a_eff))

    # slots, pairs, unknowns
    slot_of = np.full((S, n), -1, dtype=np.intp)
    sl: dict[str, list[Any]] = {
        k: []
        for k in ("sstage", "scountry", "R", "eps", "lnG", "lnA", "a", "phi", "su", "sq", "host")
    }
    sl["capX0"] = []
    zslot: list[int] = []
    zkind: list[int] = []
    pstart, sstart, zstart = [0], [0], [0]
    pairs: dict[str, list[Any]] = {
        k: [] for k in ("pslot", "pu", "pq", "pj", "pV", "pw", "pdlt", "plnFc", "poff")
    }
    pair_country, pair_alt, pair_t1, pair_F = [], [], [], []
    supplied = np.zeros((S, n), dtype=np.bool_)
    any_floor = False
    G = 0
    for s, st in enumerate(stages):
        ri, rj, rV, rt0, rt1, rF, ralt, off, is_open = per_stage[s]
        producers = np.flatnonzero(R[s] > 0)
        sells = np.zeros(n, dtype=bool)
        sells[ri[is_open]] = True
        exports = np.zeros(n, dtype=bool)
        exports[ri[is_open & off]] = True
        cap = pol[s].export_cap
        sub = pol[s].subsidy_floor
        alt_sub = alt[s].subsidy_floor
        phi = st.origin_share if st.alt_policy is not None else np.ones(n)
        assert phi is not None and st.supply_shift is not None
        k = len(producers)
        slots = G + np.arange(k)
        slot_of[s, producers] = slots
        sells_p = sells[producers]
        with np.errstate(divide="ignore"):
            lnG = np.where(sub[producers] > 0, np.log(sub[producers]), -np.inf)
        if s > 0 and st.link == "byproduct":
            host = slot_of[s - 1, producers]
            notes.extend(_hostless_note(stages, s, producers[host < 0], R[s]))
        else:
            host = np.full(k, -1, dtype=np.intp)
        z0 = len(zslot)
        su = np.where(sells_p, z0 + np.cumsum(sells_p) - 1, -1)
        zslot.extend(slots[sells_p].tolist())
        zkind.extend([0] * int(sells_p.sum()))
        capp = cap[producers]
        quota = np.isfinite(capp) & (capp > 0) & (X0[s, producers] > 0) & sells_p
        quota &= exports[producers]
        z1 = len(zslot)
        sq = np.where(quota, z1 + np.cumsum(quota) - 1, -1)  # quotas after the stage's prices
        zslot.extend(slots[quota].tolist())
        zkind.extend([1] * int(quota.sum()))
        for name, vals in (
            ("sstage", np.full(k, s)),
            ("scountry", producers),
            ("R", R[s, producers]),
            ("eps", st.market.eps[producers]),
            ("lnG", lnG),
            ("lnA", _ln_shift(st.supply_shift[producers], sells_p)),
            ("a", a_eff[s, producers]),
            ("phi", np.where(alt_sub[producers] >= sub[producers], 1.0, phi[producers])),
            ("host", host),
            ("su", su),
            ("sq", sq),
            ("capX0", np.where(quota, np.where(quota, capp, 1.0) * X0[s, producers], 1.0)),
        ):
            sl[name].append(vals)
        G += len(producers)
        o = is_open
        supplied[s, rj[o]] = True
        ps = slot_of[s, ri[o]]
        pairs["pslot"].append(ps)
        pairs["pu"].append(su[ps - (G - len(producers))])
        pairs["pq"].append(sq[ps - (G - len(producers))])
        pairs["pj"].append(rj[o])
        pairs["pV"].append(rV[o])
        pairs["pw"].append(rV[o] * (1.0 + rt0[o]))
        with np.errstate(divide="ignore"):
            dlt = np.where(rt1[o] != rt0[o], np.log((1.0 + rt1[o]) / (1.0 + rt0[o])), 0.0)
            lnFc = np.where(rF[o] > 0, np.log(rF[o] / (1.0 + rt0[o])), -np.inf)
        any_floor = any_floor or bool((rF[o] > 0).any())
        pairs["pdlt"].append(dlt)
        pairs["plnFc"].append(lnFc)
        pairs["poff"].append(off[o].astype(float))
        pair_country.append(ri[o])
        pair_alt.append(ralt[o])
        pair_t1.append(rt1[o])
        pair_F.append(rF[o])
        pstart.append(pstart[-1] + int(o.sum()))
        sstart.append(G)
        zstart.append(len(zslot))

    nxt = np.full((S, n), -1, dtype=np.intp)
    for s in range(S - 1):
        if stages[s + 1].link == "input":
            nxt[s] = slot_of[s + 1]
    delta = np.where(nxt >= 0, delta, 0.0)
    pj_all = _cat(pairs["pj"], np.intp)
    W = E.copy()
    arrays = ChainArrays(
        sigma=np.array([st.market.sigma for st in stages]),
        eta=np.array([st.market.eta for st in stages]),
        link=np.array([link_codes[st.link] for st in stages], dtype=np.intp),
        pstart=np.array(pstart, dtype=np.intp),
        sstart=np.array(sstart, dtype=np.intp),
        zstart=np.array(zstart, dtype=np.intp),
        W=W,
        supplied=supplied,
        delta=delta,
        nxt=nxt,
        lnH=np.ascontiguousarray(
            np.log(np.array([np.asarray(st.demand_shift, dtype=np.float64) for st in stages]))
        ),
        pslot=_cat(pairs["pslot"], np.intp),
        pu=_cat(pairs["pu"], np.intp),
        pq=_cat(pairs["pq"], np.intp),
        pj=pj_all,
        pV=_cat(pairs["pV"], float),
        pw=_cat(pairs["pw"], float),
        pdlt=_cat(pairs["pdlt"], float),
        plnFc=_cat(pairs["plnFc"], float),
        poff=_cat(pairs["poff"], float),
        sstage=_cat(sl["sstage"], np.intp),
        scountry=_cat(sl["scountry"], np.intp),
        R=_cat(sl["R"], float),
        eps=_cat(sl["eps"], float),
        lnG=_cat(sl["lnG"], float),
        lnA=_cat(sl["lnA"], float),
        a=_cat(sl["a"], float),
        phi=_cat(sl["phi"], float),
        su=_cat(sl["su"], np.intp),
        sq=_cat(sl["sq"], np.intp),
        host=_cat(sl["host"], np.intp),
        capX0=_cat(sl["capX0"], float),
        zslot=np.array(zslot, dtype=np.intp),
        zkind=np.array(zkind, dtype=np.intp),
        any_floor=any_floor,
    )
    return ChainSetup(
        arrays=arrays,
        n=n,
        policies=pol,
        alt_policies=alt,
        pair_country=_cat(pair_country, np.intp),
        pair_alt=_cat(pair_alt, np.bool_),
        pair_t1=_cat(pair_t1, float),
        pair_F=_cat(pair_F, float),
        E=E,
        rev0=rev0,
        R=R,
        X0=X0,
        input_share=a_eff,
        notes=notes,
    )


def _ln_shift(shift: FloatArray, sells: NDArray[np.bool_]) -> FloatArray:
    """``ln A`` of producer slots; ``-inf`` for a producer that sells on no open pair (banned
    from every market, or an export cap of 0 and no home sales): it produces nothing, which
    the results say (``S = 0``), so the compiled evaluation, which prices such a slot at the
    baseline, must give it no output either (``ln S = -inf``, clipped): else it would go on
    buying its input (derived demand ``delta S``) and feeding a by-product as if it produced
    its baseline output (Zambia's copper refiners banned from every market bought USD 1.55 bn of
    their USD 1.57 bn of concentrate)."""
    with np.errstate(divide="ignore"):
        return np.asarray(np.where(sells, np.log(shift), -np.inf), dtype=np.float64)


def _hostless_note(
    stages: list[ChainStage], s: int, hostless: NDArray[np.intp], R: FloatArray
) -> list[str]:
    """A note naming the producers of by-product stage ``s`` whose country has no baseline
    output of the host (stage ``s - 1``): nothing for their capacity to follow, so their
    supply is the first stage's ``S = A pt^eps``, not ``A S_host pt^eps``; a host shock does
    not reach them and a recovery shock scales them as it scales the rest. On the bundled
    data they are many (HS 811292 mixes gallium with germanium and other metals: 36% of the
    zone's sales of the gallium chain's last stage, among them Korea's and Japan's), and
    the results said nothing."""
    if hostless.size == 0:
        return []
    codes = stages[s].market.countries
    largest = hostless[np.argsort(-R[hostless], kind="stable")]
    who = [codes[i] if codes else f"#{i}" for i in largest.tolist()]
    share = float(R[hostless].sum() / R.sum())
    return [
        f"stage {s + 1} ({stages[s].name}): by-product producers without baseline output of "
        f"their host (stage {s}, {stages[s - 1].name}), largest first: {', '.join(who[:8])}"
        f"{' and more' if len(who) > 8 else ''} ({share:.0%} of the stage's baseline sales); "
        "their capacity follows their own price only (S = A pt^eps), not a host's output"
    ]


def _close_without_input(
    stages: list[ChainStage],
    per_stage: list[tuple[Any, ...]],
    E: FloatArray,
    R: FloatArray,
    a_eff: FloatArray,
) -> list[str]:
    """Close (in ``per_stage``, stage after stage, so that it carries down the chain) every
    pair of the producers that cannot produce: at an input-linked stage those with an input
    cost share ``a > 0`` whose country buys the previous stage (``E > 0``) from no open pair
    (every supplier banned: Leontief technology, no input, no output), and at a by-product
    stage those whose host sells on no open pair (joint production). Returns ``cut off:``
    notes naming them. Left open, the compiled evaluation would price their missing input at
    the baseline (a bought input's composite price is 1 where no pair supplies it) and have
    them produce as before: US lithium refiners, cut off from every ore supplier by a ban on
    non-member ore to the US, kept 99% of their output."""
    notes: list[str] = []
    n = E.shape[1]
    for s in range(1, len(stages)):
        link = stages[s].link
        if link == "none":
            continue
        ri0, rj0, *_, is_open0 = per_stage[s - 1]
        if link == "input":
            supplied = np.zeros(n, dtype=bool)
            supplied[rj0[is_open0]] = True
            idle = (E[s - 1] > 0) & ~supplied & (a_eff[s] > 0) & (R[s] > 0)
            why = "no supplier of their input is left"
        else:
            sells = np.zeros(n, dtype=bool)
            sells[ri0[is_open0]] = True
            idle = (R[s - 1] > 0) & ~sells & (R[s] > 0)
            why = "their host sells nothing"
        ri, rj, rV, rt0, rt1, rF, ralt, off, is_open = per_stage[s]
        closing = idle[ri] & is_open
        if not closing.any():
            continue
        still = is_open & ~idle[ri]
        per_stage[s] = (ri, rj, rV, rt0, rt1, rF, ralt, off, still)
        codes = stages[s].market.countries

        def names(idx: NDArray[np.intp], codes: tuple[str, ...] | None = codes) -> str:
            who = [codes[i] if codes else f"#{i}" for i in idx.tolist()]
            return ", ".join(who[:8]) + (" and more" if len(who) > 8 else "")

        before = np.zeros(n, dtype=bool)
        before[rj[is_open]] = True
        after = np.zeros(n, dtype=bool)
        after[rj[still]] = True
        stranded = np.flatnonzero(before & ~after)
        notes.append(
            f"cut off: stage {s + 1} ({stages[s].name}): {names(np.unique(ri[closing]))} "
            f"produce nothing: {why} (stage {s}, {stages[s - 1].name})"
            + (
                f"; that leaves {names(stranded)} with no supplier of this stage: their price is "
                "infinite, so their consumer surplus and welfare are undefined"
                if stranded.size
                else ""
            )
        )
    return notes


def origin_shares(
    stages: list[ChainStage],
    members: NDArray[np.bool_],
    rule: Literal["member_inputs", "rvc"],
    threshold: float = 0.0,
) -> list[FloatArray]:
    """Each stage's share of member output that qualifies as zone origin, traced from the
    first stage through the baseline flows (non-members: 0).

    * ``member_inputs``: the first stage's member output qualifies; at an input-linked stage
      a member's output qualifies in proportion to the qualifying member share of its input
      purchases (``sum_k s_ki phi_k`` over the previous stage's sellers ``k``, ``s`` the
      baseline purchase shares); a by-product follows its host.
    * ``rvc`` (regional value content): the member value share of each country's output is
      ``c_i = (1 - a_i) [i member] + a_i sum_k s_ki c_k`` (value added in members plus the
      member content of its inputs, traced through the chain; first stage
      ``c = [member]``); a member's output qualifies in full when ``c_i >= threshold`` and
      not at all otherwise.

    Baseline sourcing decides origin (the rule is applied before the scenario: firms'
    current supply contracts), so the shares are fixed during the solve. A member without
    recorded purchases of the input stage cannot show member inputs: its inputs count as
    non-member (under ``rvc`` its own value added, ``1 - a``, may still meet the threshold).
    """
    members = np.asarray(members, dtype=bool)
    out: list[FloatArray] = []
    content: FloatArray = members.astype(float)  # member value share of each country's output
    qual: FloatArray = members.astype(float)
    for s, st in enumerate(stages):
        if s == 0 or st.link == "none":
            content = members.astype(float)
            qual = members.astype(float)
        elif st.link == "byproduct":
            pass  # the host's origin: content and qualification carry over
        else:
            prev = stages[s - 1].market
            w = prev.V * (1.0 + prev.t0)
            E = w.sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                sh = np.where(E > 0, w / E, 0.0)
            bought = E > 0
            a = np.asarray(st.input_share, dtype=float)
            if rule == "member_inputs":
                traced = np.where(bought, sh.T @ qual, 0.0)
                qual = np.where(members, traced, 0.0)
            else:
                traced = np.where(bought, sh.T @ content, 0.0)
                content = (1.0 - a) * members + a * traced
                qual = np.where(members & (content >= threshold - 1e-12), 1.0, 0.0)
        out.append(np.clip(qual, 0.0, 1.0))
    return out


def reshift(cs: ChainSetup, stages: list[ChainStage]) -> ChainSetup:
    """The setup of ``stages`` from the setup ``cs`` of the same chain with other supply and
    demand shifts (same markets, policies, links and origin shares): only the log shifts
    ``lnA`` (per producer slot) and ``lnH`` (per stage and buyer) change, as
    :func:`chain_setup` would compute them, so a solve with either setup is bit-identical."""
    a = cs.arrays
    parts = []
    for s, st in enumerate(stages):
        g0, g1 = int(a.sstart[s]), int(a.sstart[s + 1])
        shift = np.asarray(st.supply_shift, dtype=np.float64)
        parts.append(_ln_shift(shift[a.scountry[g0:g1]], a.su[g0:g1] >= 0))
    lnA = _cat(parts, float)
    lnH = np.ascontiguousarray(
        np.log(np.array([np.asarray(st.demand_shift, dtype=np.float64) for st in stages]))
    )
    return replace(cs, arrays=a._replace(lnA=lnA, lnH=lnH))
