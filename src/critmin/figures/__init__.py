"""Plotly figures (plain ``{"data": [...], "layout": {...}}`` dicts) built from results.

Every function takes the results contract (``SimulationResult.to_dict()``) or a part of it and
returns a JSON-ready figure: the report and the dashboard hand each one to ``Plotly.newPlot``,
a notebook to ``plotly.graph_objects.Figure(fig)`` (or ``SimulationResult.figure(name)``).

Figures by name (:func:`figure`, :data:`SCENARIO_FIGURES`, :data:`PRODUCT_FIGURES`):

- ``zone-shares``: zone self-sufficiency and watch share, baseline vs scenario, by product;
- ``price-summary``: consumer price change inside vs outside the zone, by product;
- per product: ``prices`` (by country), ``sankey`` (exporters -> members, baseline vs
  scenario), ``diversion`` (who loses and gains sales to the zone), ``map`` (world map of
  price and welfare changes, members and watch countries outlined).
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
    "PRODUCT_FIGURES",
    "SCENARIO_FIGURES",
    "Figure",
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
    "sankey_figure",
    "supply_map_figure",
    "sweep_figure",
    "uncertainty_figures",
    "zone_shares_figure",
]


def figure(results: dict[str, Any], name: str, product: str | None = None) -> Figure:
    """One figure of a results page by name (see the module docstring). Per-product figures
    need ``product`` (a product id of the results) unless the results hold one product."""
    if name == "zone-shares":
        return zone_shares_figure(results)
    if name == "price-summary":
        return price_summary_figure(results)
    if name not in PRODUCT_FIGURES:
        raise CritminError(
            f"unknown figure {name!r}; expected one of "
            + ", ".join((*SCENARIO_FIGURES, *PRODUCT_FIGURES))
        )
    products = results["products"]
    if product is None:
        if len(products) != 1:
            raise CritminError(
                f"figure {name!r} is drawn per product: name one of {', '.join(products)}"
            )
        product = next(iter(products))
    if product not in products:
        raise CritminError(f"unknown product {product!r}; the results hold {', '.join(products)}")
    p = products[product]
    members, watch = set(results["members"]), set(results["watch"])
    if name == "prices":
        return country_prices_figure(p)
    if name == "sankey":
        return sankey_figure(p, members, watch)
    if name == "diversion":
        return diversion_figure(p, members, watch)
    return map_figure(p, members, watch)


def figure_names(results: dict[str, Any]) -> list[tuple[str, str | None]]:
    """``(name, product id or None)`` of every figure of a results page, in page order."""
    names: list[tuple[str, str | None]] = [(n, None) for n in SCENARIO_FIGURES]
    for pid in results["products"]:
        names += [(n, pid) for n in PRODUCT_FIGURES]
    return names


def result_figures(results: dict[str, Any]) -> dict[str, Figure]:
    """Every chart of a results page, keyed by the id of its ``<div>``."""
    return {
        chart_id(name) if pid is None else chart_id(pid, name): figure(results, name, pid)
        for name, pid in figure_names(results)
    }
