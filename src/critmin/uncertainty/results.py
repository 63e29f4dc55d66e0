"""Results of a Monte Carlo run: per-product draws, their summaries and fan-chart bands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from critmin.scenario import Scenario, UncertaintySettings
from critmin.stockpile import StockpileSizing
from critmin.uncertainty.licensing import LicenceRange
from critmin.uncertainty.sampling import ParameterRange

FAN_LEVELS = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
"""Quantile levels of :func:`fan_data` (nested bands 5-95, 10-90, 25-75 and the median)."""

OUTPUTS: dict[str, tuple[str, str]] = {
    "zone_consumer_price_change_pct": ("Zone consumer price change", "%"),
    "outside_consumer_price_change_pct": ("Outside consumer price change", "%"),
    "self_sufficiency": ("Zone self-sufficiency", "share"),
    "watch_share": ("Watch countries' share of zone demand", "share"),
    "zone_welfare_change_usd": ("Zone welfare change", "USD"),
    "outside_welfare_change_usd": ("Outside welfare change", "USD"),
    "world_welfare_change_usd": ("World welfare change", "USD"),
    "tariff_revenue_change_usd": ("Tariff and levy revenue change", "USD"),
    "subsidy_cost_usd": ("Subsidy cost", "USD"),
    "zone_consumption_change_pct": ("Zone consumption change (composite demand)", "%"),
    "shortfall": ("Shortfall of zone supply vs reference demand", "share"),
    "shortfall_t": ("Shortfall of zone supply vs reference demand", "t/year"),
}
"""Key outputs: key -> (label, unit). The first nine follow ``simulate``'s definitions."""


def _json_num(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    return v


@dataclass
class ProductUncertainty:
    """The draws of one product and what its summary needs."""

    product_id: str
    name: str
    countries: int
    draws: dict[str, np.ndarray]
    point: dict[str, float]
    ranges: tuple[ParameterRange, ...]
    events: list[dict[str, Any]]
    facts: dict[str, Any]
    stockpile: StockpileSizing
    threshold: float
    licences: tuple[LicenceRange, ...] = ()

    @property
    def converged(self) -> np.ndarray:
        return self.draws["converged"]

    def values(self, key: str) -> np.ndarray:
        """Draws of one output, converged draws only."""
        return self.draws[key][self.converged]

    def quantiles(self, key: str, levels: Sequence[float]) -> list[float | None]:
        v = self.values(key)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return [None] * len(levels)
        return [float(q) for q in np.quantile(v, list(levels))]

    @property
    def probability_shortfall(self) -> float:
        """P(shortfall > threshold) over the converged draws."""
        s = self.values("shortfall")
        return float(np.count_nonzero(s > self.threshold) / s.size) if s.size else math.nan

    def _licence(self, lic: LicenceRange) -> dict[str, Any]:
        """A licensing measure's range and the 5th, 50th and 95th percentiles of its draws."""
        out = lic.to_dict()
        for share, column in zip(out["shares"], lic.columns, strict=True):
            share["p05"], share["median"], share["p95"] = self.quantiles(column, (0.05, 0.5, 0.95))
        return out

    def summary(self) -> dict[str, Any]:
        outputs = {}
        for key, (label, unit) in OUTPUTS.items():
            p05, p50, p95 = self.quantiles(key, (0.05, 0.5, 0.95))
            v = self.values(key)
            v = v[np.isfinite(v)]
            outputs[key] = {
                "label": label,
                "unit": unit,
                "median": p50,
                "p05": p05,
                "p95": p95,
                "mean": float(v.mean()) if v.size else None,
                "point": _json_num(self.point.get(key, math.nan)),
            }
        nconv = int(self.converged.sum())
        n = int(self.converged.size)
        return {
            "name": self.name,
            "countries": self.countries,
            "draws": n,
            "converged_draws": nconv,
            "nonconverged_draws": n - nconv,
            "parameters": {r.parameter: r.to_dict() for r in self.ranges},
            "disruption_events": self.events,
            "licensing": [self._licence(lic) for lic in self.licences],
            "disrupted_share": float(np.count_nonzero(self.draws["disruptions"] > 0) / n),
            "outputs": outputs,
            "shortfall": {
                "threshold": self.threshold,
                "probability_above_threshold": _json_num(self.probability_shortfall),
                "unit": self.facts["unit"],
                "baseline_zone_demand": self.facts["baseline_zone_demand"],
                "baseline_zone_net_imports": self.facts["net_imports"],
            },
            "stockpile": self.stockpile.to_dict(),
        }


@dataclass(repr=False)
class UncertaintyResult:
    """All draws of a scenario; ``to_dict()`` is the ``--json`` output."""

    scenario: Scenario
    settings: UncertaintySettings
    chunk_size: int
    engine: str
    workers: int
    products: dict[str, ProductUncertainty]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What does (or may do) nothing, buyers cut off from every supplier and a point estimate
    far from the baseline, as the single simulation reports them (``<product>: <warning>``),
    disruptions that can stop no trade of a product, and buyers that the disruptions drawn
    cut off (:mod:`critmin.uncertainty.checks`)."""

    @property
    def draws(self) -> int:
        """The number of draws."""
        return self.settings.draws

    @property
    def converged(self) -> bool:
        """Every draw of every product converged."""
        return all(bool(p.converged.all()) for p in self.products.values())

    def __repr__(self) -> str:
        """One line (the dataclass printed the scenario and every draw's arrays)."""
        return (
            f"UncertaintyResult(scenario={self.scenario.name!r}, products={list(self.products)}, "
            f"draws={self.draws}, seed={self.settings.seed}, converged={self.converged})"
        )

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "scenario": self.scenario.name,
            "draws": s.draws,
            "seed": s.seed,
            "chunk_size": self.chunk_size,
            "engine": self.engine,
            "workers": self.workers,
            "shortfall_threshold": s.shortfall_threshold,
            "shortfall_reference": s.reference,
            "coverage": s.coverage,
            "duration_days": s.duration_days,
            "converged": self.converged,
            "timings": self.timings,
            "warnings": self.warnings,
            "products": {pid: p.summary() for pid, p in self.products.items()},
        }

    def frame(self) -> Any:
        """Every draw of every product as one pandas DataFrame (long: product, draw, ...)."""
        import pandas as pd

        parts = []
        for pid, p in self.products.items():
            df = pd.DataFrame(p.draws)
            df.insert(0, "draw", np.arange(len(df)))
            df.insert(0, "product", pid)
            parts.append(df)
        return pd.concat(parts, ignore_index=True)


def fan_data(
    result: UncertaintyResult, levels: Sequence[float] = FAN_LEVELS
) -> dict[str, dict[str, Any]]:
    """Quantile bands for fan charts, per product and key output (JSON-safe).

    ``{product_id: {"name", "levels": [0.05, ...], "outputs": {key: {"label", "unit",
    "quantiles": [one value per level], "point": value at the point estimate}}}}``. Draw nested
    bands between symmetric levels (5-95, 10-90, 25-75) and a line at the median (0.5).
    """
    out: dict[str, dict[str, Any]] = {}
    for pid, p in result.products.items():
        outputs = {
            key: {
                "label": label,
                "unit": unit,
                "quantiles": p.quantiles(key, levels),
                "point": _json_num(p.point.get(key, math.nan)),
            }
            for key, (label, unit) in OUTPUTS.items()
        }
        out[pid] = {
            "name": p.name,
            "draws": int(p.converged.sum()),
            "levels": list(levels),
            "outputs": outputs,
        }
    return out
