"""HTML reports of simulation results: one self-contained, offline file per scenario.

``critmin report SCENARIO.toml -o report.html`` simulates a scenario and hands the results to
:func:`write_report`, which writes a single HTML file with Plotly.js, the world map geometry,
every chart and the full results contract inlined. The report renders the results it is given;
it never runs the model (an import-linter contract says so). See ``docs/report.md``.
"""

from __future__ import annotations

from critmin.report.render import render_report, results_view, write_report

__all__ = ["render_report", "results_view", "write_report"]
