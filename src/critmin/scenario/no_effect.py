"""Policies that are legal but do nothing (or may do nothing) in a market, found where the
policy arrays are built (:func:`critmin.scenario.resolution.build_policy`).

A ban by a country that does not export the product, a ban of USA -> USA, a quota above
baseline exports, a floor below every price it could top up: the model solves them and reports
no change, which looks like a finding. Each check here returns plain sentences that go into the
product's ``notes`` (JSON) and are printed as warnings in the readable output:

- ``no effect: ...`` when the instrument cannot change the market at all;
- ``may have no effect: ...`` when it binds only if other policies move prices or exports
  far enough (a quota above baseline exports, a floor below the baseline prices);
- ``cut off: ...`` when bans leave buyers with no supplier at all: their composite price is
  infinite (DESIGN.md: P_j over an empty sum), so their consumer surplus and welfare are
  undefined and shown as ``-`` (null in JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from critmin.baseline import ProductBaseline
from critmin.note_kinds import names_listed


def codes(base: ProductBaseline, mask: np.ndarray) -> str:
    """``CHN, COD and 3 more``: the countries of a mask, for a sentence."""
    return listed(base.countries, mask)


def listed(countries: Sequence[str], mask: np.ndarray) -> str:
    """:func:`codes` for a list of country codes."""
    return names_listed([c for c, m in zip(countries, mask, strict=True) if m])


def cut_buyers(V: np.ndarray, banned: np.ndarray) -> np.ndarray:
    """The buyers with baseline purchases whose every supplier (their own output included)
    ``banned`` removes: their price is infinite."""
    buys = V > 0
    return buys.any(axis=0) & ~(buys & ~banned).any(axis=0)


def closed_pairs(banned: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """The pairs a policy closes: those ``banned``, and every export pair of an exporter whose
    export cap ``cap`` is 0 (a quota or licence of 0 closes its exports as a ban does, not its
    home sales)."""
    closed = banned.copy()
    capped = np.flatnonzero(cap == 0.0)
    closed[capped] = True
    closed[capped, capped] = banned[capped, capped]
    return closed


def goods(base: ProductBaseline) -> str:
    """The product's name inside a sentence: ``lithium carbonate`` (acronyms kept: ``REE``)."""
    name = base.name
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


def _do(base: ProductBaseline, mask: np.ndarray) -> str:
    """``CHN does`` / ``CHN, COD do``: the subject and verb of a sentence."""
    return f"{codes(base, mask)} {'does' if int(mask.sum()) == 1 else 'do'}"


def _traded(base: ProductBaseline) -> np.ndarray:
    """Pairs i != j with baseline trade."""
    return (base.V > 0) & ~np.eye(base.n, dtype=bool)


def tariff_notes(label: str, base: ProductBaseline, pairs: np.ndarray, rate: float) -> list[str]:
    """A tariff on pairs that do not trade, or at the rate already in force, does nothing."""
    traded = pairs & _traded(base)
    if not traded.any():
        return [
            f"no effect: {label}: the exporters and importers it selects do not trade "
            f"{goods(base)} with each other in the baseline"
        ]
    if np.allclose(base.t0[traded], rate, rtol=0.0, atol=1e-12):
        return [f"no effect: {label}: {rate:g} is the baseline tariff on every pair it selects"]
    return []


def tariff_overlap_notes(
    label: str, base: ProductBaseline, pairs: np.ndarray, earlier: list[tuple[str, np.ndarray]]
) -> list[str]:
    """Tariffs are not added up: on a pair selected by two tariffs the later one's rate
    applies. Each earlier tariff (``(label, pairs)``) whose traded pairs this one selects gets
    a note saying how many it loses; one that loses every traded pair does nothing at all."""
    traded = pairs & _traded(base)
    out = []
    for other, mine in earlier:
        lost = int((mine & traded).sum())
        if not lost:
            continue
        if not (mine & _traded(base) & ~pairs).any():
            out.append(
                f"no effect: {other}: {label} sets the rate on every traded pair it selects "
                "(tariffs are not added up: the last one on a pair applies)"
            )
        else:
            out.append(
                f"{label} replaces {other}'s rate on {lost} traded pair(s) (tariffs are not "
                "added up: the last one on a pair applies)"
            )
    return out


def ban_notes(label: str, base: ProductBaseline, rows: np.ndarray, cols: np.ndarray) -> list[str]:
    """A ban that selects no traded pair: no exporter, only domestic sales (USA -> USA), or
    exporters that do not sell the product to the importers selected."""
    if not rows.any() or not cols.any():
        side = "exporters" if not rows.any() else "importers"
        return [f"no effect: {label}: none of the {side} it names is in the {goods(base)} market"]
    pairs = np.outer(rows, cols) & ~np.eye(base.n, dtype=bool)
    if not pairs.any():
        return [
            f"no effect: {label}: it selects only {codes(base, rows)} -> itself; a ban stops "
            "exports, and domestic sales are not exports"
        ]
    if (pairs & _traded(base)).any():
        return []
    exporting = rows & _traded(base).any(axis=1)
    if not rows.any():
        return [
            f"no effect: {label}: none of the exporters it selects is among the countries "
            f"that trade {goods(base)}, so a cap on their exports changes nothing"
        ]
    if not exporting.any():
        return [
            f"no effect: {label}: {_do(base, rows)} not export {goods(base)} in the baseline, "
            "so a ban on those exports changes nothing"
        ]
    return [
        f"no effect: {label}: {_do(base, rows)} not sell {goods(base)} to the importers it "
        f"selects ({codes(base, cols)}) in the baseline"
    ]


def quota_notes(label: str, base: ProductBaseline, rows: np.ndarray, share: float) -> list[str]:
    """A quota on countries that do not export does nothing; one at or above baseline exports
    binds only if other policies raise those exports."""
    exporting = rows & _traded(base).any(axis=1)
    if not rows.any():
        return [
            f"no effect: {label}: none of the exporters it selects is among the countries "
            f"that trade {goods(base)}, so a cap on their exports changes nothing"
        ]
    if not exporting.any():
        return [
            f"no effect: {label}: {_do(base, rows)} not export {goods(base)} in the baseline, "
            "so a cap on those exports changes nothing"
        ]
    if share >= 1:
        return [
            f"may have no effect: {label}: a cap at {100 * share:g}% of baseline exports of "
            f"{codes(base, exporting)} binds only if the scenario's other policies raise their "
            f"exports{f' by {100 * (share - 1):g}% or more' if share > 1 else ''}"
        ]
    return []


def levy_floor_notes(
    label: str, base: ProductBaseline, pairs: np.ndarray, price: float
) -> list[str]:
    """A variable levy tops non-member supply up to the floor: nothing to top up when no
    non-member sells to a member, or when the floor is below every such baseline price."""
    traded = pairs & _traded(base)
    if not traded.any():
        return [
            f"no effect: {label}: no non-member sells {goods(base)} to a zone member in the "
            "baseline, so there is nothing for a levy to top up"
        ]
    lowest = float(np.nanmin(base.p0[traded])) if np.isfinite(base.p0[traded]).any() else None
    if lowest is not None and price <= lowest:
        return [
            f"may have no effect: {label}: the floor USD {price:,.0f}/t is at or below the "
            f"baseline price of every non-member supplier of the zone (lowest USD "
            f"{lowest:,.0f}/t): the levy applies only if their prices fall below it"
        ]
    return []


def subsidy_floor_notes(
    label: str, base: ProductBaseline, members: np.ndarray, price: float, unit_values: np.ndarray
) -> list[str]:
    """A producer subsidy tops zone producers' prices up to the floor: nothing to top up when
    no member produces, or when the floor is below every member's baseline unit value."""
    producing = members & (base.V.sum(axis=1) > 0)
    if not producing.any():
        return [
            f"no effect: {label}: no zone member sells {goods(base)} in the baseline, so there "
            "is no producer to subsidise"
        ]
    lowest = float(np.nanmin(unit_values[producing]))
    if np.isfinite(lowest) and price <= lowest:
        return [
            f"may have no effect: {label}: the floor USD {price:,.0f}/t is at or below the "
            f"baseline unit value of every zone producer (lowest USD {lowest:,.0f}/t): the "
            "subsidy is paid only if their prices fall below it"
        ]
    return []


def closed_notes(
    base: ProductBaseline,
    banned: np.ndarray,
    cap: np.ndarray,
    tariffs: list[tuple[str, np.ndarray]],
    floors: list[tuple[str, np.ndarray, float]],
    quotas: list[tuple[str, np.ndarray, float]],
    bans: list[tuple[str, np.ndarray]],
    said: list[str],
) -> list[str]:
    """Policies whose every traded pair other policies close: a tariff or a variable levy on
    goods that no longer cross, an export quota on exporters whose every export is banned, a
    ban of pairs that earlier bans already close, or that later bans (not themselves idle)
    close as well. ``banned``: the pairs of every ban (and of
    every destination quota or licence of 0), ``cap`` the exporters' total caps (0: closed);
    ``said``: the notes so far (a policy already warned about gets no second warning)."""
    traded = _traded(base)
    closed = closed_pairs(banned, cap) & traded
    out: list[str] = []

    def warn(label: str, sentence: str) -> None:
        if not any(n.startswith(f"no effect: {label}:") for n in said + out):
            out.append(f"no effect: {label}: {sentence}")

    why = "export bans (or export quotas or licences of 0) close"
    for label, pairs in tariffs:
        mine = pairs & traded
        if mine.any() and closed[mine].all():
            warn(label, f"{why} every traded pair it selects: no trade is left to pay it")
    for label, pairs, _ in floors:
        mine = pairs & traded
        if mine.any() and closed[mine].all():
            warn(
                label,
                f"{why} every non-member's sales of {goods(base)} to the zone, so there is "
                "nothing for a levy to top up",
            )
    for label, rows, _ in quotas:
        mine = rows[:, None] & traded
        if mine.any() and (banned & traded)[mine].all():
            warn(
                label,
                f"export bans (or destination quotas or licences of 0) close every export of "
                f"{goods(base)} by {codes(base, mine.any(axis=1))}, so a cap on them changes "
                "nothing",
            )
    redundant: set[int] = set()
    for k, (label, pairs) in enumerate(bans):
        mine = pairs & traded
        before = np.zeros_like(pairs)
        for _, theirs in bans[:k]:
            before |= theirs
        if mine.any() and before[mine].all():
            redundant.add(k)
            earlier = [other for other, theirs in bans[:k] if (theirs & mine).any()]
            verb = "bans" if len(earlier) == 1 else "ban"
            warn(label, f"{' and '.join(earlier)} already {verb} every traded pair it selects")
    for k, (label, pairs) in enumerate(bans):  # a ban that later (wider) ones make idle
        mine = pairs & traded
        later = [ban for j, ban in enumerate(bans) if j > k and j not in redundant]
        after = np.zeros_like(pairs)
        for _, theirs in later:
            after |= theirs
        if k not in redundant and mine.any() and after[mine].all():
            names = [other for other, theirs in later if (theirs & mine).any()]
            verb = "bans" if len(names) == 1 else "ban"
            warn(label, f"{' and '.join(names)} (below) also {verb} every traded pair it selects")
    return out


def cut_off_notes(base: ProductBaseline, banned: np.ndarray) -> list[str]:
    """Buyers whose every baseline supplier is banned (no domestic sales either); ``banned``
    counts an exporter capped at 0 as banned from every export pair (:func:`closed_pairs`)."""
    if not banned.any():
        return []
    cut = cut_buyers(base.V, banned)
    if not cut.any():
        return []
    return [
        f"cut off: the bans leave {int(cut.sum())} buyer(s) of {goods(base)} with no supplier "
        f"({codes(base, cut)}): their price is infinite, so their consumer surplus and welfare "
        "are undefined (shown as '-', null in JSON), and so are the welfare totals that "
        "include them"
    ]


def settings_notes(scenario: Any, base: ProductBaseline) -> list[str]:
    """Scenario settings that do nothing for a single product market: a rule of origin
    (it decides which output of a linked chain's processed stages counts as the zone's, and
    the scenario has no chain), and a preferential cut with no baseline tariff to cut."""
    out = []
    if scenario.zone.origin is not None and not scenario.chain:
        out.append(
            "no effect: zone.origin: a rule of origin applies to the processed stages of "
            "linked chains ([[chain]]), and this scenario has none"
        )
    cut = scenario.tariffs.preferential_cut if scenario.tariffs is not None else 0.0
    if cut > 0 and not (base.t0 > 0).any():
        out.append(
            f"no effect: tariffs.preferential_cut: there is no baseline tariff on "
            f"{goods(base)} to cut (tariffs.baseline = 'curated' or a tariffs.file sets them)"
        )
    return out


def tariff_file_notes(file: str, rows: list[Any], bases: list[ProductBaseline]) -> list[str]:
    """A user's tariff file (``tariffs.file``) none of whose rows sets a tariff in any market
    of the scenario (no rows, or rows on other HS6 codes or on countries the markets do not
    hold): it was read and changed nothing, in silence."""
    name = Path(file).name
    source = f"baseline tariff: user file {name}, line "
    if any(s.startswith(source) for base in bases for s in base.sources):
        return []
    given = [r for r in rows if str(getattr(r, "source", "")).startswith(f"user file {name},")]
    codes = ", ".join(dict.fromkeys(base.hs6 for base in bases if base.hs6))
    market = f"HS {codes}" if codes else "a market of the scenario"  # a user's has no HS6
    why = (
        "it has no rows"
        if not given
        else f"none of its {len(given)} row(s) names {market} with two of its countries"
    )
    return [
        f"no effect: tariffs.file: {name} sets no baseline tariff in the scenario's markets ({why})"
    ]


ELSEWHERE = (
    ("disruption", "[[disruption]]", ("critmin uncertainty", "critmin paths")),
    ("paths", "[paths]", ("critmin paths",)),
    ("coalition", "[coalition]", ("critmin coalition",)),
    ("uncertainty", "[uncertainty]", ("critmin uncertainty",)),
)
"""Tables of a scenario that other commands read and simulate does not: (field, table,
commands)."""
SINGLE_MARKETS_ONLY = ("critmin uncertainty", "critmin coalition")
"""Commands that refuse a scenario with ``[[chain]]`` entries (they take single product
markets): not named for such a scenario's tables."""


DRAWN = ("disruption", "uncertainty")
"""Tables of a scenario that the Monte Carlo draws read (``critmin report --draws``, as
``critmin uncertainty``): the events they switch on, the ranges they sample."""


def no_instrument_notes(scenario: Any, *, drawn: bool = False) -> list[str]:
    """A scenario without an instrument (no ``[[policy]]``, ``[[shock]]`` or
    ``[[chain.shock]]``) is solved at its baseline: every change is 0, which looks like a
    finding. The note names the scenario's tables that other commands read (``[paths]`` for
    ``critmin paths``, ...; for a scenario with chains only commands that take chains) and
    says that ``[tariffs]`` sets the baseline, not a change.

    ``drawn``: the same run also draws the scenario's Monte Carlo draws (``critmin report
    --draws``). The note then says what the draws do instead of sending ``[[disruption]]``
    and ``[uncertainty]`` to other commands: they switch the disruption events on at random
    (the only change the fan charts show), or, without any, they vary the elasticities of a
    market nothing moves, so every draw is at the baseline too.

    For :func:`critmin.simulation.simulate` alone: paths, uncertainty and coalition analyses
    are driven by those other tables, so the resolution of markets they share does not add it.
    """
    if scenario.policy or scenario.shock or any(chain.shock for chain in scenario.chain):
        return []
    note = "no effect: the scenario sets no instrument ([[policy]], [[shock]] or [[chain.shock]]), "
    if not drawn:
        note += "so simulate shows its baseline: every change is 0"
    elif scenario.disruption:
        note += (
            "so its results are its baseline: every change is 0; the Monte Carlo draws "
            "(--draws) switch its [[disruption]] events on at random, which is all that "
            "changes in the fan charts"
        )
    else:
        note += (
            "so its results are its baseline: every change is 0, in the Monte Carlo draws "
            "(--draws) too: they vary the elasticities of a market that nothing moves from "
            "its baseline"
        )
    elsewhere = []
    for name, table, commands in ELSEWHERE:
        if drawn and name in DRAWN:
            continue  # this run draws them: said above
        takes = [c for c in commands if not (scenario.chain and c in SINGLE_MARKETS_ONLY)]
        if getattr(scenario, name) not in (None, []) and takes:
            elsewhere.append(f"{table} ({', '.join(takes)})")
    if elsewhere:
        note += f"; tables for other commands: {', '.join(elsewhere)}"
    if scenario.tariffs is not None:
        note += "; [tariffs] sets the baseline's tariffs, not a change"
    return [note]


def overlap_notes(
    label: str,
    what: str,
    binding: str,
    mine: np.ndarray,
    value: float,
    earlier: list[tuple[str, np.ndarray, float]],
    tighter: Any,
) -> list[str]:
    """Two instruments of one kind on the same pairs or exporters are not added up: the
    higher floor or the tighter cap applies (``tighter(a, b)``: whether ``a`` binds over
    ``b``). A note for each overlap with an earlier one (``(label, mask, value)``) names the
    one that applies there. Of two at the same level (a policy given twice), the one whose
    every pair or exporter the other also covers does nothing."""
    out = []
    for other, theirs, v in earlier:
        both = int((mine & theirs).sum())
        if not both:
            continue
        if v == value:
            covered = [(label, other, mine, theirs), (other, label, theirs, mine)]
            for idle, by, idle_mask, by_mask in covered:
                if not (idle_mask & ~by_mask).any():
                    out.append(
                        f"no effect: {idle}: {by} also sets {what} at the same level on every "
                        f"one of its {binding} (they are not added up)"
                    )
                    break
            continue
        new_wins = tighter(value, v)
        wins, loses = (label, other) if new_wins else (other, label)
        lost = theirs if new_wins else mine
        if not (lost & ~mine if new_wins else lost & ~theirs).any():  # all of it overridden
            out.append(
                f"no effect: {loses}: {wins} also sets {what} on every one of its {binding}, "
                "and its applies there (they are not added up)"
            )
            continue
        out.append(
            f"{loses} and {wins} both set {what} on {both} of the same {binding}: {wins}'s "
            "applies there (they are not added up)"
        )
    return out
