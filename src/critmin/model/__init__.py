"""The critmin trade model: a multi-region Armington partial equilibrium per product.

Array level (this package): :class:`Market` (baseline flows, tariffs, elasticities),
:class:`Policy` (scenario instruments), :func:`solve` / :func:`solve_batch` (batched
semismooth Newton) returning :class:`Solution` (prices, quantities, welfare). The equations
are those of ``DESIGN.md`` ("The trade model"); see :mod:`critmin.model.core`.
"""

from __future__ import annotations

# first: scipy's BLAS/LAPACK for the compiled kernels, without the scipy.linalg package
import critmin.model.lapack_loader  # noqa: F401
from critmin.model.core import Market, ModelInputError, Policy, ResolvedPolicy
from critmin.model.heap import keep_freed_memory
from critmin.model.solver import Solution, solve, solve_batch, warm_up
from critmin.model.welfare import Welfare, compute_welfare

keep_freed_memory()  # glibc: freed arrays stay in the heap, solves do not fault them in again

__all__ = [
    "Market",
    "ModelInputError",
    "Policy",
    "ResolvedPolicy",
    "Solution",
    "Welfare",
    "compute_welfare",
    "solve",
    "solve_batch",
    "warm_up",
]
