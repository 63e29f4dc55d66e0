"""Figures of ``critmin paths`` (``PathsResult.to_dict()``): fan charts of the market price and
of the fiscal cost by year per mechanism, and the "who pays" stacked bar (NPV)."""

from __future__ import annotations

from typing import Any

from critmin.figures.style import PLAIN_TICKS, Figure, layout

__all__ = ["MECHANISM_COLORS", "paths_fan_figure", "paths_figures", "who_pays_figure"]

MECHANISM_COLORS = {
    "none": "#6b7280",
    "variable_levy": "#1d4ed8",
    "producer_subsidy": "#c2410c",
    "price_gap": "#7c3aed",
    "offtake": "#16a34a",
}


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


_LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0}
_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 100}
"""The legend below the plot, in room of its own (at ``y = -0.15`` of the plot it ran over the
years, or the mechanisms, on the x axis of a narrow chart); the charts are 420 px high (with
no height they took the page's 220 px, a plot a few lines high under the margins)."""


def paths_fan_figure(paths: dict[str, Any], measure: str, title: str, scale: float = 1.0) -> Figure:
    """Expected value by year per mechanism with its 5-95% band (a filled fan)."""
    traces: list[dict[str, Any]] = []
    for mech, entry in paths["mechanisms"].items():
        years = [r["year"] for r in entry["years"]]
        b = [r[measure] for r in entry["years"]]

        def pick(key: str, rows: list[dict[str, Any]] = b) -> list[float | None]:
            return [None if r[key] is None else r[key] / scale for r in rows]

        c = MECHANISM_COLORS.get(mech, "#111827")
        traces.append(
            {"type": "scatter", "x": years, "y": pick("p95"), "mode": "lines",
             "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip",
             "legendgroup": mech}
        )  # fmt: skip
        traces.append(
            {"type": "scatter", "x": years, "y": pick("p5"), "mode": "lines",
             "line": {"width": 0}, "fill": "tonexty", "fillcolor": _rgba(c, 0.15),
             "name": f"{mech} 5-95%", "showlegend": False, "legendgroup": mech,
             "hovertemplate": "P5 %{y:,.3g}<extra></extra>"}
        )  # fmt: skip
        traces.append(
            {"type": "scatter", "x": years, "y": pick("expected"), "mode": "lines+markers",
             "line": {"color": c, "width": 2}, "name": mech.replace("_", " "),
             "legendgroup": mech,
             "hovertemplate": "%{x}: %{y:,.3g}<extra>" + mech.replace("_", " ") + "</extra>"}
        )  # fmt: skip
    return {
        "data": traces,
        "layout": layout(
            title={"text": title},
            xaxis={"dtick": 1},
            yaxis=dict(PLAIN_TICKS),
            legend=_LEGEND,
            margin=_MARGIN,
            height=420,
        ),
    }


def who_pays_figure(paths: dict[str, Any]) -> Figure:
    """NPV (USD bn) borne by taxpayers, zone buyers and outside producers, and gained by zone
    producers, per mechanism (stacked; a cost is positive)."""
    mechs = list(paths["mechanisms"])
    labels = [m.replace("_", " ") for m in mechs]
    parts = [
        ("taxpayers_usd", "taxpayers", "#c2410c", 1.0),
        ("zone_buyers_usd", "zone buyers", "#1d4ed8", 1.0),
        ("outside_producers_usd", "outside producers", "#6b7280", 1.0),
        ("zone_producers_gain_usd", "zone producers (gain, shown negative)", "#16a34a", -1.0),
    ]
    traces = []
    for key, name, c, sign in parts:
        ys = [paths["mechanisms"][m]["who_pays"][key] for m in mechs]
        traces.append(
            {"type": "bar", "x": labels, "y": [None if v is None else sign * v / 1e9 for v in ys],
             "name": name, "marker": {"color": c},
             "hovertemplate": "%{x}: USD %{y:,.2f} bn<extra>" + name + "</extra>"}
        )  # fmt: skip
    return {
        "data": traces,
        "layout": layout(
            barmode="relative",
            title={"text": "Who pays: NPV of the floor's costs (USD bn, expected)"},
            yaxis={"title": {"text": "USD bn"}, **PLAIN_TICKS},
            legend=_LEGEND,
            margin=_MARGIN,
            height=420,
        ),
    }


def paths_figures(paths: dict[str, Any]) -> dict[str, Figure]:
    """Every figure of a paths result keyed by name."""
    return {
        "price-fan": paths_fan_figure(paths, "price_usd_per_t", "Market price (USD/t)"),
        "fiscal-fan": paths_fan_figure(
            paths, "fiscal_cost_usd", "Fiscal cost by year (USD m)", scale=1e6
        ),
        "who-pays": who_pays_figure(paths),
    }
