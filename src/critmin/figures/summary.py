"""Scenario-wide figures: zone supply security and consumer prices, one row per product,
sorted by effect (largest first), with the value axis at the top and bottom of tall charts."""

from __future__ import annotations

from typing import Any

from critmin.figures.style import (
    BASELINE,
    MEMBER,
    OTHER,
    PLAIN_TICKS,
    SCENARIO,
    WATCH_BASE,
    WATCH_SCEN,
    Figure,
    hbar,
    layout,
    legend_below,
    padded_range,
    pct_values,
    top_axis,
    wrap_label,
)


def _percent_axis(title: str, value_range: list[float], **extra: Any) -> dict[str, Any]:
    """A value axis in % with its title, a fixed (padded) range and room for its labels."""
    return {
        "title": {"text": title},
        "range": value_range,
        "ticksuffix": "%",
        **PLAIN_TICKS,
        "gridcolor": "#e5e7eb",
        "automargin": True,
        **extra,
    }


def _effect(before: float | None, after: float | None) -> float:
    return abs((after or 0.0) - (before or 0.0))


def zone_order(results: dict[str, Any]) -> list[str]:
    """Product ids by the change in zone self-sufficiency plus the change in the watch share
    (percentage points, largest first)."""
    products = results["products"]

    def effect(pid: str) -> float:
        z = products[pid]["zone"]
        return _effect(z["self_sufficiency_baseline"], z["self_sufficiency"]) + _effect(
            z["watch_share_baseline"], z["watch_share"]
        )

    return sorted(products, key=lambda pid: -effect(pid))


def price_order(results: dict[str, Any]) -> list[str]:
    """Product ids by the size of the zone consumer price change (largest first)."""
    products = results["products"]
    return sorted(
        products,
        key=lambda pid: -abs(products[pid]["summary"]["zone_consumer_price_change_pct"] or 0.0),
    )


def zone_shares_figure(results: dict[str, Any]) -> Figure:
    """Zone self-sufficiency and watch-country share of zone demand, baseline vs scenario,
    one row per product (two side-by-side panels, in %), largest change first."""
    products = results["products"]
    order = zone_order(results)
    full = [products[pid]["name"] for pid in order]
    names = [wrap_label(name) for name in full]
    zones = [products[pid]["zone"] for pid in order]
    values: dict[str, list[float | None]] = {}

    def bar(key: str, label: str, color: str, axis: str) -> dict[str, Any]:
        vals = pct_values([z[key] for z in zones])
        values[key] = vals
        return hbar(names, vals, label, color, ".1f", xaxis=axis, yaxis="y", customdata=full)

    traces = [
        bar("self_sufficiency_baseline", "Self-sufficiency, baseline", BASELINE, "x"),
        bar("self_sufficiency", "Self-sufficiency, scenario", SCENARIO, "x"),
        bar("watch_share_baseline", "Watch share, baseline", WATCH_BASE, "x2"),
        bar("watch_share", "Watch share, scenario", WATCH_SCEN, "x2"),
    ]
    left = padded_range(values["self_sufficiency_baseline"] + values["self_sufficiency"], 0.22)
    right = padded_range(values["watch_share_baseline"] + values["watch_share"], 0.22)
    height = max(300, 100 + 46 * len(names))
    extra: dict[str, Any] = {}
    for base, key in (("x", "xaxis3"), ("x2", "xaxis4")):
        top = top_axis(base, len(names))
        if top:
            extra[key] = top[0]
            traces.append(top[1])
    return {
        "data": traces,
        "layout": layout(
            height=height,
            barmode="group",
            bargap=0.25,
            margin={"l": 170, "r": 30, "t": 60 if extra else 30, "b": 90},
            xaxis=_percent_axis("met by members (%)", left, domain=[0, 0.47]),
            xaxis2=_percent_axis("met by watch countries (%)", right, domain=[0.53, 1]),
            yaxis={"automargin": True, "autorange": "reversed"},
            legend=legend_below(),
            **extra,
        ),
    }


def price_summary_figure(results: dict[str, Any]) -> Figure:
    """Consumer price change inside vs outside the zone, one row per product (%; weighted by
    baseline purchases), largest zone change first."""
    products = results["products"]
    order = price_order(results)
    full = [products[pid]["name"] for pid in order]
    names = [wrap_label(name) for name in full]
    zone = [products[pid]["summary"]["zone_consumer_price_change_pct"] for pid in order]
    outside = [products[pid]["summary"]["outside_consumer_price_change_pct"] for pid in order]
    height = max(280, 100 + 46 * len(names))
    traces = [
        hbar(names, zone, "Zone members", MEMBER, "+.2f", customdata=full),
        hbar(names, outside, "Outside the zone", OTHER, "+.2f", customdata=full),
    ]
    extra: dict[str, Any] = {}
    top = top_axis("x", len(names))
    if top:
        extra["xaxis3"] = top[0]
        traces.append(top[1])
    return {
        "data": traces,
        "layout": layout(
            height=height,
            barmode="group",
            bargap=0.3,
            margin={"l": 170, "r": 30, "t": 60 if extra else 30, "b": 90},
            xaxis=_percent_axis(
                "consumer price change (%)",
                padded_range(zone + outside, 0.3),
                zeroline=True,
                zerolinecolor="#374151",
            ),
            yaxis={"automargin": True, "autorange": "reversed"},
            legend=legend_below(),
            **extra,
        ),
    }
