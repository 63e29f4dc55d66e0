"""Figures of analyses over many solves: uncertainty fan charts and the concentration heatmap."""

from __future__ import annotations

from typing import Any

from critmin.catalog import STAGES
from critmin.figures.style import (
    CONCENTRATION_SCALE,
    MEMBER,
    OTHER,
    PLAIN_TICKS,
    WATCH,
    Figure,
    chart_id,
    layout,
    usd_unit,
)


def concentration_heatmap(records: list[dict[str, Any]]) -> Figure:
    """HHI (0-10,000) of supply by mineral (rows) and stage (columns)."""
    stages = list(STAGES)
    minerals = sorted(
        {r["mineral"] for r in records},
        key=lambda m: -max(r["hhi"] for r in records if r["mineral"] == m),
    )
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for m in minerals:
        row: list[float | None] = []
        trow: list[str] = []
        for s in stages:
            hit = next((r for r in records if r["mineral"] == m and r["stage"] == s), None)
            row.append(None if hit is None else round(hit["hhi_10000"]))
            trow.append(
                ""
                if hit is None
                else f"{hit['top_supplier']} {100 * hit['top_supplier_share']:.0f}%"
            )
        z.append(row)
        text.append(trow)
    return {
        "data": [
            {
                "type": "heatmap",
                "x": stages,
                "y": [m.replace("_", " ") for m in minerals],
                "z": z,
                "text": text,
                "texttemplate": "%{text}",
                "textfont": {"size": 10},
                "colorscale": CONCENTRATION_SCALE,
                "zmin": 0,
                "zmax": 10000,
                "xgap": 2,
                "ygap": 2,
                "colorbar": {
                    "title": {"text": "HHI", "side": "right"},
                    "thickness": 12,
                    **PLAIN_TICKS,
                },
                "hovertemplate": "%{y}, %{x}<br>HHI %{z:,.0f}<br>top: %{text}<extra></extra>",
            }
        ],
        "layout": layout(
            height=max(320, 40 + 24 * len(minerals)),
            margin={"l": 130, "r": 20, "t": 30, "b": 30},
            xaxis={"side": "top"},
            yaxis={"autorange": "reversed", "automargin": True},
        ),
    }


def fan_figure(fan: dict[str, Any], unit: str) -> Figure | None:
    """Fan chart of one product's Monte Carlo outputs measured in ``unit`` ('%' or 'USD').

    One row per output: nested bands between the symmetric quantiles of
    :func:`critmin.uncertainty.fan_data` (5-95%, 10-90%, 25-75%, darker inside), a diamond at
    the median and a line marker at the point estimate (the central elasticities).
    """
    levels = [float(v) for v in fan["levels"]]
    rows = [
        (k, o)
        for k, o in fan["outputs"].items()
        if o["unit"] == unit and all(q is not None for q in o["quantiles"])
    ]
    if not rows:
        return None
    scale, usd_title = (
        usd_unit([q for _, o in rows for q in o["quantiles"]]) if unit == "USD" else (1.0, "")
    )
    labels = [o["label"] for _, o in rows]
    traces: list[dict[str, Any]] = []
    pairs = [(lo, 1 - lo) for lo in levels if lo < 0.5 and (1 - lo) in levels]
    for depth, (lo, hi) in enumerate(sorted(pairs)):
        i_lo, i_hi = levels.index(lo), levels.index(hi)
        starts = [o["quantiles"][i_lo] / scale for _, o in rows]
        widths = [(o["quantiles"][i_hi] - o["quantiles"][i_lo]) / scale for _, o in rows]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": labels,
                "x": widths,
                "base": starts,
                "name": f"{100 * lo:.0f}-{100 * hi:.0f}%",
                "marker": {"color": "#2563eb"},
                "opacity": 0.25 + 0.25 * depth,
                "hovertemplate": "%{base:.3g} to %{x:.3g}<extra></extra>",
            }
        )
    med = levels.index(0.5) if 0.5 in levels else None
    if med is not None:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "y": labels,
                "name": "median",
                "x": [o["quantiles"][med] / scale for _, o in rows],
                "marker": {"symbol": "diamond", "size": 10, "color": "#111827"},
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "y": labels,
            "name": "point estimate",
            "x": [(o["point"] / scale) if o["point"] is not None else None for _, o in rows],
            "marker": {"symbol": "line-ns-open", "size": 16, "color": "#dc2626"},
        }
    )
    title = usd_title if unit == "USD" else "change (%)"
    return {
        "data": traces,
        "layout": layout(
            barmode="overlay",
            height=90 + 46 * len(rows),
            xaxis={"title": {"text": title}, "zeroline": True, "automargin": True, **PLAIN_TICKS},
            yaxis={"automargin": True},
            # the legend sits above the plot: below it, it ran over the axis title
            legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom", "yref": "paper"},
            margin={"l": 20, "r": 20, "t": 40, "b": 50},
        ),
    }


def uncertainty_figures(fans: dict[str, dict[str, Any]]) -> dict[str, Figure]:
    """Fan charts for every product of an uncertainty run, keyed by div id."""
    figs: dict[str, Figure] = {}
    for pid, fan in fans.items():
        for unit, tag in (("%", "fan-pct"), ("USD", "fan-usd")):
            fig = fan_figure(fan, unit)
            if fig is not None:
                figs[chart_id(pid, tag)] = fig
    return figs


# ----------------------------------------------------------------------------- sweeps

# (figure key, legend label, colour, dash) per panel of a sweep chart
_SWEEP_PANELS: list[tuple[str, str, list[tuple[str, str, str, str]]]] = [
    (
        "consumer price change (%)",
        "%",
        [
            ("zone_consumer_price_change_pct", "zone consumer prices", MEMBER, "solid"),
            ("outside_consumer_price_change_pct", "outside consumer prices", OTHER, "solid"),
        ],
    ),
    (
        "share of zone demand (%)",
        "share",
        [
            ("self_sufficiency", "self-sufficiency", MEMBER, "solid"),
            ("self_sufficiency_baseline", "self-sufficiency, baseline", MEMBER, "dot"),
            ("watch_share", "watch share", WATCH, "solid"),
            ("watch_share_baseline", "watch share, baseline", WATCH, "dot"),
        ],
    ),
    (
        "zone welfare and its parts (USD)",
        "USD",
        [
            ("zone_welfare_change_usd", "zone welfare", "#111827", "solid"),
            ("zone_consumer_surplus_change_usd", "consumer surplus", "#b2182b", "dash"),
            ("zone_producer_surplus_change_usd", "producer surplus", "#2166ac", "dash"),
            ("zone_tariff_revenue_change_usd", "tariff / levy revenue", "#16a34a", "dash"),
            ("zone_subsidy_cost_usd", "subsidy cost", "#a16207", "dot"),
            ("zone_quota_rent_usd", "quota rent", "#7c3aed", "dot"),
        ],
    ),
]


def sweep_figure(sweep: dict[str, Any]) -> Figure:
    """Key figures of a parameter sweep (``SweepResult.to_dict()``) against the parameter:
    consumer prices (%), zone shares (%) and zone welfare with its parts (USD million), one
    panel each, stacked; a part that is zero at every point is left out."""
    xs = [p["value"] for p in sweep["points"]]
    traces: list[dict[str, Any]] = []
    axes: dict[str, Any] = {}
    n = len(_SWEEP_PANELS)
    gap = 0.08
    height = (1 - gap * (n - 1)) / n
    for k, (title, unit, series) in enumerate(_SWEEP_PANELS):
        axis = "" if k == 0 else str(k + 1)
        top = 1 - k * (height + gap)
        scale = 0.01 if unit == "share" else 1.0
        if unit == "USD":  # the text's unit (USD m, bn), named in the panel's title
            keys = [key for key, *_ in series]
            scale, usd_title = usd_unit(
                [p["figures"].get(key) for p in sweep["points"] for key in keys]
            )
            title = title.replace("(USD)", f"({usd_title})")
        for key, label, colour, dash in series:
            ys = [p["figures"].get(key) for p in sweep["points"]]
            if unit == "USD" and key != "zone_welfare_change_usd" and not any(ys):
                continue
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": label,
                    "x": xs,
                    "y": [None if y is None else y / scale for y in ys],
                    "xaxis": "x" + axis,
                    "yaxis": "y" + axis,
                    "line": {"color": colour, "dash": dash, "width": 2},
                    "marker": {"size": 5},
                    "legendgroup": str(k),
                    "hovertemplate": "%{x:,}: %{y:,.2f}<extra>" + label + "</extra>",
                }
            )
        axes["yaxis" + axis] = {
            "domain": [top - height, top],
            "title": {"text": title, "font": {"size": 11}},
            "gridcolor": "#e5e7eb",
            "zeroline": True,
            "zerolinecolor": "#9ca3af",
            "automargin": True,
            **PLAIN_TICKS,
        }
        axes["xaxis" + axis] = {
            **PLAIN_TICKS,
            "anchor": "y" + axis,
            "matches": "x" if axis else None,
            "showticklabels": True,
            "gridcolor": "#f3f4f6",
            "title": {"text": sweep["label"]} if k == n - 1 else None,
        }
    for ax in axes.values():
        for key in [k for k, v in ax.items() if v is None]:
            del ax[key]
    return {
        "data": traces,
        "layout": layout(
            height=900,
            margin={"l": 70, "r": 20, "t": 20, "b": 150},
            legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
            **axes,
        ),
    }
