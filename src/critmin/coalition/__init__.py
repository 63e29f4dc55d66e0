"""Coalitions: which candidates add most to the zone, whom it cannot lose, who may join.

``run_coalition(scenario, candidates=[...])`` (:mod:`critmin.coalition.analysis`) returns a
:class:`CoalitionResult`; ``.to_dict()`` is the results contract of ``critmin coalition --json``.
Eligibility gates: :mod:`critmin.coalition.gates`; Shapley values: :mod:`critmin.coalition.
shapley`; batched solving and engines: :mod:`critmin.coalition.markets`; the file cache:
:mod:`critmin.coalition.cache`; Plotly figures: :mod:`critmin.coalition.figures`.
See docs/coalition.md.
"""

from __future__ import annotations

from critmin.coalition.analysis import (
    DEFAULT_PERMUTATIONS,
    EXACT_MAX_PLAYERS,
    OBJECTIVE_INFO,
    CoalitionResult,
    Player,
    objective_values,
    run_coalition,
)

__all__ = [
    "DEFAULT_PERMUTATIONS",
    "EXACT_MAX_PLAYERS",
    "OBJECTIVE_INFO",
    "CoalitionResult",
    "Player",
    "objective_values",
    "run_coalition",
]
