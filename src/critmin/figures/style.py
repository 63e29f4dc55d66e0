"""Colours, fonts and layout helpers shared by every critmin figure (colour-blind safe
ColorBrewer scales; members blue, watch countries orange, others grey)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

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


def layout(**extra: Any) -> dict[str, Any]:
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


def pct_values(values: list[float | None]) -> list[float | None]:
    return [None if v is None else round(100 * v, 6) for v in values]


def category(code: str, members: set[str], watch: set[str]) -> str:
    if code in members:
        return "member"
    if code in watch:
        return "watch"
    return "other"


def color(category: str) -> str:
    return {"member": MEMBER, "watch": WATCH}.get(category, OTHER)


def legend_below() -> dict[str, Any]:
    """A horizontal legend at the bottom of the figure's container."""
    return {"orientation": "h", "yref": "container", "y": 0.02, "x": 0, "yanchor": "bottom"}


def hbar(
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
        "hovertemplate": ("%{customdata}" if "customdata" in extra else "%{y}")
        + "<br>"
        + label
        + ": %{x:"
        + fmt
        + "}%<extra></extra>",
        "text": [None if v is None else f"{v:{fmt}}%" for v in vals],
        "textposition": "outside",
        # the value axis is padded (padded_range) so the text fits inside the plot area and
        # never runs over the product names; anything longer is clipped, not overlapped
        "cliponaxis": True,
    }


def padded_range(values: Sequence[float | None], pad: float = 0.28) -> list[float]:
    """An axis range holding 0 and every value, with ``pad`` x the span added on each side
    that has bars, so that a bar's printed value (``textposition="outside"``) fits."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    span = (hi - lo) or 1.0
    return [lo - pad * span if lo < 0 else lo, hi + pad * span if hi > 0 else hi + 0.05 * span]


def top_axis(base: str, count: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """For a tall chart (more than 8 rows): an x axis on top matching ``base`` ("x" or "x2")
    and the invisible trace that makes Plotly draw it, so the scale is readable at both ends."""
    if count <= 8:
        return None
    top = "x3" if base == "x" else "x4"
    axis = {
        "matches": base,
        "overlaying": base,
        "side": "top",
        "ticksuffix": "%",
        "exponentformat": "none",
        "separatethousands": True,
        "showgrid": False,
    }
    trace = {
        "type": "scatter",
        "mode": "markers",
        "x": [],
        "y": [],
        "xaxis": top,
        "yaxis": "y",
        "showlegend": False,
        "hoverinfo": "skip",
    }
    return axis, trace


def wrap_label(text: str, width: int = 24, max_lines: int = 2) -> str:
    """A long axis label broken into at most ``max_lines`` lines of about ``width`` characters
    (``<br>``; cut with an ellipsis beyond), so product names leave room for the bars on a
    narrow screen and neighbouring names do not run into each other."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        lines = [
            *lines[: max_lines - 1],
            (last[: width - 1] + "…") if len(last) >= width else last + " …",
        ]
    return "<br>".join(lines)


PLAIN_TICKS: dict[str, Any] = {"exponentformat": "none", "separatethousands": True}
"""Axis tick labels as the page's text writes numbers: ``15,000`` (Plotly's default SI
suffixes gave ``15k``, and ``-60M`` for USD 60 million where the text says ``USD -60.0 m``)."""


def usd_unit(values: Sequence[float | None]) -> tuple[float, str]:
    """The divisor and unit for USD amounts plotted on one axis, the largest one's as the
    text writes it (:func:`critmin.numbers.usd`): ``(1e6, "USD m")``, ``(1e9, "USD bn")``,
    ``(1e3, "USD k")`` or ``(1.0, "USD")``. An axis in this unit, with :data:`PLAIN_TICKS`,
    reads ``-60`` under the title ``... (USD m)``, not ``-60M``."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    top = max(finite, default=0.0)
    for div, unit in ((1e9, "USD bn"), (1e6, "USD m"), (1e3, "USD k")):
        if top >= div:
            return div, unit
    return 1.0, "USD"


def scaled(values: Sequence[float | None], div: float) -> list[float | None]:
    """``values`` divided by ``div`` (None and non-finite values stay None)."""
    return [None if v is None or not math.isfinite(v) else v / div for v in values]
