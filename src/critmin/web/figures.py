"""Key figures of a result and the side-by-side comparison of two results.

Both read the results contract (``SimulationResult.to_dict()``) only: the ``summary`` and
``zone`` of each product. Units: shares are fractions (0-1), price changes are percent, money
is USD, as in the contract; formatting for people happens in the templates
(:mod:`critmin.numbers`).

The baseline of a scenario is the same markets with no instrument: every change is zero and
the zone shares are the ``*_baseline`` values of the result, so "compare with its baseline" needs
no second run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from critmin.numbers import finite_or_none

TOTALS = (
    ("zone_welfare_change_usd", "Zone welfare change", "usd"),
    ("outside_welfare_change_usd", "Outside welfare change", "usd"),
    ("tariff_revenue_change_usd", "Tariff / levy revenue change", "usd"),
    ("subsidy_cost_usd", "Subsidy cost", "usd"),
)
"""Summary figures summed over products: (key, label, unit)."""

PRODUCT_ROWS = (
    ("self_sufficiency", "Zone self-sufficiency", "share"),
    ("watch_share", "Watch countries' share of zone demand", "share"),
    ("zone_consumer_price_change_pct", "Zone consumer price change", "pct"),
    ("outside_consumer_price_change_pct", "Outside consumer price change", "pct"),
    ("zone_welfare_change_usd", "Zone welfare change", "usd"),
    ("tariff_revenue_change_usd", "Tariff / levy revenue change", "usd"),
    ("subsidy_cost_usd", "Subsidy cost", "usd"),
)
"""Per-product rows of a comparison: (key, label, unit); shares come from ``zone``, the rest
from ``summary``."""
_ZONE_KEYS = {"self_sufficiency", "watch_share"}


def _products(result: dict[str, Any] | None) -> dict[str, Any]:
    products = (result or {}).get("products")
    return products if isinstance(products, dict) else {}


def _summary(product: Any) -> dict[str, Any]:
    summary = product.get("summary") if isinstance(product, dict) else None
    return summary if isinstance(summary, dict) else {}


def _zone(product: Any) -> dict[str, Any]:
    zone = product.get("zone") if isinstance(product, dict) else None
    return zone if isinstance(zone, dict) else {}


def key_figures(result: dict[str, Any] | None) -> dict[str, Any]:
    """Totals over products (:data:`TOTALS`, ``None`` when no product reports one) and, per
    product, self-sufficiency before and after and the zone consumer price change."""
    products = _products(result)
    totals: dict[str, float | None] = {}
    for key, _label, _unit in TOTALS:
        values = [finite_or_none(_summary(p).get(key)) for p in products.values()]
        present = [v for v in values if v is not None]
        totals[key] = sum(present) if present else None
    per_product = {
        str(pid): {
            "self_sufficiency_baseline": finite_or_none(_zone(p).get("self_sufficiency_baseline")),
            "self_sufficiency": finite_or_none(_zone(p).get("self_sufficiency")),
            "zone_consumer_price_change_pct": finite_or_none(
                _summary(p).get("zone_consumer_price_change_pct")
            ),
        }
        for pid, p in products.items()
    }
    return {"totals": totals, "products": per_product}


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a label and a result (``None``: the baseline of the other)."""

    label: str
    result: dict[str, Any] | None


def _value(product: Any, key: str, baseline: bool) -> float | None:
    if key in _ZONE_KEYS:
        zone = _zone(product)
        return finite_or_none(zone.get(f"{key}_baseline" if baseline else key))
    if baseline:
        return 0.0 if product else None  # no instrument: no change, no revenue, no cost
    return finite_or_none(_summary(product).get(key))


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def compare(a: Side, b: Side) -> dict[str, Any]:
    """Rows of figures of ``a`` and ``b`` side by side with ``b - a``: totals, then per
    product (union of both sides' products, a side without it shows ``None``). A side whose
    result is ``None`` is the baseline of the other side's markets."""
    if a.result is None and b.result is None:
        raise ValueError("at most one side of a comparison can be the baseline")
    base_of = b.result if a.result is None else a.result
    pa, pb = _products(a.result or base_of), _products(b.result or base_of)
    product_ids = list(dict.fromkeys([*pa, *pb]))
    products = []
    for pid in product_ids:
        rows = []
        for key, label, unit in PRODUCT_ROWS:
            va = _value(pa.get(pid), key, a.result is None)
            vb = _value(pb.get(pid), key, b.result is None)
            rows.append(
                {"key": key, "label": label, "unit": unit, "a": va, "b": vb, "diff": _diff(va, vb)}
            )
        name = (pa.get(pid) or pb.get(pid) or {}).get("name") or pid
        products.append({"product": pid, "name": str(name), "rows": rows})
    ka = key_figures(a.result or base_of)["totals"]
    kb = key_figures(b.result or base_of)["totals"]
    totals = []
    for key, label, unit in TOTALS:
        va = 0.0 if a.result is None and ka[key] is not None else ka[key]
        vb = 0.0 if b.result is None and kb[key] is not None else kb[key]
        totals.append(
            {"key": key, "label": label, "unit": unit, "a": va, "b": vb, "diff": _diff(va, vb)}
        )
    return {"a": a.label, "b": b.label, "totals": totals, "products": products}
