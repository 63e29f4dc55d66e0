"""The page of ``critmin paths --html``: who pays (table and stacked bar) and the fan charts of
price and fiscal cost by year per mechanism (:mod:`critmin.figures.paths`). It renders a paths
dict (``critmin.paths.PathsResult.to_dict()``) and runs nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from critmin.figures import chart_id
from critmin.figures.paths import paths_figures
from critmin.numbers import usd
from critmin.report.render import report_env

__all__ = ["render_paths_page", "write_paths_page"]


def _rows(paths: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for mech, e in paths["mechanisms"].items():
        w = e["who_pays"]
        rows.append(
            {
                "mechanism": mech,
                "fiscal cost NPV": usd(e["npv"]["fiscal_cost_usd"]["expected"]),
                "bad decade (P95)": usd(e["npv"]["fiscal_cost_usd"]["p95"]),
                "taxpayers (net of levy)": usd(w["taxpayers_usd"]),
                "zone buyers": usd(w["zone_buyers_usd"]),
                "outside producers": usd(w["outside_producers_usd"]),
                "zone producers gain": usd(w["zone_producers_gain_usd"]),
            }
        )
    return rows


def render_paths_page(paths: dict[str, Any], generated: dt.datetime | None = None) -> str:
    """One self-contained HTML page (Plotly.js inlined, nothing fetched)."""
    generated = generated or dt.datetime.now(dt.UTC)
    rows = _rows(paths)
    figs = {chart_id(k): v for k, v in paths_figures(paths).items()}
    return (
        report_env()
        .get_template("paths.html.j2")
        .render(
            paths=paths,
            columns=list(rows[0]) if rows else [],
            rows=rows,
            figures=figs,
            title=f"{paths['scenario']}: paths — critmin",
            generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
            inline_assets=True,
            compress_data=True,
        )
    )


def write_paths_page(paths: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`render_paths_page` to ``path`` atomically; returns the path."""
    from critmin.util import write_text_atomic

    target = Path(path)
    write_text_atomic(target, render_paths_page(paths))
    return target
