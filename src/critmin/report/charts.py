"""Plotly figures (plain ``{"data": [...], "layout": {...}}`` dicts) built from results.

Every function takes the results contract (``SimulationResult.to_dict()``) or a part of it and
returns a JSON-ready figure; the page's script hands each one to ``Plotly.newPlot``. Maps use
the bundled country polygons: a trace whose ``geojson`` is the string ``"@world"`` gets the
inline GeoJSON (``assets/world-110m.geojson``) in the browser, so it is embedded once per page.
"""

from __future__ import annotations

import math
import re
from typing import Any

from critmin.catalog import STAGES
from critmin.report.format import country_label, usd
from critmin.report.resources import geojson_ids

Figure = dict[str, Any]

MEMBER = "#1d4ed8"
WATCH = "#c2410c"
OTHER = "#6b7280"
BASELINE = "#93c5fd"
SCENARIO = "#1d4ed8"
WATCH_BASE = "#fdba74"
WATCH_SCEN = "#c2410c"
GAIN = "rgba(22, 163, 74, 0.55)"
LOSS = "rgba(220, 38, 38, 0.55)"
FONT = {
    "family": "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
    "size": 12,
    "color": "#1f2937",
}
WORLD = "@world"
NO_DATA = "#d4d4d8"
# ColorBrewer RdBu (diverging, colour-blind safe), near-white at zero
WELFARE_SCALE = [
    [0, "#b2182b"],
    [0.25, "#ef8a62"],
    [0.5, "#f7f7f7"],
    [0.75, "#67a9cf"],
    [1, "#2166ac"],
]
# ColorBrewer OrRd (sequential): low pale, high dark red
CONCENTRATION_SCALE = [
    [0, "#fff7ec"],
    [0.2, "#fdd49e"],
    [0.4, "#fdbb84"],
    [0.6, "#fc8d59"],
    [0.8, "#d7301f"],
    [1, "#7f0000"],
]
PRICE_SCALE = [
    [0, "#2166ac"],
    [0.25, "#67a9cf"],
    [0.5, "#f7f7f7"],
    [0.75, "#ef8a62"],
    [1, "#b2182b"],
]


def _layout(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "font": FONT,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "hoverlabel": {"font": {"family": FONT["family"]}},
        "legend": {"orientation": "h", "y": -0.15, "x": 0},
    }
    base.update(extra)
    return base


def chart_id(*parts: str) -> str:
    """A safe HTML id for a chart: ``chart-lithium_carbonate-sankey``."""
    return "chart-" + "-".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in parts)


def _pct_values(values: list[float | None]) -> list[float | None]:
    return [None if v is None else round(100 * v, 6) for v in values]


def _category(code: str, members: set[str], watch: set[str]) -> str:
    if code in members:
        return "member"
    if code in watch:
        return "watch"
    return "other"


def _color(category: str) -> str:
    return {"member": MEMBER, "watch": WATCH}.get(category, OTHER)


# ----------------------------------------------------------------------------- scenario-wide


def _legend_below() -> dict[str, Any]:
    """A horizontal legend at the bottom of the figure's container."""
    return {"orientation": "h", "yref": "container", "y": 0.02, "x": 0, "yanchor": "bottom"}


def _hbar(
    names: list[str], vals: list[float | None], label: str, color: str, fmt: str, **extra: Any
) -> dict[str, Any]:
    """A horizontal bar trace, one bar per product, its value (``fmt``, e.g. ``".1f"``, in %)
    printed beside the bar and in the hover label."""
    return {
        "type": "bar",
        "orientation": "h",
        "name": label,
        "y": names,
        "x": vals,
        "marker": {"color": color},
        **extra,
        "hovertemplate": "%{y}<br>" + label + ": %{x:" + fmt + "}%<extra></extra>",
        "text": [None if v is None else f"{v:{fmt}}%" for v in vals],
        "textposition": "outside",
        "cliponaxis": False,
    }


def zone_shares_figure(results: dict[str, Any]) -> Figure:
    """Zone self-sufficiency and watch-country share of zone demand, baseline vs scenario,
    one row per product (two side-by-side panels, in %)."""
    products = results["products"]
    names = [p["name"] for p in products.values()]
    zones = [p["zone"] for p in products.values()]

    def bar(key: str, label: str, color: str, axis: str) -> dict[str, Any]:
        vals = _pct_values([z[key] for z in zones])
        return _hbar(names, vals, label, color, ".1f", xaxis=axis, yaxis="y")

    height = max(300, 100 + 46 * len(names))
    return {
        "data": [
            bar("self_sufficiency_baseline", "Self-sufficiency, baseline", BASELINE, "x"),
            bar("self_sufficiency", "Self-sufficiency, scenario", SCENARIO, "x"),
            bar("watch_share_baseline", "Watch share, baseline", WATCH_BASE, "x2"),
            bar("watch_share", "Watch share, scenario", WATCH_SCEN, "x2"),
        ],
        "layout": _layout(
            height=height,
            barmode="group",
            bargap=0.25,
            margin={"l": 170, "r": 30, "t": 30, "b": 90},
            xaxis={
                "domain": [0, 0.47],
                "title": {"text": "share of zone demand met by members (%)"},
                "rangemode": "tozero",
                "ticksuffix": "%",
                "gridcolor": "#e5e7eb",
            },
            xaxis2={
                "domain": [0.53, 1],
                "title": {"text": "share of zone demand met by watch countries (%)"},
                "rangemode": "tozero",
                "ticksuffix": "%",
                "gridcolor": "#e5e7eb",
            },
            yaxis={"automargin": True, "autorange": "reversed"},
            legend=_legend_below(),
        ),
    }


def price_summary_figure(results: dict[str, Any]) -> Figure:
    """Consumer price change inside vs outside the zone, one row per product (%; weighted by
    baseline purchases)."""
    products = results["products"]
    names = [p["name"] for p in products.values()]
    zone = [p["summary"]["zone_consumer_price_change_pct"] for p in products.values()]
    outside = [p["summary"]["outside_consumer_price_change_pct"] for p in products.values()]
    height = max(280, 100 + 40 * len(names))

    return {
        "data": [
            _hbar(names, zone, "Zone members", MEMBER, "+.2f"),
            _hbar(names, outside, "Outside the zone", OTHER, "+.2f"),
        ],
        "layout": _layout(
            height=height,
            barmode="group",
            bargap=0.3,
            margin={"l": 170, "r": 60, "t": 30, "b": 90},
            xaxis={
                "title": {"text": "consumer price change (%)"},
                "ticksuffix": "%",
                "zeroline": True,
                "zerolinecolor": "#374151",
                "gridcolor": "#e5e7eb",
            },
            yaxis={"automargin": True, "autorange": "reversed"},
            legend=_legend_below(),
        ),
    }


# ----------------------------------------------------------------------------- per product


def country_prices_figure(product: dict[str, Any], top: int = 24) -> Figure:
    """Consumer price change (bars) and producer price change (markers) by country: every
    member and watch country plus the largest other buyers, members first."""
    countries = product["countries"]
    rows = [(c, r) for c, r in countries.items() if r.get("consumer_price_change_pct") is not None]
    inside = sorted(
        (x for x in rows if x[1]["member"]),
        key=lambda x: -float(x[1].get("baseline_purchases_usd") or 0),
    )
    watch = [x for x in rows if x[1]["watch"] and not x[1]["member"]]
    others = sorted(
        (x for x in rows if not x[1]["member"] and not x[1]["watch"]),
        key=lambda x: -float(x[1].get("baseline_purchases_usd") or 0),
    )
    n_other = max(4, top - len(inside[: top // 2]) - len(watch))
    chosen = inside[: top // 2] + watch + others[:n_other]
    labels = [country_label(c) + ("" if c == country_label(c) else f" ({c})") for c, _ in chosen]
    cats = ["member" if r["member"] else ("watch" if r["watch"] else "other") for _, r in chosen]
    consumer = [r["consumer_price_change_pct"] for _, r in chosen]
    producer = [r.get("producer_price_change_pct") for _, r in chosen]
    purchases = [usd(r.get("baseline_purchases_usd")) for _, r in chosen]
    return {
        "data": [
            {
                "type": "bar",
                "name": "Consumer price",
                "x": labels,
                "y": consumer,
                "marker": {"color": [_color(k) for k in cats]},
                "customdata": [[k, p] for k, p in zip(cats, purchases, strict=True)],
                "hovertemplate": "%{x} (%{customdata[0]})<br>consumer price %{y:+.2f}%"
                "<br>baseline purchases USD %{customdata[1]}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Producer price",
                "x": labels,
                "y": producer,
                "marker": {
                    "symbol": "diamond",
                    "size": 9,
                    "color": "#111827",
                    "line": {"color": "#ffffff", "width": 1},
                },
                "hovertemplate": "%{x}<br>producer price %{y:+.2f}%<extra></extra>",
            },
        ],
        "layout": _layout(
            height=420,
            bargap=0.25,
            margin={"l": 60, "r": 20, "t": 30, "b": 130},
            xaxis={"tickangle": -45, "automargin": True},
            yaxis={
                "title": {"text": "change (%)"},
                "ticksuffix": "%",
                "zeroline": True,
                "zerolinecolor": "#374151",
                "gridcolor": "#e5e7eb",
            },
            legend={"orientation": "h", "y": 1.08, "x": 0},
            annotations=[
                {
                    "text": "bars: members blue, watch orange, others grey",
                    "xref": "paper",
                    "yref": "paper",
                    "x": 1,
                    "y": 1.08,
                    "showarrow": False,
                    "xanchor": "right",
                    "font": {"size": 11, "color": "#6b7280"},
                }
            ],
        ),
    }


def diversion_rows(product: dict[str, Any], members: set[str]) -> list[tuple[str, float, float]]:
    """(exporter, baseline USD, scenario USD) of sales to zone members, excluding each member's
    domestic sales, largest baseline first."""
    acc: dict[str, list[float]] = {}
    for f in product["flows"]:
        if f["importer"] in members and f["exporter"] != f["importer"]:
            a = acc.setdefault(f["exporter"], [0.0, 0.0])
            a[0] += float(f["baseline_value_usd"])
            a[1] += float(f["value_usd"] or 0.0)
    rows = [(c, b, s) for c, (b, s) in acc.items()]
    rows.sort(key=lambda r: -max(r[1], r[2]))
    return rows


def diversion_figure(
    product: dict[str, Any], members: set[str], watch: set[str], top: int = 8
) -> Figure:
    """Change in each exporter's sales to zone members (USD at producer prices): the largest
    losers and gainers."""
    rows = [(c, b, s - b) for c, b, s in diversion_rows(product, members)]
    rows = [r for r in rows if abs(r[2]) > 0]
    losers = sorted((r for r in rows if r[2] < 0), key=lambda r: r[2])[:top]
    gainers = sorted((r for r in rows if r[2] > 0), key=lambda r: -r[2])[:top]
    chosen = sorted(losers + gainers, key=lambda r: r[2])
    labels = [f"{country_label(c)} ({c})" if country_label(c) != c else c for c, _, _ in chosen]
    deltas = [d for _, _, d in chosen]
    rel = [("new" if b == 0 else f"{100 * d / b:+.1f}%") for _, b, d in chosen]
    cats = [_category(c, members, watch) for c, _, _ in chosen]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": labels,
                "x": deltas,
                "marker": {
                    "color": [GAIN if d > 0 else LOSS for d in deltas],
                    "line": {"color": [_color(k) for k in cats], "width": 2},
                },
                "customdata": [
                    [usd(b), r, k] for (_, b, _), r, k in zip(chosen, rel, cats, strict=True)
                ],
                "text": [usd(d, signed=True) for d in deltas],
                "textposition": "auto",
                "hovertemplate": "%{y} (%{customdata[2]})<br>change USD %{text} (%{customdata[1]})"
                "<br>baseline USD %{customdata[0]}<extra></extra>",
            }
        ],
        "layout": _layout(
            height=max(220, 60 + 28 * len(chosen)),
            showlegend=False,
            margin={"l": 190, "r": 30, "t": 20, "b": 50},
            xaxis={
                "title": {"text": "change in sales to zone members (USD, producer prices)"},
                "zeroline": True,
                "zerolinecolor": "#374151",
                "gridcolor": "#e5e7eb",
            },
            yaxis={"automargin": True},
        ),
    }


def sankey_figure(
    product: dict[str, Any],
    members: set[str],
    watch: set[str],
    top_exporters: int = 8,
    top_importers: int = 6,
) -> Figure:
    """Trade into the zone, baseline (left) vs scenario (right): exporters -> member importers.

    Each panel's height is proportional to its total, so widths compare across panels. In the
    scenario panel a link is green when the flow grew and red when it shrank; an exporter whose
    sales were banned or priced out simply disappears.
    """
    flows = [
        f for f in product["flows"] if f["importer"] in members and f["exporter"] != f["importer"]
    ]
    by_exp: dict[str, float] = {}
    by_imp: dict[str, float] = {}
    for f in flows:
        v = max(float(f["baseline_value_usd"]), float(f["value_usd"] or 0.0))
        by_exp[f["exporter"]] = by_exp.get(f["exporter"], 0.0) + v
        by_imp[f["importer"]] = by_imp.get(f["importer"], 0.0) + v
    exporters = sorted(by_exp, key=lambda c: -by_exp[c])[:top_exporters]
    importers = sorted(by_imp, key=lambda c: -by_imp[c])[:top_importers]
    exp_nodes = [*exporters, "other exporters"]
    imp_nodes = [*importers, "other members"]
    labels = [f"{country_label(c)}" if c in by_exp else c for c in exp_nodes]
    labels += [f"→ {country_label(c)}" if c in by_imp else f"→ {c}" for c in imp_nodes]
    node_colors = [_color(_category(c, members, watch)) for c in exporters] + ["#9ca3af"]
    node_colors += ["#334155"] * len(imp_nodes)

    def index(exp: str, imp: str) -> tuple[int, int]:
        i = exp_nodes.index(exp) if exp in exporters else len(exporters)
        j = imp_nodes.index(imp) if imp in importers else len(importers)
        return i, len(exp_nodes) + j

    base: dict[tuple[int, int], float] = {}
    scen: dict[tuple[int, int], float] = {}
    for f in flows:
        key = index(f["exporter"], f["importer"])
        base[key] = base.get(key, 0.0) + float(f["baseline_value_usd"])
        scen[key] = scen.get(key, 0.0) + float(f["value_usd"] or 0.0)
    total_b, total_s = sum(base.values()), sum(scen.values())
    scale = max(total_b, total_s, 1e-9)
    # a panel shorter than this would be too thin to draw (Plotly fails on a ~0 domain)
    min_height = 0.08

    def rgba(hex_color: str, alpha: float) -> str:
        h = hex_color.lstrip("#")
        r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
        return f"rgba({r}, {g}, {b}, {alpha})"

    def trace(
        values: dict[tuple[int, int], float], x: list[float], total: float, scenario: bool
    ) -> dict[str, Any]:
        keys = [k for k, v in values.items() if v > 0]
        colors = []
        custom = []
        for k in keys:
            b, s = base.get(k, 0.0), scen.get(k, 0.0)
            if scenario:
                colors.append(
                    GAIN
                    if s > b * 1.0005
                    else (LOSS if s < b * 0.9995 else rgba(node_colors[k[0]], 0.3))
                )
            else:
                colors.append(rgba(node_colors[k[0]], 0.35))
            custom.append([usd(b), usd(s), "new" if b == 0 else f"{100 * (s - b) / b:+.1f}%"])
        return {
            "type": "sankey",
            "arrangement": "snap",
            "valueformat": ",.0f",
            "valuesuffix": " USD",
            "domain": {"x": x, "y": [1 - max(total / scale, min_height), 1]},
            "node": {
                "label": labels,
                "color": node_colors,
                "pad": 10,
                "thickness": 14,
                "line": {"width": 0},
                "hovertemplate": "%{label}<br>USD %{value:,.0f}<extra></extra>",
            },
            "link": {
                "source": [k[0] for k in keys],
                "target": [k[1] for k in keys],
                "value": [values[k] for k in keys],
                "color": colors,
                "customdata": custom,
                "hovertemplate": "%{source.label} → %{target.label}<br>baseline USD "
                "%{customdata[0]}, scenario USD %{customdata[1]} "
                "(%{customdata[2]})<extra></extra>",
            },
        }

    panels = [(base, [0, 0.46], total_b, False), (scen, [0.54, 1], total_s, True)]
    traces = [trace(*p) for p in panels if p[2] > 0]
    empty = [
        {
            "text": "no imports into the zone",
            "x": (p[1][0] + p[1][1]) / 2,
            "y": 0.9,
            "xref": "paper",
            "yref": "paper",
            "showarrow": False,
            "font": {"color": "#6b7280"},
        }
        for p in panels
        if p[2] <= 0
    ]
    return {
        "data": traces,
        "layout": _layout(
            height=460,
            margin={"l": 10, "r": 10, "t": 40, "b": 10},
            annotations=[
                {
                    "text": f"<b>Baseline</b>: USD {usd(total_b)} into the zone",
                    "x": 0.23,
                    "y": 1.06,
                    "xref": "paper",
                    "yref": "paper",
                    "showarrow": False,
                },
                {
                    "text": f"<b>Scenario</b>: USD {usd(total_s)} into the zone "
                    "(<span style='color:#16a34a'>gain</span> / "
                    "<span style='color:#dc2626'>loss</span>)",
                    "x": 0.77,
                    "y": 1.06,
                    "xref": "paper",
                    "yref": "paper",
                    "showarrow": False,
                },
                *empty,
            ],
        ),
    }


def _symmetric(values: list[float]) -> float:
    finite = sorted(abs(v) for v in values if v is not None and math.isfinite(v))
    if not finite:
        return 1.0
    k = min(len(finite) - 1, int(0.98 * len(finite)))
    return max(finite[k], 1e-9)


def _background_trace() -> dict[str, Any]:
    ids = sorted(geojson_ids())
    return {
        "type": "choropleth",
        "geojson": WORLD,
        "featureidkey": "id",
        "locations": ids,
        "z": [0] * len(ids),
        "colorscale": [[0, NO_DATA], [1, NO_DATA]],
        "showscale": False,
        "hoverinfo": "skip",
        "marker": {"line": {"color": "#ffffff", "width": 0.4}},
    }


def _geo_layout(height: int = 440) -> dict[str, Any]:
    return _layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        geo={
            "visible": False,
            "showframe": False,
            "projection": {"type": "natural earth"},
            "lataxis": {"range": [-58, 85]},
            "bgcolor": "#ffffff",
        },
    )


def map_figure(product: dict[str, Any]) -> Figure:
    """World map of the change in consumer prices (%) by country, with a button to switch to
    the welfare change (USD). Countries without purchases stay grey."""
    known = geojson_ids()
    countries = product["countries"]
    # (key, title, hover format, colours): price rises red, welfare gains blue
    metrics: list[tuple[str, str, str, list[list[Any]]]] = [
        ("consumer_price_change_pct", "Consumer price change (%)", "%{z:+.2f}%", PRICE_SCALE),
        ("welfare_change_usd", "Welfare change (USD)", "USD %{z:,.0f}", WELFARE_SCALE),
    ]
    variants: list[dict[str, Any]] = []
    for key, title, fmt, scale in metrics:
        locs = [c for c, r in countries.items() if c in known and r.get(key) is not None]
        z = [countries[c][key] for c in locs]
        names = [
            country_label(c)
            + (" (member)" if countries[c]["member"] else "")
            + (" (watch)" if countries[c]["watch"] else "")
            for c in locs
        ]
        bound = _symmetric(z)
        variants.append(
            {
                "locations": locs,
                "z": z,
                "text": names,
                "title": title,
                "fmt": fmt,
                "zmin": -bound,
                "zmax": bound,
                "scale": scale,
            }
        )
    first = variants[0]
    data_trace = {
        "type": "choropleth",
        "geojson": WORLD,
        "featureidkey": "id",
        "locations": first["locations"],
        "z": first["z"],
        "text": first["text"],
        "zmin": first["zmin"],
        "zmax": first["zmax"],
        "colorscale": first["scale"],
        "colorbar": {
            "title": {"text": first["title"], "side": "right"},
            "thickness": 12,
            "len": 0.8,
        },
        "marker": {"line": {"color": "#ffffff", "width": 0.4}},
        "hovertemplate": "%{text}<br>" + first["fmt"] + "<extra></extra>",
    }
    buttons = [
        {
            "label": v["title"].split(" (")[0],
            "method": "restyle",
            "args": [
                {
                    "locations": [v["locations"]],
                    "z": [v["z"]],
                    "text": [v["text"]],
                    "zmin": [v["zmin"]],
                    "zmax": [v["zmax"]],
                    "colorscale": [v["scale"]],
                    "colorbar.title.text": [v["title"]],
                    "hovertemplate": ["%{text}<br>" + v["fmt"] + "<extra></extra>"],
                },
                [1],
            ],
        }
        for v in variants
    ]
    layout = _geo_layout()
    layout["updatemenus"] = [
        {
            "type": "buttons",
            "direction": "right",
            "buttons": buttons,
            "x": 0,
            "y": 1.07,
            "xanchor": "left",
            "showactive": True,
            "bgcolor": "#f3f4f6",
            "bordercolor": "#d1d5db",
            "font": {"size": 11},
        }
    ]
    return {"data": [_background_trace(), data_trace], "layout": layout}


def result_figures(results: dict[str, Any]) -> dict[str, Figure]:
    """Every chart of a results page, keyed by the id of its ``<div>``."""
    members = set(results["members"])
    watch = set(results["watch"])
    figs: dict[str, Figure] = {
        chart_id("zone-shares"): zone_shares_figure(results),
        chart_id("price-summary"): price_summary_figure(results),
    }
    for pid, p in results["products"].items():
        figs[chart_id(pid, "prices")] = country_prices_figure(p)
        figs[chart_id(pid, "sankey")] = sankey_figure(p, members, watch)
        figs[chart_id(pid, "diversion")] = diversion_figure(p, members, watch)
        figs[chart_id(pid, "map")] = map_figure(p)
    return figs


# ----------------------------------------------------------------------------- overview


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
                "colorbar": {"title": {"text": "HHI", "side": "right"}, "thickness": 12},
                "hovertemplate": "%{y}, %{x}<br>HHI %{z:,.0f}<br>top: %{text}<extra></extra>",
            }
        ],
        "layout": _layout(
            height=max(320, 40 + 24 * len(minerals)),
            margin={"l": 130, "r": 20, "t": 30, "b": 30},
            xaxis={"side": "top"},
            yaxis={"autorange": "reversed", "automargin": True},
        ),
    }


def supply_map_figure(shares: dict[str, float], title: str) -> Figure:
    """World map of each country's share of world supply (%) for one mineral and stage."""
    known = geojson_ids()
    locs = [c for c, v in shares.items() if c in known and v is not None and v > 0]
    z = [round(100 * shares[c], 4) for c in locs]
    return {
        "data": [
            _background_trace(),
            {
                "type": "choropleth",
                "geojson": WORLD,
                "featureidkey": "id",
                "locations": locs,
                "z": z,
                "text": [country_label(c) for c in locs],
                "zmin": 0,
                "zmax": max([*z, 1.0]),
                "colorscale": CONCENTRATION_SCALE,
                "colorbar": {
                    "title": {"text": "share of world (%)", "side": "right"},
                    "thickness": 12,
                    "len": 0.8,
                },
                "marker": {"line": {"color": "#ffffff", "width": 0.4}},
                "hovertemplate": "%{text}<br>%{z:.1f}% of world supply<extra></extra>",
            },
        ],
        "layout": _geo_layout(420) | {"title": {"text": title, "x": 0.01, "font": {"size": 13}}},
    }


# ----------------------------------------------------------------------------- uncertainty


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
    scale = 1e6 if unit == "USD" else 1.0
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
    title = "USD million" if unit == "USD" else "change (%)"
    return {
        "data": traces,
        "layout": _layout(
            barmode="overlay",
            height=90 + 46 * len(rows),
            xaxis={"title": {"text": title}, "zeroline": True},
            yaxis={"automargin": True},
            margin={"l": 20, "r": 20, "t": 20, "b": 60},
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
