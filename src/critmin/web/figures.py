"""Key figures of a saved result and the side-by-side comparison of two results.

Both take their figures from :func:`critmin.narrative.key_figures` (the answer the report and
the dashboard state: zone self-sufficiency and watch share as fractions 0-1, consumer price
changes in %, welfare and its parts in USD), so a comparison says exactly what each result's
own page says. Per product, the same function is applied to that product's results alone.

The baseline of a scenario is the same markets with no instrument: every change is zero and
the zone shares are the figures' ``baseline`` values, so "compare with its baseline" needs no
second run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from critmin.narrative import KeyFigure, key_figures

LIST_FIGURES = (
    "self_sufficiency",
    "zone_consumer_price_change_pct",
    "zone_welfare_change_usd",
    "zone_tariff_revenue_change_usd",
    "zone_subsidy_cost_usd",
)
"""The key figures the saved-scenario list shows (all are stored)."""


def saved_figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The key figures of a result as JSON-ready dicts (``key``, ``label``, ``value``,
    ``unit``, ``text``, ``baseline``, ``note``), stored with a saved scenario."""
    return [asdict(f) for f in key_figures(result)]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a label and a result (``None``: the baseline of the other)."""

    label: str
    result: dict[str, Any] | None


def _baseline_value(f: KeyFigure) -> float | None:
    """The figure with no instrument: its baseline (shares), else no change (0)."""
    if f.baseline is not None:
        return f.baseline
    return None if f.value is None else 0.0


def _values(figures: list[KeyFigure], baseline: bool) -> dict[str, float | None]:
    return {f.key: (_baseline_value(f) if baseline else f.value) for f in figures}


def _rows(a: list[KeyFigure], b: list[KeyFigure], a_base: bool, b_base: bool) -> list[Any]:
    va, vb = _values(a, a_base), _values(b, b_base)
    meta = {f.key: f for f in [*b, *a]}
    rows = []
    for key in dict.fromkeys([*va, *vb]):
        x, y = va.get(key), vb.get(key)
        rows.append(
            {
                "key": key,
                "label": meta[key].label,
                "unit": meta[key].unit,
                "a": x,
                "b": y,
                "diff": None if x is None or y is None else y - x,
            }
        )
    return rows


def _one_product(result: dict[str, Any], pid: str) -> dict[str, Any] | None:
    product = result["products"].get(pid)
    return None if product is None else result | {"products": {pid: product}}


def compare(a: Side, b: Side) -> dict[str, Any]:
    """Key figures of ``a`` and ``b`` side by side with ``b - a``: for all products together
    (``totals``), then per product (the union of both sides' products; a side without the
    product has no figures there). A side whose result is ``None`` is the baseline of the
    other side's markets."""
    if a.result is None and b.result is None:
        raise ValueError("at most one side of a comparison can be the baseline")
    ra = a.result if a.result is not None else b.result
    rb = b.result if b.result is not None else a.result
    assert ra is not None and rb is not None
    a_base, b_base = a.result is None, b.result is None
    totals = _rows(key_figures(ra), key_figures(rb), a_base, b_base)
    products = []
    for pid in dict.fromkeys([*ra["products"], *rb["products"]]):
        pa, pb = _one_product(ra, pid), _one_product(rb, pid)
        fa = key_figures(pa) if pa is not None else []
        fb = key_figures(pb) if pb is not None else []
        name = ((pa or pb or {}).get("products", {}).get(pid) or {}).get("name") or pid
        products.append({"product": pid, "name": str(name), "rows": _rows(fa, fb, a_base, b_base)})
    return {"a": a.label, "b": b.label, "totals": totals, "products": products}
