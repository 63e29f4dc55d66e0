"""Per-product figures: prices by country, trade diversion (Sankey and bars)."""

from __future__ import annotations

from typing import Any

from critmin.figures.style import (
    GAIN,
    LOSS,
    PLAIN_TICKS,
    Figure,
    category,
    color,
    layout,
    padded_range,
    scaled,
    usd_unit,
)
from critmin.narrative import country_label
from critmin.numbers import usd


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
                "marker": {"color": [color(k) for k in cats]},
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
        "layout": layout(
            height=420,
            bargap=0.25,
            margin={"l": 60, "r": 20, "t": 30, "b": 130},
            # labels slant down to the right, away from the value axis on the left
            xaxis={"tickangle": 45, "automargin": True},
            yaxis={
                "title": {"text": "change (%)"},
                "ticksuffix": "%",
                **PLAIN_TICKS,
                "zeroline": True,
                "zerolinecolor": "#374151",
                "gridcolor": "#e5e7eb",
            },
            # the colour key (members blue, watch orange, others grey) is in the page's note;
            # the legend stands on the plot's top edge (hung from y = 1.08 it covered the tops
            # of the tallest bars when it took two rows on a phone)
            legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom"},
            # on a phone (critmin.js) the bars lie down, one row per country: slanted under a
            # 390 px chart Plotly showed only every other country's name
            meta={"narrow": "horizontal"},
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
    cats = [category(c, members, watch) for c, _, _ in chosen]
    div, unit = usd_unit(deltas)
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": labels,
                "x": scaled(deltas, div),
                "marker": {
                    "color": [GAIN if d > 0 else LOSS for d in deltas],
                    "line": {"color": [color(k) for k in cats], "width": 2},
                },
                "customdata": [
                    [usd(b), r, k] for (_, b, _), r, k in zip(chosen, rel, cats, strict=True)
                ],
                "text": [usd(d, signed=True) for d in deltas],
                "textposition": "outside",
                "cliponaxis": True,
                "hovertemplate": "%{y} (%{customdata[2]})<br>change USD %{text} (%{customdata[1]})"
                "<br>baseline USD %{customdata[0]}<extra></extra>",
            }
        ],
        "layout": layout(
            height=max(220, 60 + 28 * len(chosen)),
            showlegend=False,
            margin={"l": 190, "r": 30, "t": 20, "b": 50},
            xaxis={
                "title": {"text": f"change in sales to zone members ({unit}, producer prices)"},
                "range": padded_range(scaled(deltas, div), 0.35),
                **PLAIN_TICKS,
                "automargin": True,
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
    node_colors = [color(category(c, members, watch)) for c in exporters] + ["#9ca3af"]
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
    height = 460
    plot_px = height - 50  # the figure's height less its top and bottom margins
    min_label_px = 7.0

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
            custom.append(
                [
                    usd(b),
                    usd(s),
                    "new" if b == 0 else f"{100 * (s - b) / b:+.1f}%",
                    labels[k[0]],
                    labels[k[1]],
                ]
            )
        # a label is printed only when its node is tall enough that neighbouring labels
        # cannot overlap (node height + padding >= a line of text); hover names every node
        through: dict[int, float] = {}
        for k in keys:
            for node in k:
                through[node] = through.get(node, 0.0) + values[k]
        panel_px = plot_px * max(total / scale, min_height)
        shown = [
            text if through.get(n, 0.0) / max(total, 1e-9) * panel_px >= min_label_px else ""
            for n, text in enumerate(labels)
        ]
        return {
            "type": "sankey",
            "arrangement": "snap",
            "valueformat": ",.0f",
            "valuesuffix": " USD",
            "domain": {"x": x, "y": [1 - max(total / scale, min_height), 1]},
            "node": {
                "label": shown,
                "customdata": labels,
                "color": node_colors,
                "pad": 10,
                "thickness": 14,
                "line": {"width": 0},
                "hovertemplate": "%{customdata}<br>USD %{value:,.0f}<extra></extra>",
            },
            "link": {
                "source": [k[0] for k in keys],
                "target": [k[1] for k in keys],
                "value": [values[k] for k in keys],
                "color": colors,
                "customdata": custom,
                "hovertemplate": "%{customdata[3]} %{customdata[4]}<br>baseline USD "
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
        "layout": layout(
            height=height,
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
