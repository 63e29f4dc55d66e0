"""Plotly figures (plain ``{"data": [...], "layout": {...}}`` dicts) built from results.

Every function takes the results contract (``SimulationResult.to_dict()``) or a part of it and
returns a JSON-ready figure: the report and the dashboard hand each one to ``Plotly.newPlot``,
a notebook to ``plotly.graph_objects.Figure(fig)`` (or ``SimulationResult.figure(name)``).

Figures by name (:func:`figure`, :data:`SCENARIO_FIGURES`, :data:`PRODUCT_FIGURES`):

- ``zone-shares``: zone self-sufficiency and watch share, baseline vs scenario, by product;
- ``price-summary``: consumer price change inside vs outside the zone, by product;
- per product: ``prices`` (by country), ``sankey`` (exporters -> members, baseline vs
  scenario), ``diversion`` (who loses and gains sales to the zone), ``map`` (world map of
  price and welfare changes, members and watch countries outlined), and ``routed`` (the
  routed flows of leaky export controls, origin -> via -> destination; only for products with
  ``leakage``);
- per linked chain (:data:`CHAIN_FIGURES`, ``chain=`` the chain id): ``chain-diagram`` (the
  stages left to right with zone and outside price changes and the flows between regions and
  stages) and ``chain-capture`` (producer surplus by stage: who captures the rent).
"""

from __future__ import annotations

from typing import Any

from critmin.errors import CritminError
from critmin.figures.analysis import (
    concentration_heatmap,
    fan_figure,
    sweep_figure,
    uncertainty_figures,
)
from critmin.figures.chains import CHAIN_FIGURES, chain_capture_figure, chain_diagram_figure
from critmin.figures.controls import ROUTED_FIGURE, routed_figure
from critmin.figures.maps import geojson_ids, map_figure, supply_map_figure
from critmin.figures.product import (
    country_prices_figure,
    diversion_figure,
    diversion_rows,
    sankey_figure,
)
from critmin.figures.style import Figure, chart_id
from critmin.figures.summary import price_summary_figure, zone_shares_figure

SCENARIO_FIGURES = ("zone-shares", "price-summary")
PRODUCT_FIGURES = ("prices", "sankey", "diversion", "map")

__all__ = [
    "CHAIN_FIGURES",
    "PRODUCT_FIGURES",
    "ROUTED_FIGURE",
    "SCENARIO_FIGURES",
    "Figure",
    "chain_capture_figure",
    "chain_diagram_figure",
    "chain_figure_names",
    "chart_id",
    "concentration_heatmap",
    "country_prices_figure",
    "diversion_figure",
    "diversion_rows",
    "fan_figure",
    "figure",
    "figure_names",
    "geojson_ids",
    "map_figure",
    "price_summary_figure",
    "result_figures",
    "routed_figure",
    "sankey_figure",
    "supply_map_figure",
    "sweep_figure",
    "uncertainty_figures",
    "zone_shares_figure",
]


def figure(
    results: dict[str, Any], name: str, product: str | None = None, chain: str | None = None
) -> Figure:
    """One figure of a results page by name (see the module docstring). Per-product figures
    need ``product`` (a product id of the results) unless the results hold one product; chain
    figures need ``chain`` (a chain id) unless the results hold one chain."""
    if name == "zone-shares":
        return zone_shares_figure(results)
    if name == "price-summary":
        return price_summary_figure(results)
    if name in CHAIN_FIGURES:
        return _chain_figure(results, name, chain)
    if name not in (*PRODUCT_FIGURES, ROUTED_FIGURE):
        raise CritminError(
            f"unknown figure {name!r}; expected one of "
            + ", ".join((*SCENARIO_FIGURES, *PRODUCT_FIGURES, ROUTED_FIGURE, *CHAIN_FIGURES))
        )
    products = results["products"]
    p = products[_pick(name, "product", product, products)]
    members, watch = set(results["members"]), set(results["watch"])
    if name == "prices":
        return country_prices_figure(p)
    if name == "sankey":
        return sankey_figure(p, members, watch)
    if name == "diversion":
        return diversion_figure(p, members, watch)
    if name == ROUTED_FIGURE:
        return routed_figure(p, members, watch)
    return map_figure(p, members, watch)


def _pick(name: str, kind: str, given: str | None, available: dict[str, Any]) -> str:
    """The product or chain id a figure is drawn for: ``given``, or the only one there is."""
    if given is None:
        if len(available) != 1:
            raise CritminError(
                f"figure {name!r} is drawn per {kind}: name one of {', '.join(available)}"
            )
        return next(iter(available))
    if given not in available:
        raise CritminError(f"unknown {kind} {given!r}; the results hold {', '.join(available)}")
    return given


def _chain_figure(results: dict[str, Any], name: str, chain: str | None) -> Figure:
    chains = results.get("chains") or {}
    if not chains:
        raise CritminError(f"figure {name!r} is drawn per linked chain: the results hold none")
    chain = _pick(name, "chain", chain, chains)
    if name == "chain-diagram":
        return chain_diagram_figure(results, chain)
    return chain_capture_figure(results, chain)


def figure_names(results: dict[str, Any]) -> list[tuple[str, str | None]]:
    """``(name, product id or None)`` of every scenario and product figure of a results page,
    in page order (chain figures: :func:`chain_figure_names`)."""
    names: list[tuple[str, str | None]] = [(n, None) for n in SCENARIO_FIGURES]
    for pid in results["products"]:
        names += [(n, pid) for n in PRODUCT_FIGURES]
    return names


def chain_figure_names(results: dict[str, Any]) -> list[tuple[str, str]]:
    """``(name, chain id)`` of every chain figure of a results page, in page order."""
    return [(n, cid) for cid in results.get("chains") or {} for n in CHAIN_FIGURES]


def result_figures(results: dict[str, Any]) -> dict[str, Figure]:
    """Every chart of a results page, keyed by the id of its ``<div>`` (chain figures:
    ``chart-chain-<id>-<name>``; ``routed`` only for products with routed flows)."""
    figures = {
        chart_id(name) if pid is None else chart_id(pid, name): figure(results, name, pid)
        for name, pid in figure_names(results)
    }
    for pid, p in results["products"].items():
        if p.get("leakage"):
            figures[chart_id(pid, ROUTED_FIGURE)] = figure(results, ROUTED_FIGURE, pid)
    for name, cid in chain_figure_names(results):
        figures[chart_id("chain", cid, name)] = figure(results, name, chain=cid)
    return figures
