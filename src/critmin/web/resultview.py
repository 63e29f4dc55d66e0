"""What the dashboard adds above a result's detail: the warnings that say an instrument does
(or may do) nothing.

The detail itself, linked chains stage by stage included, is the report's
(:func:`critmin.report.render.results_view`); this module only reads the results contract
(``products.<id>.notes``, ``chains.<id>.notes``), so a page and its JSON twin show the same
notes.
"""

from __future__ import annotations

from typing import Any

from critmin.control_tables import results_controls
from critmin.frames import table_names
from critmin.report import render as report_render
from critmin.scenario.no_effect import WARNING_PREFIXES, shared_warnings


def result_warnings(result: dict[str, Any]) -> list[dict[str, str]]:
    """The notes of every product and chain that start with one of :data:`WARNING_PREFIXES`,
    each as ``{"where": products (:func:`critmin.scenario.no_effect.shared_warnings`: one
    entry for a warning several products give) or chain id, "kind": the prefix without the
    colon, "text"}``, once each, in the order of the results."""
    found: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(where: str, notes: list[Any]) -> None:
        for note in notes:
            text = str(note)
            if text.startswith(WARNING_PREFIXES) and (where, text) not in seen:
                seen.add((where, text))
                kind = next(p for p in WARNING_PREFIXES if text.startswith(p))
                found.append({"where": where, "kind": kind.rstrip(":"), "text": text})

    for text, where in shared_warnings(result.get("products") or {}).items():
        add(where, [text])
    for cid, chain in (result.get("chains") or {}).items():
        add(f"chain {cid}", chain.get("notes") or [])
        for stage in chain.get("stages") or []:
            add(f"chain {cid}", stage.get("notes") or [])
    return found


def results_context(scenario: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The template context of a results page: the report's view (with its chain sections:
    the chain diagram, the stages with prices, shares, producer surplus and the rent captured,
    the flows by stage) plus ``result_warnings`` (rendered by ``_run_extras.html.j2`` above
    the detail)."""
    view = report_render.results_view(report_render.scenario_dict(scenario), result)
    view["result_warnings"] = result_warnings(result)
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
