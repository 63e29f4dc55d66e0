"""What the dashboard adds to a result's view: the download links of its tables and the
export controls of its JSON twin.

The view itself, the warnings above the detail (:func:`critmin.note_kinds.result_warnings`)
and linked chains stage by stage included, is the report's
(:func:`critmin.report.render.results_view`); this module only reads the results contract, so
a page and its JSON twin show the same notes.
"""

from __future__ import annotations

from typing import Any

from critmin.control_tables import results_controls
from critmin.frames import table_names
from critmin.report import render as report_render


def results_context(scenario: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The template context of a results page: the report's view (with its chain sections:
    the chain diagram, the stages with prices, shares, producer surplus and the rent captured,
    the flows by stage; ``result_warnings``, shown above the detail) plus the names of the
    tables it can download."""
    view = report_render.results_view(report_render.scenario_dict(scenario), result)
    view["export_tables"] = table_names(result)  # the download links: chain, control tables
    return view


def controls_twin(result: dict[str, Any] | None) -> dict[str, Any]:
    """What a result page's JSON twin adds for export controls: ``{"export_controls": {product
    id: controls_view}}`` (the rows the page's "Export controls" and "Routed flows" tables show,
    :func:`critmin.control_tables.controls_view`), or nothing when the result has none."""
    if not result:
        return {}
    found = results_controls(result)
    return {"export_controls": found} if found else {}
