"""The page of a parameter sweep: the chart of :func:`critmin.figures.sweep_figure` and a table
of the key figures per point (``critmin sweep -o sweep.html``; the dashboard shows the same).

It renders a sweep dict (``critmin.sweep.SweepResult.to_dict()``) and runs nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.figures import chart_id, sweep_figure
from critmin.numbers import pct, share, usd
from critmin.report.render import report_env

# (figure key, column header, formatter) of the sweep table
COLUMNS: list[tuple[str, str, Any]] = [
    ("self_sufficiency", "self-sufficiency (%)", share),
    ("watch_share", "watch share (%)", share),
    ("zone_consumer_price_change_pct", "zone price (% chg)", pct),
    ("outside_consumer_price_change_pct", "outside price (% chg)", pct),
    ("zone_welfare_change_usd", "zone welfare (USD)", lambda v: usd(v, signed=True)),
    ("zone_tariff_revenue_change_usd", "revenue (USD)", lambda v: usd(v, signed=True)),
    ("zone_subsidy_cost_usd", "subsidy (USD)", usd),
    ("outside_welfare_change_usd", "outside welfare (USD)", lambda v: usd(v, signed=True)),
]


def sweep_table(sweep: dict[str, Any]) -> pd.DataFrame:
    """The sweep as a table of formatted text, one row per point (% for shares and changes)."""
    rows = []
    for p in sweep["points"]:
        row: dict[str, Any] = {sweep["label"]: f"{p['value']:,.6g}"}
        for key, header, fmt in COLUMNS:
            row[header] = fmt(p["figures"].get(key))
        row["converged"] = "yes" if p["converged"] else "no"
        rows.append(row)
    return pd.DataFrame(rows)


def render_sweep_page(sweep: dict[str, Any], generated: dt.datetime | None = None) -> str:
    """One self-contained HTML page (Plotly.js inlined, nothing fetched)."""
    generated = generated or dt.datetime.now(dt.UTC)
    table = sweep_table(sweep)
    return (
        report_env()
        .get_template("sweep.html.j2")
        .render(
            sweep=sweep,
            columns=list(table.columns),
            rows=table.to_dict(orient="records"),
            figures={chart_id("sweep"): sweep_figure(sweep)},
            title=f"{sweep['scenario']}: sweep of {sweep['parameter']} — critmin",
            generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
            inline_assets=True,
            compress_data=True,
        )
    )


def write_sweep_page(sweep: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`render_sweep_page` to ``path`` atomically; returns the path."""
    from critmin.util import write_text_atomic

    target = Path(path)
    write_text_atomic(target, render_sweep_page(sweep))
    return target
