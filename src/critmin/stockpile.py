"""Stockpile sizing from Monte Carlo shortfall draws, with the IEA 90-day rule for comparison.

Inputs are the draws of :mod:`critmin.uncertainty` for one product and the zone: the annual
shortfall of zone consumption ``s_d`` (tonnes per year, ``>= 0``, one value per draw ``d``),
the baseline zone demand ``T0`` (tonnes per year) and the zone's baseline net imports from
non-members ``M0`` (tonnes per year).

Release rule (deliberately simple, stated so it can be argued with): when a disruption starts
the stock is released at the rate of the shortfall, ``s_d`` tonnes per year, until the
disruption ends after ``duration_days``; the stock a draw needs is therefore::

    need_d = s_d * duration_days / 365

The stockpile that covers the shortfall with probability ``q`` is the empirical
``q``-quantile of the needs (the inverse of the empirical distribution function, Hyndman &
Fan 1996 definition 1, ``numpy.quantile(..., method="inverted_cdf")``)::

    K_q = min { need_d : #{e : need_e <= need_d} / N >= q }

so the fraction of draws it covers, ``#{d : need_d <= K_q} / N``, is at least ``q`` and less
than ``q + 1/N`` unless several draws share the value ``K_q`` (e.g. many draws without a
shortfall, where ``K_q = 0``). Then::

    days of zone demand = K_q / (T0 / 365)
    cost (USD)          = K_q * reference price (USD/t)

The reference price is the zone's price floor for the product when the scenario sets one
(the zone's "reference price"), else the baseline unit value of zone consumption. The sizing
is first order: releasing stock lowers the zone price, which in the model would cut imports a
little and raise consumption; that feedback is ignored, and so are holding costs (storage,
capital, rotation of stock).

Comparison, the IEA rule for oil: members of the International Energy Agency hold emergency
stocks of at least 90 days of the previous year's net imports (Agreement on an International
Energy Program, 18 November 1974, Art. 2, whose 60-day commitment the Governing Board raised to
90 days; the EU's Council Directive 2009/119/EC asks for the greater of 90 days of net imports
and 61 days of consumption). The analogue here is ``K_90 = 90 / 365 * M0``, and the report
states the share of draws it would cover, ``#{d : need_d <= K_90} / N``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from critmin.errors import CritminError

__all__ = [
    "IEA_DAYS",
    "StockpileSizing",
    "covered_fraction",
    "size_stockpile",
    "stockpile_need",
    "without_draws",
]

IEA_DAYS = 90.0
"""Days of net imports in the IEA oil-stocks rule (IEP Agreement 1974, Art. 2)."""
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class StockpileSizing:
    """A stockpile that covers the annual shortfall draws with probability ``coverage``.

    Tonnes are tonnes of the traded product (gross weight, as BACI reports quantities);
    ``tonnes_contained`` converts them with the product's content factor where one is known.
    ``None`` marks what cannot be computed (e.g. no baseline demand).
    """

    coverage: float
    duration_days: float
    tonnes: float
    days_of_demand: float | None
    days_of_net_imports: float | None
    reference_price_usd_per_t: float | None
    reference_price_basis: str
    cost_usd: float | None
    covered_fraction: float
    draws: int
    release_rule: str
    iea_90_day_tonnes: float | None
    iea_90_day_covered_fraction: float | None
    iea_90_day_cost_usd: float | None
    tonnes_contained: float | None = None
    unit: str = "t"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite numbers become ``None``)."""
        return {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


def stockpile_need(shortfall_t_per_year: ArrayLike, duration_days: float) -> np.ndarray:
    """Stock each draw needs under the release rule: ``need = s * duration_days / 365``."""
    s = np.asarray(shortfall_t_per_year, dtype=np.float64)
    if not (np.isfinite(duration_days) and duration_days > 0):
        raise CritminError(f"duration_days must be a positive number, got {duration_days}")
    if s.ndim != 1 or s.size == 0:
        raise CritminError("shortfall draws: expected a non-empty 1-d array")
    if np.isnan(s).any() or (s < 0).any():
        raise CritminError("shortfall draws must be numbers >= 0 (tonnes per year)")
    return np.asarray(s * (duration_days / DAYS_PER_YEAR), dtype=np.float64)


def covered_fraction(need: ArrayLike, stock: float) -> float:
    """Share of draws whose need a stock of ``stock`` tonnes covers: ``#{need <= stock} / N``."""
    n = np.asarray(need, dtype=np.float64)
    return float(np.count_nonzero(n <= stock) / n.size)


def size_stockpile(
    shortfall_t_per_year: ArrayLike,
    *,
    coverage: float,
    duration_days: float = DAYS_PER_YEAR,
    baseline_demand_t: float | None = None,
    net_imports_t: float | None = None,
    reference_price_usd_per_t: float | None = None,
    reference_price_basis: str = "",
    content_factor: float | None = None,
    unit: str = "t",
) -> StockpileSizing:
    """Size the stockpile covering the shortfall draws with probability ``coverage`` (q).

    Args:
        shortfall_t_per_year: per-draw annual shortfall of zone consumption (tonnes/year).
        coverage: q in (0, 1]; ``1`` sizes for the worst draw.
        duration_days: length of the disruption the stock must bridge.
        baseline_demand_t: baseline zone demand (tonnes/year), for days of demand.
        net_imports_t: baseline zone net imports from non-members (tonnes/year), for the IEA
            90-day comparison.
        reference_price_usd_per_t: price at which the stock is valued.
        reference_price_basis: what that price is (e.g. ``"zone price floor"``).
        content_factor: element content of the product (e.g. Li in Li2CO3 = 0.188).
        unit: ``"t"``, or ``"usd_baseline"`` when the market has no tonnes (user markets
            without prices: quantities are then USD at baseline prices).
    """
    if not (0.0 < coverage <= 1.0):
        raise CritminError(f"coverage must lie in (0, 1], got {coverage}")
    need = stockpile_need(shortfall_t_per_year, duration_days)
    tonnes = float(np.quantile(need, coverage, method="inverted_cdf"))
    per_day = baseline_demand_t / DAYS_PER_YEAR if baseline_demand_t else None
    imports_day = net_imports_t / DAYS_PER_YEAR if net_imports_t else None
    price = reference_price_usd_per_t
    iea_t = IEA_DAYS * imports_day if imports_day is not None else None
    return StockpileSizing(
        coverage=float(coverage),
        duration_days=float(duration_days),
        tonnes=tonnes,
        days_of_demand=tonnes / per_day if per_day else None,
        days_of_net_imports=tonnes / imports_day if imports_day else None,
        reference_price_usd_per_t=price,
        reference_price_basis=reference_price_basis,
        cost_usd=tonnes * price if price is not None else None,
        covered_fraction=covered_fraction(need, tonnes),
        draws=int(need.size),
        release_rule=(
            f"release at the rate of the shortfall for {duration_days:g} days: "
            f"need = annual shortfall x {duration_days:g}/365"
        ),
        iea_90_day_tonnes=iea_t,
        iea_90_day_covered_fraction=covered_fraction(need, iea_t) if iea_t is not None else None,
        iea_90_day_cost_usd=iea_t * price if iea_t is not None and price is not None else None,
        tonnes_contained=tonnes * content_factor if content_factor else None,
        unit=unit,
    )


def without_draws(sizing: StockpileSizing) -> StockpileSizing:
    """``sizing`` when no draw converged: there is no shortfall to size a stock from, so its
    tonnes, days, costs and covered fractions are undefined (``None`` in JSON) and it rests on
    0 draws; the settings (coverage, duration, reference price, release rule, the IEA
    90-day stock, which depends on baseline net imports alone) stay as they are."""
    return replace(
        sizing,
        tonnes=float("nan"),
        days_of_demand=None,
        days_of_net_imports=None,
        cost_usd=None,
        covered_fraction=float("nan"),
        draws=0,
        iea_90_day_covered_fraction=None,
        tonnes_contained=None,
    )
