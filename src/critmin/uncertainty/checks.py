"""Warnings of a Monte Carlo run that the scenario's own notes cannot give: its point estimate
far from the baseline, in ``critmin simulate``'s words, buyers that the disruptions drawn
leave with no supplier (each after its product id), and ``[uncertainty]`` settings that change
no draw. :func:`critmin.uncertainty.run.run_uncertainty` adds them to the run's ``warnings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from critmin.model.solver import solve
from critmin.scenario import ExportLicensingPolicy, Scenario, UncertaintySettings
from critmin.scenario.no_effect import closed_pairs, cut_buyers, listed
from critmin.simulation import EXTREME_PRICE_RATIO, FAR_FROM_BASELINE, extreme_notes
from critmin.uncertainty.results import OUTPUTS
from critmin.uncertainty.sampling import ParameterRange
from critmin.uncertainty.tasks import ProductTask, fired_events
from critmin.util import numerical_warnings

if TYPE_CHECKING:
    from critmin.scenario.resolution import ResolvedProduct

BLOCK = 100_000
"""Draws whose disruption events :func:`cut_off_in_draws` draws again at once (about 1 MB
per event)."""


def point_extremes(rp: ResolvedProduct, task: ProductTask) -> list[str]:
    """The ``extreme:`` warnings of the point estimate (point elasticities, the scenario's
    policies, no disruption), as ``critmin simulate`` gives them for the scenario
    (:func:`critmin.simulation.extreme_notes`): the market solved once more as simulate
    solves it, since the point's compiled reduction keeps no price or output per country."""
    with numerical_warnings():  # overflow at such a point: simulate's notes say it
        sol = solve(rp.market, rp.policy)
    return extreme_notes(rp, sol, task.E)


def cut_off_in_draws(task: ProductTask, countries: list[str], seed: int, draws: int) -> list[str]:
    """A ``cut off:`` warning when the disruption events fired in some of the ``draws`` leave
    buyers with no supplier on top of the scenario's own bans (:func:`draws_cutting_off`;
    buyers its bans alone cut off have the scenario's own warning): the disruptions, the share
    of draws and the buyers, named as the scenario's warnings name them (:func:`listed`)."""
    hit, cut = draws_cutting_off(task, seed, draws)
    if not hit:
        return []
    reach = (task.V > 0) & ~closed_pairs(task.policy.banned, task.policy.export_cap) & cut
    by = sorted({ev.disruption for ev in task.events if ev.pairs[reach].any()})
    labels = ", ".join(f"disruption[{d}]" for d in by)
    names = listed(countries, cut)
    whom = names if cut.sum() == 1 else f"some of {int(cut.sum())} buyers ({names})"
    return [
        f"cut off: {labels}: in {hit:,} of {draws:,} draws ({100 * hit / draws:.1f}%) the bans "
        f"drawn leave {whom} with no supplier: their price is infinite and their welfare "
        "undefined in those draws, so the figures they enter are left out of the medians and "
        "bands there (shown as '-', null in JSON, where no draw has them)"
    ]


def draws_cutting_off(task: ProductTask, seed: int, draws: int) -> tuple[int, np.ndarray]:
    """How many of the ``draws`` fire events that remove every supplier the scenario's own
    policies leave some buyer (:func:`cut_buyers` of the pairs :func:`closed_pairs` closes),
    and the buyers cut off in at least one draw (``(n,)`` bool). The events are drawn again
    from their streams (:func:`fired_events`), in blocks of :data:`BLOCK` draws, and only for
    the buyers that every event together would cut off: none in most scenarios."""
    cut = np.zeros(task.n, dtype=bool)
    if not task.events:
        return 0, cut
    closed = closed_pairs(task.policy.banned, task.policy.export_cap)
    cover = np.stack([ev.pairs for ev in task.events])  # (events, n, n)
    together = cut_buyers(task.V, closed | cover.any(axis=0))
    candidates = np.flatnonzero(together & ~cut_buyers(task.V, closed))
    if not len(candidates):
        return 0, cut
    open_pairs = (task.V > 0) & ~closed
    # per candidate buyer j, per supplier it has left: the events that remove that pair
    removers = [
        [np.flatnonzero(cover[:, i, j]) for i in np.flatnonzero(open_pairs[:, j])]
        for j in candidates
    ]
    hit = 0
    for start in range(0, draws, BLOCK):
        fired = fired_events(task, seed, start, min(start + BLOCK, draws))
        any_cut = np.zeros(len(fired), dtype=bool)
        for j, suppliers in zip(candidates, removers, strict=True):
            gone = np.ones(len(fired), dtype=bool)
            for events in suppliers:  # every supplier it has left removed by an event fired
                gone &= fired[:, events].any(axis=1)
            cut[j] |= bool(gone.any())
            any_cut |= gone
        hit += int(any_cut.sum())
    return hit, cut


def nonfinite_in_draws(draws: dict[str, np.ndarray]) -> list[str]:
    """A ``numerical:`` warning when converged draws of a product give a key output that is not
    a finite number (NaN or infinite) although no buyer is cut off: a price beyond the largest
    float, typically a sigma drawn a hair above 1 with a ban drawn (the composite price
    ``P = (sum_i s_i c_i^(1-sigma))^(1/(1-sigma))`` of a buyer that loses a share ``s`` is
    ``(1-s)^(-1/(sigma-1))``: 1e300 and more at sigma = 1.002). Such draws are left out of
    that output's median, band and mean (:meth:`ProductUncertainty.quantiles`), which then
    rest on fewer draws than the run's; before this warning they were left out without a
    word. The caller gives it only where no ``cut off:`` warning (whose draws are left out in
    the same way, and said) covers the product."""
    ok = np.asarray(draws["converged"], dtype=bool)
    total = int(ok.sum())
    bad = {
        label: int(np.count_nonzero(~np.isfinite(draws[key][ok])))
        for key, (label, _) in OUTPUTS.items()
        if key in draws
    }
    bad = {label: n for label, n in bad.items() if n}
    if not bad:
        return []
    which = "; ".join(f"{label.lower()}: {n:,} of {total:,}" for label, n in bad.items())
    return [
        f"numerical: converged draws give figures that are not finite numbers ({which}), "
        "left out of those figures' medians, bands and means: a price beyond the largest "
        "number, as a sigma drawn close to 1 with a ban gives; narrow the sigma range "
        "([uncertainty] ranges) to keep the draws away from 1"
    ]


PRICE_OUTPUTS = ("zone_consumer_price_change_pct", "outside_consumer_price_change_pct")
"""The draws' consumer price changes (%), checked by :func:`extreme_in_draws`."""


EXTREME_CHANGE_PCT = 100.0 * (EXTREME_PRICE_RATIO - 1.0)
"""A consumer price change (%) past which a draw, or the point, is far from the calibration."""


def extreme_in_draws(
    draws: dict[str, np.ndarray], point: dict[str, float] | None = None
) -> list[str]:
    """An ``extreme:`` warning when converged draws of a product move a consumer price more
    than :data:`critmin.simulation.EXTREME_PRICE_RATIO` times its baseline (a change above
    1,000%), as ``critmin simulate`` warns of its own result: a sigma drawn close to 1 with a
    ban drawn moves prices by orders of magnitude (a mean zone price change of 8e103% over
    2,000 draws of magnets, its 95th percentile 4e12%, printed without a word). Such draws
    pull the mean far from the median; the constant-elasticity curves say little that far from
    the calibration. The count, the largest change and where they are (zone, outside).
    Nothing when the ``point`` estimate's own zone or outside price change is past the bound:
    its own ``extreme:`` warning covers the draws (one about something else, a price falling
    92%, hid draws at +1e72%)."""
    if point is not None and any(
        point.get(key, np.nan) > EXTREME_CHANGE_PCT for key in PRICE_OUTPUTS
    ):
        return []
    ok = np.asarray(draws["converged"], dtype=bool)
    total = int(ok.sum())
    bound = EXTREME_CHANGE_PCT
    parts = []
    largest = -np.inf
    for key in PRICE_OUTPUTS:
        if key not in draws:
            continue
        change = np.asarray(draws[key], dtype=float)[ok]
        far = np.isfinite(change) & (change > bound)
        if far.any():
            parts.append(f"{OUTPUTS[key][0].lower()}: {int(far.sum()):,} of {total:,}")
            largest = max(largest, float(change[far].max()))
    if not parts:
        return []
    return [
        f"extreme: converged draws move a consumer price more than {EXTREME_PRICE_RATIO:g} "
        f"times its baseline ({'; '.join(parts)}; up to {largest:+,.3g}%): {FAR_FROM_BASELINE}; "
        "their mean says little (read the median), and a narrower sigma range keeps the draws "
        "away from 1"
    ]


def idle_settings(
    scenario: Scenario, settings: UncertaintySettings, tasks: Sequence[ProductTask]
) -> list[str]:
    """``no effect:`` warnings for ``[uncertainty]`` settings that change no draw, each of
    which a run accepted without a word:

    * a parameter both in ``ranges`` and in ``fixed`` (``fixed`` wins: the range is unused);
    * ``fixed = ["grant_share"]`` where no ``export_licensing`` policy has a
      ``grant_share_range`` (nothing to hold);
    * a range of a parameter whose point value is 0 in every product (``x_d = x * r`` stays 0:
      docs/uncertainty.md, "Sampling the elasticities");
    * a run in which nothing is drawn: every parameter of every product at a zero-width range
      (or a point value of 0), no licence share drawn and no disruption with a probability
      strictly between 0 and 1, so every draw is the same draw and the seed changes nothing.
    """
    out = [
        f"no effect: uncertainty.ranges.{name}: {name} is also in uncertainty.fixed, which holds "
        "it at its point value in every draw"
        for name in settings.ranges
        if name in settings.fixed
    ]
    if "grant_share" in settings.fixed and not any(
        isinstance(p, ExportLicensingPolicy) and p.grant_share_range is not None
        for p in scenario.policy
    ):
        out.append(
            "no effect: uncertainty.fixed grant_share: no export_licensing policy has a "
            "grant_share_range to hold"
        )

    def varies(task: ProductTask, r: ParameterRange) -> bool:
        """Whether draws of ``r`` differ: a range of some width around a point that is not 0
        (sigma is always above 1; for the supply elasticity, any country's)."""
        point = {"demand_elasticity": task.eta != 0.0, "supply_elasticity": bool(task.eps.any())}
        return r.relative_low != r.relative_high and point.get(r.parameter, True)

    out += [
        f"no effect: uncertainty.ranges.{name}: its point value is 0 in every product, and a "
        "range scales the point value (0 stays 0)"
        for name, (low, high) in settings.ranges.items()
        if name not in settings.fixed
        and low != high  # [1, 1] holds it at its point, as documented
        and tasks
        and not any(varies(t, r) for t in tasks for r in t.ranges if r.parameter == name)
    ]
    drawn = any(
        any(varies(t, r) for r in t.ranges)
        or any(0.0 < ev.probability < 1.0 for ev in t.events)
        or any(lo != hi for lic in t.licences for lo, hi in zip(lic.low, lic.high, strict=True))
        for t in tasks
    )
    if tasks and not drawn:
        out.append(
            "no effect: the draws: no elasticity, licence share or disruption is uncertain "
            "(every range has zero width or a point value of 0, and every disruption a "
            "probability of 0 or 1), so every draw is the same and the seed changes nothing"
        )
    return out
