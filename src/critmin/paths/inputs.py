"""The curated facts of the yearly paths: demand growth, capacity lead times, and shock sizes
fitted to price history.

* ``data/curated/demand_growth.csv``: annual demand growth by mineral (a published outlook
  quoted with its source and year, converted to an annual rate in the row's source text).
* ``data/curated/capacity_lead_times.csv``: by stage, the lead time ``L`` (years) from a price
  signal to new output and the share ``kappa`` of the log price gap that new capacity closes a
  year (the capacity rule, :mod:`critmin.paths.engine`).
* ``data/curated/price_history_series.csv``: the price series of a mineral in the bundled USGS
  salient statistics (``us_salient``) used for the shock fit.

Shock fit (:func:`fit_shocks`). With ``x_t`` i.i.d. transitory log deviations of the price,
``var(ln p_t - ln p_{t-1}) = 2 var(x)``, so ``sd(x) = sd(dln p) / sqrt(2)`` (sample standard
deviation of the annual log changes, ``ddof = 1``). In a single market ``ln p = (ln H - ln A)
/ (eta + eps)`` for a demand shift ``H`` and an output shift ``A``; demand and output shocks
are given equal, independent shares of the price variance::

    sd(ln H) = sd(ln A) = sd(x) (eta + eps) / sqrt(2)

with ``eta`` the floored market's demand elasticity and ``eps`` its sales-weighted mean supply
elasticity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from critmin import catalog
from critmin.errors import DataIntegrityError

__all__ = [
    "CapacityRule",
    "DemandGrowth",
    "ShockFit",
    "capacity_rules",
    "demand_growth",
    "fit_shocks",
]


@dataclass(frozen=True)
class DemandGrowth:
    """Annual demand growth ``g`` of a mineral (0 with ``source`` saying why where none)."""

    mineral: str
    rate: float
    period: str
    source: str


@dataclass(frozen=True)
class CapacityRule:
    """Capacity response of a stage: lead time (years) and yearly adjustment share."""

    stage: str
    lead_time_years: int
    lead_time_range: tuple[float, float]
    adjustment_per_year: float
    basis: str
    source: str


@dataclass(frozen=True)
class ShockFit:
    """Shock sizes fitted to a price history (see the module docstring)."""

    mineral: str
    years: tuple[int, ...]
    prices_usd_per_t: tuple[float, ...]
    sd_log_change: float
    sd_price_deviation: float
    eta: float
    eps: float
    sd_demand: float
    sd_output: float
    source: str

    def to_dict(self) -> dict[str, object]:
        return {
            "mineral": self.mineral,
            "years": list(self.years),
            "prices_usd_per_t": list(self.prices_usd_per_t),
            "sd_annual_log_price_change": self.sd_log_change,
            "sd_log_price_deviation": self.sd_price_deviation,
            "demand_elasticity": self.eta,
            "supply_elasticity": self.eps,
            "sd_log_demand_shock": self.sd_demand,
            "sd_log_output_shock": self.sd_output,
            "source": self.source,
            "formula": "sd(x) = sd(dln p)/sqrt(2); sd(ln H) = sd(ln A) = sd(x)(eta+eps)/sqrt(2)",
        }


def _float(row: dict[str, str], key: str, name: str, k: int) -> float:
    try:
        value = float(row[key])
    except (KeyError, ValueError):
        raise DataIntegrityError(f"{name}.csv row {k + 2}: {key} is not a number") from None
    if not math.isfinite(value):
        raise DataIntegrityError(f"{name}.csv row {k + 2}: {key} is not finite")
    return value


@cache
def _growth_rows() -> dict[str, DemandGrowth]:
    out = {}
    for k, r in enumerate(catalog.read_curated("demand_growth")):
        rate = _float(r, "annual_growth", "demand_growth", k)
        if not -0.5 < rate < 1.0:
            raise DataIntegrityError(f"demand_growth.csv row {k + 2}: annual_growth {rate}")
        out[r["mineral"]] = DemandGrowth(r["mineral"], rate, r["period"], r["source"])
    return out


def demand_growth(mineral: str) -> DemandGrowth:
    """The curated growth rate of ``mineral`` (0, said so, when the table has none)."""
    rows = _growth_rows()
    if mineral in rows:
        return rows[mineral]
    return DemandGrowth(mineral, 0.0, "", "no curated growth rate for this mineral: none assumed")


@cache
def capacity_rules() -> dict[str, CapacityRule]:
    """The capacity rule of every stage (``capacity_lead_times.csv``)."""
    out = {}
    for k, r in enumerate(catalog.read_curated("capacity_lead_times")):
        if r["stage"] not in catalog.STAGES:
            raise DataIntegrityError(f"capacity_lead_times.csv row {k + 2}: stage {r['stage']!r}")
        lead = _float(r, "lead_time_years", "capacity_lead_times", k)
        speed = _float(r, "adjustment_per_year", "capacity_lead_times", k)
        if lead < 0 or lead != int(lead) or not 0 <= speed <= 1:
            raise DataIntegrityError(f"capacity_lead_times.csv row {k + 2}: lead time or speed")
        out[r["stage"]] = CapacityRule(
            r["stage"],
            int(lead),
            (
                _float(r, "lead_time_low", "capacity_lead_times", k),
                _float(r, "lead_time_high", "capacity_lead_times", k),
            ),
            speed,
            r["basis"],
            r["source"],
        )
    missing = set(catalog.STAGES) - set(out)
    if missing:
        raise DataIntegrityError(f"capacity_lead_times.csv: no row for {', '.join(missing)}")
    return out


def price_history(mineral: str) -> tuple[list[int], list[float], str] | None:
    """The annual USGS price series of ``mineral`` (newest edition that reports the curated
    series; its years in order) and its source, or None."""
    from critmin.data.dataset import read_table

    rows = [r for r in catalog.read_curated("price_history_series") if r["mineral"] == mineral]
    if not rows:
        return None
    spec = rows[0]
    t = read_table("us_salient")
    sel = t[
        (t["mineral"] == mineral)
        & (t["statistic"] == spec["statistic"])
        & t["detail"].fillna("").str.contains(spec["detail_contains"], regex=False)
        & t["value"].notna()
    ]
    if sel.empty:
        return None
    newest = sorted(sel["edition"].unique())[-1]
    sel = sel[sel["edition"] == newest].drop_duplicates("year").sort_values("year")
    years = [int(y) for y in sel["year"]]
    values = [float(v) for v in sel["value"]]
    return years, values, f"{spec['source']}, edition {newest}"


def fit_shocks(mineral: str, eta: float, eps: float) -> ShockFit | None:
    """Shock sizes for ``mineral`` from its price history (None without one of 3+ years)."""
    hist = price_history(mineral)
    if hist is None:
        return None
    years, values, source = hist
    p = np.asarray(values, dtype=float)
    if len(p) < 3 or (p <= 0).any():
        return None
    sd_change = float(np.std(np.diff(np.log(p)), ddof=1))
    sd_x = sd_change / math.sqrt(2.0)
    sd_shock = sd_x * (eta + eps) / math.sqrt(2.0)
    return ShockFit(
        mineral, tuple(years), tuple(values), sd_change, sd_x, eta, eps, sd_shock, sd_shock, source
    )
