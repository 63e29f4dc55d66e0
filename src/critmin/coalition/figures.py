"""Plotly figures of a coalition analysis (plain ``{"data": [...], "layout": {...}}`` dicts).

Every function takes the results contract (``CoalitionResult.to_dict()``), so the offline HTML
(``critmin coalition --html``) and a later dashboard page draw the same figures from the same
JSON:

* :func:`shapley_figure`: each player's Shapley value for one objective (horizontal bars,
  sorted; error bars = one standard error for the sampled estimate);
* :func:`marginal_figure`: the value each candidate adds by joining the zone and each member
  takes with it by leaving;
* :func:`heatmap_figure`: how many coalitions of each size reach each value (size x value);
* :func:`coalition_figures`: all three for the chosen objectives, keyed ``"<kind>:<objective>"``.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from critmin.figures.style import PLAIN_TICKS, scaled, usd_unit

__all__ = [
    "coalition_figures",
    "heatmap_figure",
    "marginal_figure",
    "ranked_candidates",
    "shapley_figure",
]

Figure = dict[str, Any]

MEMBER = "#1d4ed8"
CANDIDATE = "#16a34a"
FLAGGED = "#c2410c"
FONT = {"family": "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif", "size": 12}


def _axis_title(results: dict[str, Any], objective: str, usd: str = "USD") -> str:
    info = results["objectives"][objective]
    unit = {"share": "share of zone demand", "USD": usd}.get(info["unit"], info["unit"])
    scope = "all products" if info["scope"] == "total" else info["scope"]
    return f"{info['label']} ({scope}), {unit}"


def _value_axis(
    results: dict[str, Any], objective: str, values: list[float | None]
) -> tuple[float, dict[str, Any], str]:
    """The divisor of ``values``, their axis (title, plain ticks) and the hover's format: an
    objective in USD is plotted in the text's unit (``USD m``: ticks ``-60``, not ``-60M``)."""
    div, unit = 1.0, "USD"
    if results["objectives"][objective]["unit"] == "USD":
        div, unit = usd_unit(values)
    suffix = f" {unit.split()[1]}" if div != 1 else ""
    axis = {"title": {"text": _axis_title(results, objective, unit)}, **PLAIN_TICKS}
    return div, axis, ":,.4g}" + suffix if div != 1 else ":.4g}"


def _layout(title: str, height: int, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "font": {"size": 14}},
        "font": FONT,
        "height": height,
        "margin": {"l": 80, "r": 20, "t": 48, "b": 48},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
    }
    layout.update(extra)
    return layout


def _color(player: dict[str, Any]) -> str:
    if player["role"] == "member":
        return MEMBER
    return CANDIDATE if player["eligible"] else FLAGGED


def shapley_figure(results: dict[str, Any], objective: str) -> Figure:
    """Shapley value of every player of the game for ``objective``, largest at the top."""
    rows = [p for p in results["players"] if p["in_game"] and p["shapley"][objective] is not None]
    rows.sort(key=lambda p: p["shapley"][objective])
    values = [p["shapley"][objective] for p in rows]
    div, axis, fmt = _value_axis(results, objective, values)
    trace: dict[str, Any] = {
        "type": "bar",
        "orientation": "h",
        "y": [p["iso3"] for p in rows],
        "x": scaled(values, div),
        "marker": {"color": [_color(p) for p in rows]},
        "hovertemplate": "%{y}: %{x" + fmt + "<extra></extra>",
    }
    if results["method"] == "sampled":
        trace["error_x"] = {
            "type": "data",
            "array": [
                (p.get("shapley_standard_error", {}).get(objective) or 0) / div for p in rows
            ],
            "visible": True,
        }
    how = (
        "exact over all coalitions"
        if results["method"] == "exact"
        else f"sampled over {results['permutations']} orders, bars = 1 s.e."
    )
    return {
        "data": [trace],
        "layout": _layout(
            f"Shapley values ({how})",
            max(240, 28 * len(rows) + 90),
            xaxis={**axis, "zeroline": True},
            yaxis={"automargin": True},
        ),
    }


def marginal_figure(results: dict[str, Any], objective: str) -> Figure:
    """What each candidate adds by joining the zone, and each member takes by leaving it."""
    rows = [p for p in results["players"] if p["marginal"][objective] is not None]
    rows.sort(key=lambda p: p["marginal"][objective])
    values = [p["marginal"][objective] for p in rows]
    div, axis, fmt = _value_axis(results, objective, values)
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [
                    f"{p['iso3']} ({'joins' if p['role'] == 'candidate' else 'leaves'})"
                    for p in rows
                ],
                "x": scaled(values, div),
                "marker": {"color": [_color(p) for p in rows]},
                "hovertemplate": "%{y}: %{x" + fmt + "<extra></extra>",
            }
        ],
        "layout": _layout(
            "Marginal value: candidate joins the zone / member leaves it (value lost)",
            max(240, 28 * len(rows) + 90),
            xaxis={**axis, "zeroline": True},
            yaxis={"automargin": True},
        ),
    }


def heatmap_figure(results: dict[str, Any], objective: str) -> Figure:
    """Coalitions by size (x) and value (y): the colour counts the coalitions in each cell."""
    heat = results["heatmap"][objective]
    edges = heat["edges"]
    div, axis, fmt = _value_axis(results, objective, edges)
    centres = [(a + b) / 2 / div for a, b in pairwise(edges)]
    counts = heat["counts"]  # sizes x bins
    z = [[counts[s][b] or None for s in range(len(heat["sizes"]))] for b in range(len(centres))]
    top = max((c for row in counts for c in row), default=0)
    return {
        "data": [
            {
                "type": "heatmap",
                "x": heat["sizes"],
                "y": centres,
                "z": z,
                "colorscale": [[0, "#dbeafe"], [0.5, "#60a5fa"], [1, "#1e3a8a"]],
                # whole coalitions: ticks at integers (1.2 coalitions read as nonsense)
                "colorbar": {
                    "title": {"text": "coalitions"},
                    "tick0": 0,
                    "dtick": max(1, math.ceil(top / 5)),
                    "tickformat": "d",
                },
                "hovertemplate": "size %{x}, value %{y"
                + fmt
                + ": %{z} coalition(s)<extra></extra>",
            }
        ],
        "layout": _layout(
            "Coalition values by size",
            400,
            margin={"l": 80, "r": 20, "t": 70, "b": 48},
            xaxis={"title": {"text": "players in the coalition"}, "dtick": 1, "zeroline": False},
            yaxis={**axis, "automargin": True},
        ),
    }


def ranked_candidates(results: dict[str, Any], objective: str) -> list[dict[str, Any]]:
    """Candidates best first for ``objective`` (by Shapley value, else marginal value; the
    objective's better direction decides the order); ineligible candidates that were left out
    come last."""
    better = results["objectives"][objective]["better"]
    sign = -1.0 if better == "higher" else 1.0

    def score(p: dict[str, Any]) -> tuple[int, float]:
        value = p["shapley"][objective]
        if value is None:
            value = p["marginal"][objective]
        return (0, sign * value) if value is not None else (1, 0.0)

    return sorted((p for p in results["players"] if p["role"] == "candidate"), key=score)


def coalition_figures(
    results: dict[str, Any], objectives: list[str] | None = None
) -> dict[str, Figure]:
    """Shapley bars, marginal bars and the heat map for each objective (default: the totals)."""
    keys = objectives or [k for k, v in results["objectives"].items() if v["scope"] == "total"]
    out: dict[str, Figure] = {}
    for key in keys:
        if results["shapley_players"]:
            out[f"shapley:{key}"] = shapley_figure(results, key)
        out[f"marginal:{key}"] = marginal_figure(results, key)
        if results["heatmap"].get(key):
            out[f"heatmap:{key}"] = heatmap_figure(results, key)
    return out
