"""Notes on a rule of origin (``[zone.origin]``) of linked chains: whether it can change
anything, and a producer subsidy that only non-qualifying output would reach.

:func:`critmin.scenario.chains.resolve_chains` applies the rule (each member's qualifying
share, the policy its non-qualifying output faces); these functions read the result and say
when it does (or may do) nothing, in the words of :mod:`critmin.scenario.no_effect`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from critmin.model.core import ResolvedPolicy
from critmin.note_kinds import names_listed

if TYPE_CHECKING:
    from critmin.scenario.chains import ResolvedStage

__all__ = ["idle_origin_note", "origin_bites", "unqualified_subsidy_notes"]


def origin_bites(
    st: ResolvedStage, out: np.ndarray, main: ResolvedPolicy, alt: ResolvedPolicy
) -> bool:
    """Whether the policy that non-qualifying output faces (``alt``) differs from the
    members' own (``main``) for a member producer ``out`` that falls short of the rule: a
    tariff, ban or levy on a pair it sells on, or a producer subsidy it would lose."""
    sells = st.baseline.V > 0
    for i in np.flatnonzero(out):
        row = sells[i]
        if (main.t1[i][row] != alt.t1[i][row]).any():
            return True
        if (main.banned[i][row] != alt.banned[i][row]).any():
            return True
        if (main.levy_floor[i][row] != alt.levy_floor[i][row]).any():
            return True
        if main.subsidy_floor[i] != alt.subsidy_floor[i]:
            return True
    return False


def idle_origin_note(rule: str, threshold: float, short: bool) -> str:
    """The ``no effect:`` warning of a rule of origin that cannot change anything: every
    member producer qualifies in full (``short`` False), or none of the scenario's policies
    treats member and non-member supply of a processed stage differently."""
    named = f"zone.origin (rule {rule}" + (f", threshold {threshold:g})" if rule == "rvc" else ")")
    if not short:
        return (
            f"no effect: {named}: every member producer of the chain's stages qualifies in "
            "full, so no member output is treated as non-member supply"
        )
    return (
        f"no effect: {named}: no policy treats member and non-member supply of the chain's "
        "processed stages differently (a tariff, ban or levy floor on non-members only, or a "
        "producer subsidy), so output that does not qualify faces the same policy as output "
        "that does"
    )


def unqualified_subsidy_notes(
    st: ResolvedStage, producers: np.ndarray, share: np.ndarray, floor: np.ndarray
) -> list[str]:
    """A ``may have no effect:`` note when a producer-subsidy floor is above the baseline
    price (``floor`` relative to it, > 1) only of member producers whose output does not
    qualify under the rule of origin at all (``share`` 0): the subsidy reaches qualifying
    output only if prices fall below the floor. (A ``member_inputs`` rule on the lithium
    chain left a USD 15,000/t refined subsidy with no qualifying producer below it: every
    change 0, and nothing said why.)"""
    above = producers & (floor > 1.0)
    if not above.any() or (share[above] > 0).any():
        return []
    listed = names_listed([st.baseline.countries[i] for i in np.flatnonzero(above)])
    return [
        f"may have no effect: the producer-subsidy floor on {st.key} is above the baseline "
        f"price only of member producers whose output does not qualify under the rule of "
        f"origin ({listed}), and non-qualifying output gets no subsidy: it reaches qualifying "
        "output only if prices fall below the floor"
    ]
