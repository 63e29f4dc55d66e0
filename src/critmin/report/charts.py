"""The report's figures: built by :mod:`critmin.figures` (below the simulation layer, so that
``SimulationResult.figure`` can offer them too). This module keeps the old import path
(``from critmin.report.charts import map_figure``) working: every name is looked up there."""

from __future__ import annotations

from typing import Any

import critmin.figures as _figures


def __getattr__(name: str) -> Any:
    """``critmin.report.charts.X`` is ``critmin.figures.X``."""
    return getattr(_figures, name)


def __dir__() -> list[str]:
    return sorted(_figures.__all__)
