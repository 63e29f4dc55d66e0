"""Figures of a linked chain (``results["chains"][id]``, docs/model.md "Linked chains").

- ``chain-diagram`` (:func:`chain_diagram_figure`): the stages left to right, one column per
  stage plus the final buyers; in each column a node for the zone's producers (top row) and one
  for producers outside the zone (bottom row), labelled with the change in the price they sell
  at ("sells": output-weighted producer price change) and, from the second stage on, in the
  price they pay for the previous stage's product ("pays": the stage's buyer price change, the
  contract's ``zone_price_change_pct`` / ``outside_price_change_pct``; a by-product stage buys
  no input and says ``by-product``, its incoming lines dotted). Lines join a stage's
  sellers to the next column's buyers, as wide as the scenario's sales between the two regions
  (USD at producer prices, :func:`critmin.narrative.chain_region_flows`); hovering gives the
  baseline value and the change.
- ``chain-capture`` (:func:`chain_capture_figure`): who captures the rent, stage by stage: the
  change in producer surplus (USD) of the zone's and outside producers at each stage (the
  contract's ``captured_by_stage``), with the zone's share of its producers' gain.
"""

from __future__ import annotations

import math
from typing import Any

from critmin.figures.style import (
    MEMBER,
    OTHER,
    PLAIN_TICKS,
    Figure,
    layout,
    legend_below,
    padded_range,
    scaled,
    usd_unit,
)
from critmin.narrative import chain_region_flows, stage_labels, stage_producers
from critmin.numbers import pct, share, usd

CHAIN_FIGURES = ("chain-diagram", "chain-capture")

ROW_Y = {"zone": 1.0, "outside": 0.0}
ROW_NAME = {"zone": "Zone", "outside": "Outside"}
ROW_COLOR = {"zone": MEMBER, "outside": OTHER}
LINK_RGBA = {"zone": "rgba(29, 78, 216, 0.35)", "outside": "rgba(107, 114, 128, 0.35)"}
MAX_LINK_WIDTH = 16.0  # px, the largest flow of the figure
MIN_LINK_WIDTH = 1.0


LINK_WORDS = {"byproduct": "by-product", "none": "no input link"}
"""How a stage that does not buy the previous stage's product is linked to it (the contract's
``link``: ``input`` is a bought input, ``byproduct`` a by-product of the host, ``none`` no link)."""


def _node_text(
    region: str, sells: float | None, pays: float | None, col: int, n: int, link: str
) -> str:
    """``Zone / sells +9.1% / pays +4.9%``: what the region's producers at column ``col`` sell
    at and pay for their input (the first column pays nothing, the final buyers sell nothing,
    a by-product stage buys no input: it says ``by-product`` instead)."""
    lines = [f"<b>{ROW_NAME[region]}</b>"]
    if col < n:
        lines.append(f"sells {pct(sells, 1)}")
    if col > 0:
        lines.append(f"pays {pct(pays, 1)}" if link == "input" else LINK_WORDS.get(link, link))
    return "<br>".join(lines)


def chain_diagram_figure(results: dict[str, Any], chain_id: str) -> Figure:
    """The chain diagram of ``chain_id`` (see the module docstring): prices by stage and the
    flows between the zone and the rest of the world from stage to stage."""
    chain = results["chains"][chain_id]
    stages = chain["stages"]
    n = len(stages)
    labels = [*stage_labels(chain), "final buyers"]
    # a column whose producers do not buy the previous stage's product (a by-product): the
    # lines into it are dotted, as the stage's sales go to other buyers in that region
    bought = [s["link"] == "input" for s in stages[1:]] + [True]
    ticks = [
        label
        if k == 0 or k == n or bought[k - 1]
        else f"{label}<br>({LINK_WORDS.get(stages[k]['link'], stages[k]['link'])})"
        for k, label in enumerate(labels)
    ]
    flows = chain_region_flows(results, chain_id)
    biggest = max((float(f["value_usd"] or 0.0) for f in flows), default=0.0) or 1.0
    traces: list[dict[str, Any]] = []
    for f in flows:
        k, a, b = f["step"] - 1, f["seller"], f["buyer"]
        after, before = f["value_usd"], f["baseline_value_usd"]
        if not before and not after:
            continue
        width = MIN_LINK_WIDTH + (MAX_LINK_WIDTH - MIN_LINK_WIDTH) * math.sqrt(
            max(float(after or 0.0), 0.0) / biggest
        )
        change = None if after is None or not before else (after / before - 1.0) * 100.0
        hover = (
            f"{labels[k]}: {ROW_NAME[a].lower()} sellers → {ROW_NAME[b].lower()} buyers<br>"
            f"USD {usd(after)} (baseline {usd(before)}, {pct(change)})"
            + ("" if bought[k] else f"<br>bought by other users in the {b} region")
        )
        x0, x1, y0, y1 = k, k + 1, ROW_Y[a], ROW_Y[b]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [x0, x1],
                "y": [y0, y1],
                "line": {
                    "width": round(width, 2),
                    "color": LINK_RGBA[a],
                    "dash": "solid" if bought[k] else "dot",
                },
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
        # a hover point on the line, a third of the way (crossing lines meet in the middle)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [x0 + (x1 - x0) / 3],
                "y": [y0 + (y1 - y0) / 3],
                "marker": {"size": 10, "color": "rgba(0,0,0,0)"},
                "hovertemplate": hover + "<extra></extra>",
                "showlegend": False,
            }
        )
    annotations: list[dict[str, Any]] = []
    for region in ("zone", "outside"):
        xs, ys, hovers = [], [], []
        for col in range(n + 1):
            sells = stages[col][f"{region}_producer_price_change_pct"] if col < n else None
            pays = stages[col - 1][f"{region}_price_change_pct"] if col > 0 else None
            who = "final buyers" if col == n else stage_producers(chain, col)
            link = stages[col]["link"] if col < n else "input"
            text = _node_text(region, sells, pays, col, n, link)
            xs.append(col)
            ys.append(ROW_Y[region])
            hovers.append(f"{ROW_NAME[region]} {who}<br>" + text.split("<br>", 1)[-1])
            annotations.append(
                {
                    "x": col,
                    "y": ROW_Y[region],
                    "xref": "x",
                    "yref": "y",
                    "text": text,
                    "showarrow": False,
                    "yanchor": "bottom" if region == "zone" else "top",
                    "yshift": 14 if region == "zone" else -14,
                    "font": {"size": 11},
                    "align": "center",
                }
            )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{ROW_NAME[region]} producers and buyers",
                "x": xs,
                "y": ys,
                "marker": {"symbol": "square", "size": 16, "color": ROW_COLOR[region]},
                "hovertemplate": "%{customdata}<extra></extra>",
                "customdata": hovers,
            }
        )
    return {
        "data": traces,
        "layout": layout(
            height=360,
            margin={"l": 30, "r": 30, "t": 44, "b": 60},
            xaxis={
                "tickvals": list(range(n + 1)),
                "ticktext": ticks,
                "side": "top",
                "range": [-0.45, n + 0.45],
                "showgrid": False,
                "zeroline": False,
                "fixedrange": True,
            },
            yaxis={"visible": False, "range": [-0.9, 1.9], "fixedrange": True},
            showlegend=True,
            legend=legend_below(),
            annotations=annotations,
        ),
    }


def chain_capture_figure(results: dict[str, Any], chain_id: str) -> Figure:
    """Producer surplus change (USD) by stage of ``chain_id``, zone vs outside producers: who
    captures the floor's rent, miners or refiners (the contract's ``captured_by_stage``)."""
    chain = results["chains"][chain_id]
    captured = chain["captured_by_stage"]
    names = stage_labels(chain)
    traces = []
    keys = ("zone_producers_usd", "outside_producers_usd")
    div, unit = usd_unit([c[k] for c in captured for k in keys])
    values: list[float | None] = []
    for key, label, colour in (
        ("zone_producers_usd", "Zone producers", MEMBER),
        ("outside_producers_usd", "Outside producers", OTHER),
    ):
        raw = [c[key] for c in captured]
        vals = scaled(raw, div)
        values += vals
        shares = [
            share(c["share_of_zone_producer_gain"]) if key.startswith("zone") else ""
            for c in captured
        ]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": label,
                "y": names,
                "x": vals,
                "marker": {"color": colour},
                "text": ["USD " + usd(v, signed=True) for v in raw],
                "textposition": "outside",
                "cliponaxis": True,
                "customdata": shares,
                "hovertemplate": "%{y}<br>"
                + label
                + ": %{text}"
                + (
                    "<br>share of the zone producers' gain: %{customdata}"
                    if key.startswith("zone")
                    else ""
                )
                + "<extra></extra>",
            }
        )
    return {
        "data": traces,
        "layout": layout(
            height=140 + 70 * len(names),
            barmode="group",
            margin={"l": 80, "r": 20, "t": 20, "b": 60},
            xaxis={
                "title": {"text": f"change in producer surplus ({unit})"},
                "range": padded_range(values, pad=0.45),
                **PLAIN_TICKS,
                "gridcolor": "#e5e7eb",
                "zerolinecolor": "#9ca3af",
                "automargin": True,
            },
            yaxis={"autorange": "reversed", "automargin": True},
            legend=legend_below(),
        ),
    }
