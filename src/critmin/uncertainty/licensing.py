"""Uncertain licence grant shares: their draws and the policy each draw implies.

An ``export_licensing`` policy is, in an annual model, a quota at ``grant_share`` x baseline
exports to its destinations (:mod:`critmin.scenario.controls`). Its ``grant_share_range``
states how uncertain the share is. In draw ``d`` the measure ``k`` gets one uniform
``u_{k,d}`` from its own counter-based stream ``key = (2, k)`` (the policy's index in the
scenario; :func:`critmin.uncertainty.sampling.draw_uniforms`), and every share of the measure
with a range (one number, or one per destination key) is drawn as

    g_{k,d} = F^-1(u_{k,d}; low, g, high),  F = Triangular(low, mode = g, high)

the same quantile for every destination key of the measure (the regime's strictness is one
unknown: where it is tight, it is tight for every destination it names), independent of the
elasticities, the events and the other measures. The measure is the same for every product it
covers, so one draw's share is the same in every market. A zero-width range gives ``g`` bit for
bit, and the draw's policy is then exactly the point policy.

The draw's policy is rebuilt by the one function that builds policies,
:func:`critmin.scenario.resolution.build_policy`, from the scenario with the drawn shares: a
share changes which pairs are capped together, which are banned (a share of 0) and the caps,
so the quota groups are re-formed as ``critmin simulate`` forms them. The countries each
selector picks are recorded once (:class:`RecordedSelection`), so a task needs no ``World``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from critmin.baseline import ProductBaseline
from critmin.model.core import Policy
from critmin.scenario import ExportLicensingPolicy, Scenario
from critmin.uncertainty.sampling import draw_uniforms, triangular_ppf

LICENCE_STREAM = 2
"""First element of a licensing measure's stream key (0: elasticities, 1: events)."""


@dataclass(frozen=True)
class LicenceRange:
    """The uncertain grant shares of one ``export_licensing`` policy.

    ``keys``: the ``grant_share`` keys with a range (``""`` for a single share); ``point``,
    ``low``, ``high``: per key."""

    policy: int
    label: str
    keys: tuple[str, ...]
    point: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]

    @property
    def stream(self) -> tuple[int, ...]:
        return (LICENCE_STREAM, self.policy)

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the drawn shares in a run's draws (``grant_share[k]``, ``[k].USA``)."""
        return tuple(
            f"grant_share[{self.policy}]" + (f".{key}" if key else "") for key in self.keys
        )

    def shares(self, u: np.ndarray) -> np.ndarray:
        """Drawn shares ``(D, len(keys))`` for uniforms ``u`` ``(D,)``."""
        return np.column_stack(
            [
                triangular_ppf(u, lo, mode, hi)
                for lo, mode, hi in zip(self.low, self.point, self.high, strict=True)
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "label": self.label,
            "distribution": "triangular",
            "shares": [
                {"destinations": key or "every destination", "low": lo, "mode": mode, "high": hi}
                for key, lo, mode, hi in zip(
                    self.keys, self.low, self.point, self.high, strict=True
                )
            ],
        }


def licence_ranges(
    scenario: Scenario, product_id: str, fixed: bool = False
) -> tuple[LicenceRange, ...]:
    """The licensing policies with a ``grant_share_range`` that apply to this product (none
    when ``fixed``: ``[uncertainty] fixed = ["grant_share"]``)."""
    out = []
    if fixed:
        return ()
    for k, pol in enumerate(scenario.policy):
        if not isinstance(pol, ExportLicensingPolicy) or pol.grant_share_range is None:
            continue
        if pol.products is not None and product_id not in pol.products:
            continue
        shares = pol.grant_share if isinstance(pol.grant_share, dict) else {"": pol.grant_share}
        rng = pol.grant_share_range
        ranges = rng if isinstance(rng, dict) else {"": rng}
        keys = tuple(sorted(ranges))
        out.append(
            LicenceRange(
                policy=k,
                label=pol.label or f"policy[{k}] (export_licensing)",
                keys=keys,
                point=tuple(float(shares[key]) for key in keys),
                low=tuple(float(ranges[key][0]) for key in keys),
                high=tuple(float(ranges[key][1]) for key in keys),
            )
        )
    return tuple(out)


def draw_shares(licences: tuple[LicenceRange, ...], seed: int, start: int, stop: int) -> np.ndarray:
    """Drawn shares of draws ``start..stop-1``: ``(D, K)``, the measures' keys side by side."""
    if not licences:
        return np.zeros((stop - start, 0))
    return np.hstack(
        [lic.shares(draw_uniforms(seed, lic.stream, start, stop, 1)[:, 0]) for lic in licences]
    )


def point_shares(licences: tuple[LicenceRange, ...]) -> np.ndarray:
    """The point shares ``(1, K)`` (what a zero-width range draws)."""
    return np.array([[v for lic in licences for v in lic.point]], dtype=np.float64)


class RecordedSelection:
    """A country selector that answers from the selections it recorded (no ``World``).

    Built around the scenario's selector, it records each ``(selector, field)`` it is asked;
    after :meth:`freeze` it answers only those (a draw's policy asks exactly what the point
    policy asked: the same policies, keys and fields)."""

    def __init__(self, select: Callable[[Any, str], np.ndarray] | None) -> None:
        self._select = select
        self._seen: dict[tuple[str, str], np.ndarray] = {}

    def __call__(self, selector: Any, field_name: str) -> np.ndarray:
        key = (repr(selector), field_name)
        found = self._seen.get(key)
        if found is None:
            if self._select is None:
                raise KeyError(f"no country selection recorded for {field_name} = {selector!r}")
            found = np.asarray(self._select(selector, field_name), dtype=bool)
            found.flags.writeable = False
            self._seen[key] = found
        return found.copy()

    def freeze(self) -> RecordedSelection:
        self._select = None
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {"_select": None, "_seen": self._seen}


@dataclass(frozen=True, eq=False)
class LicensedPolicies:
    """Rebuilds one market's policy with drawn grant shares (picklable, no ``World``)."""

    scenario: Scenario
    base: ProductBaseline
    members: np.ndarray
    watch: np.ndarray
    licences: tuple[LicenceRange, ...]
    select: RecordedSelection

    def policy(self, shares: np.ndarray) -> Policy:
        """The market's policy with the shares ``(K,)`` of :func:`draw_shares` in place."""
        from critmin.scenario.resolution import build_policy

        policies = list(self.scenario.policy)
        col = 0
        for lic in self.licences:
            pol = policies[lic.policy]
            assert isinstance(pol, ExportLicensingPolicy)
            drawn = {key: float(shares[col + m]) for m, key in enumerate(lic.keys)}
            col += len(lic.keys)
            if isinstance(pol.grant_share, dict):
                value: float | dict[str, float] = {**pol.grant_share, **drawn}
            else:
                value = drawn[""]
            policies[lic.policy] = pol.model_copy(update={"grant_share": value})
        scenario = self.scenario.model_copy(update={"policy": policies})
        return build_policy(
            None, scenario, self.base, self.members, self.watch, [], select=self.select
        )
