"""HTML reports of simulation results: one self-contained, offline file per scenario.

``critmin report SCENARIO.toml -o report.html`` (or :func:`write_report`) simulates the
scenario and writes a single HTML file with Plotly.js, the world map geometry, every chart and
the full results contract inlined. See ``docs/report.md`` for what each chart shows.
"""

from __future__ import annotations

from critmin.report.render import render_report, results_view, write_report

__all__ = ["render_report", "results_view", "write_report"]
