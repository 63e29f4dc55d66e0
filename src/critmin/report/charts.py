"""The report's figures: built by :mod:`critmin.figures` (below the simulation layer, so that
``SimulationResult.figure`` can offer them too); re-exported here under their old names."""

from __future__ import annotations

from critmin.figures import (
    Figure,
    chart_id,
    concentration_heatmap,
    country_prices_figure,
    diversion_figure,
    diversion_rows,
    fan_figure,
    figure,
    map_figure,
    price_summary_figure,
    result_figures,
    sankey_figure,
    supply_map_figure,
    sweep_figure,
    uncertainty_figures,
    zone_shares_figure,
)

__all__ = [
    "Figure",
    "chart_id",
    "concentration_heatmap",
    "country_prices_figure",
    "diversion_figure",
    "diversion_rows",
    "fan_figure",
    "figure",
    "map_figure",
    "price_summary_figure",
    "result_figures",
    "sankey_figure",
    "supply_map_figure",
    "sweep_figure",
    "uncertainty_figures",
    "zone_shares_figure",
]
