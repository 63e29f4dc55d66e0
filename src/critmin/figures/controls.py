"""The routed flows of leaky export controls as a Sankey: origin -> via -> destination.

Built from a product's ``leakage`` (docs/controls.md): each routed flow is one path from the
restricted exporter (left) through the third country it is routed through (middle) to the
destination the control restricts (right); link widths are USD at export prices including the
detour cost. Nodes are coloured as everywhere (members blue, watch countries orange, others
grey); hover gives the value and, for the last leg, the route's use of its cap and the share of
the cut that leaked.
"""

from __future__ import annotations

from typing import Any

from critmin.figures.style import Figure, category, color, layout
from critmin.narrative import country_label
from critmin.numbers import share, usd

COLUMNS = ("origin", "via", "destination")
MIN_LABEL_PX = 9.0
"""A node's label is printed when the node is at least this tall (pixels)."""
ROUTED_FIGURE = "routed"
"""The figure's name (``figure(results, "routed", product)``); drawn only for products with
routed flows."""


def routed_figure(product: dict[str, Any], members: set[str], watch: set[str]) -> Figure:
    """Sankey of the routed flows (module docstring); an empty figure with a note when the
    product has none."""
    rows = [r for r in product.get("leakage") or [] if (r.get("value_usd") or 0.0) > 0]
    nodes: dict[tuple[str, str], int] = {}
    for r in rows:
        for col in COLUMNS:
            nodes.setdefault((col, r[col]), len(nodes))
    links: dict[tuple[int, int], list[Any]] = {}  # value and the last leg's cap and cut
    for r in rows:
        a, v, d = (nodes[(col, r[col])] for col in COLUMNS)
        value = float(r["value_usd"])
        links.setdefault((a, v), [0.0, None])[0] += value
        last = links.setdefault((v, d), [0.0, None])
        last[0] += value
        last[1] = (
            f"<br>route's use of its cap {share(r.get('quantity_share_of_cap'))}; "
            f"leaked {share(r.get('leaked_share_of_cut'))} of the cut"
        )
    order = list(nodes)
    names = [
        f"{country_label(code)} ({code}), {col}" if country_label(code) != code else code
        for col, code in order
    ]
    total = sum(float(r["value_usd"]) for r in rows)
    height = max(260, min(560, 70 + 34 * max(1, len({r["destination"] for r in rows}))))
    # a label is printed only when its node is tall enough for a line of text (as in the
    # trade-diversion Sankey); hover and the table below the chart name every route
    inflow, outflow = [0.0] * len(order), [0.0] * len(order)
    for (a, b), (value, _) in links.items():
        outflow[a] += value
        inflow[b] += value
    plot_px = height - 50  # less the top and bottom margins
    shown = [
        code if max(inflow[n], outflow[n]) / max(total, 1e-9) * plot_px >= MIN_LABEL_PX else ""
        for n, (_, code) in enumerate(order)
    ]
    trace = {
        "type": "sankey",
        "arrangement": "snap",
        "valueformat": ",.0f",
        "node": {
            "label": shown,
            "customdata": names,
            "color": [color(category(code, members, watch)) for _, code in order],
            "pad": 12,
            "thickness": 16,
            "line": {"width": 0},
            "hovertemplate": "%{customdata}<br>USD %{value:,.0f} routed<extra></extra>",
        },
        "link": {
            "source": [k[0] for k in links],
            "target": [k[1] for k in links],
            "value": [v[0] for v in links.values()],
            "customdata": [
                f"{names[k[0]]} → {names[k[1]]}<br>USD {usd(v[0])}{v[1] or ''}"
                for k, v in links.items()
            ],
            "color": "rgba(194, 65, 12, 0.28)",
            "hovertemplate": "%{customdata}<extra></extra>",
        },
    }
    heads = [
        {
            "text": f"<b>{text}</b>",
            "x": pos,
            "y": 1.04,
            "yref": "paper",
            "xref": "paper",
            "yanchor": "bottom",
            "xanchor": anchor,
            "showarrow": False,
        }
        for text, pos, anchor in (
            ("from", 0.0, "left"),
            ("via", 0.5, "center"),
            ("to", 1.0, "right"),
        )
    ]
    if not rows:
        heads = [
            {
                "text": "no routed flows",
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "font": {"color": "#6b7280"},
            }
        ]
    return {
        "data": [trace] if rows else [],
        "layout": layout(
            height=height,
            margin={"l": 10, "r": 10, "t": 40, "b": 10},
            annotations=heads,
            meta={"routed_usd": total},
        ),
    }
