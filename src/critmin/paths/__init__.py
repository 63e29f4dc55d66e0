"""Yearly paths of a price floor under four mechanisms: time and who pays (docs/paths.md).

:func:`run_paths` (``critmin paths``) solves one equilibrium per year of the floored market or
chain (:mod:`critmin.paths.engine`), with demand growth and capacity that follows prices with
lead times (:mod:`critmin.paths.inputs`), over draws of demand and output shocks fitted to
price history and the scenario's disruptions, and compares ``variable_levy``,
``producer_subsidy``, ``price_gap`` and ``offtake`` on the same paths
(:mod:`critmin.paths.results`).
"""

from critmin.paths.results import PathsResult
from critmin.paths.run import run_paths

__all__ = ["PathsResult", "run_paths"]
