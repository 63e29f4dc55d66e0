"""Shapley values of a cooperative game, exact and by permutation sampling.

Players ``0..k-1``; a coalition is a bitmask (bit ``i`` set = player ``i`` in). ``v(S)`` may be
a vector (one entry per objective). The Shapley value (Shapley 1953) of player ``i``::

    phi_i = sum_{S not containing i} |S|! (k - |S| - 1)! / k! * (v(S + i) - v(S))

It is efficient (``sum_i phi_i = v(N) - v(empty)``), symmetric (interchangeable players get
equal values) and gives a dummy player (``v(S + i) = v(S)`` for all ``S``) zero.

Exact: all ``2^k`` coalitions (:func:`exact_shapley`). Sampled (Castro, Gomez & Tejada 2009):
draw ``N`` random orders of the players; in each order a player's marginal contribution is
``v(predecessors + i) - v(predecessors)``; ``phi_i`` is estimated by the mean over orders with
standard error ``sd / sqrt(N)`` (:func:`sampled_shapley`). Each order's contributions sum to
``v(N) - v(empty)``, so the estimate is efficient exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.random import PCG64, Generator

__all__ = [
    "exact_shapley",
    "permutation_coalitions",
    "popcount",
    "random_orders",
    "sampled_shapley",
]


def popcount(masks: np.ndarray) -> np.ndarray:
    """Number of set bits of each non-negative integer of ``masks``."""
    m = np.asarray(masks, dtype=np.int64).copy()
    count = np.zeros(m.shape, dtype=np.int64)
    while m.any():
        count += m & 1
        m >>= 1
    return count


def exact_shapley(values: np.ndarray) -> np.ndarray:
    """Exact Shapley values from ``values[S]`` for every bitmask ``S`` of ``k`` players.

    ``values`` has shape ``(2^k,)`` or ``(2^k, m)``; the result ``(k,)`` or ``(k, m)``.
    """
    v = np.asarray(values, dtype=np.float64)
    count = v.shape[0]
    k = count.bit_length() - 1
    if count != 1 << k:
        raise ValueError(f"expected 2^k coalition values, got {count}")
    flat = v.reshape(count, -1)
    masks = np.arange(count, dtype=np.int64)
    sizes = popcount(masks)
    weight = np.array(
        [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    )
    phi = np.zeros((k, flat.shape[1]))
    for i in range(k):
        without = masks[(masks >> i) & 1 == 0]
        gain = flat[without | (1 << i)] - flat[without]
        phi[i] = weight[sizes[without]] @ gain
    return phi.reshape((k, *v.shape[1:]))


def random_orders(k: int, n: int, seed: int) -> np.ndarray:
    """``n`` random orders of ``k`` players, ``(n, k)``: row ``r`` is the ``r``-th permutation
    of ``Generator(PCG64(seed))`` (the same rows whatever ``n``: runs with more orders extend
    runs with fewer)."""
    rng = Generator(PCG64(seed))
    return np.array([rng.permutation(k) for _ in range(n)], dtype=np.int64).reshape(n, k)


def permutation_coalitions(orders: np.ndarray) -> list[list[int]]:
    """For each order, the bitmasks of its ``k + 1`` prefixes (empty first, all players last)."""
    out = []
    for order in orders:
        mask = 0
        prefixes = [0]
        for player in order:
            mask |= 1 << int(player)
            prefixes.append(mask)
        out.append(prefixes)
    return out


def sampled_shapley(
    orders: np.ndarray, prefix_values: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Permutation estimate and its standard error.

    ``prefix_values[r]`` is ``(k + 1, m)``: the values of the prefixes of order ``r`` (as
    :func:`permutation_coalitions` lists them). Returns ``(phi, se)``, each ``(k, m)``; the
    standard error is ``nan`` with a single order.
    """
    n, k = orders.shape
    m = prefix_values[0].shape[1] if n else 0
    contrib = np.zeros((n, k, m))
    for r, order in enumerate(orders):
        steps = np.diff(prefix_values[r], axis=0)  # (k, m): gain of the t-th player to join
        contrib[r, order] = steps
    phi = contrib.mean(axis=0)
    se = contrib.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.full((k, m), np.nan)
    return phi, se
