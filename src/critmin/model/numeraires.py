"""Numeraires of markets with fixed demand: connected groups of the trade graph.

With ``eta = 0`` (fixed demand) and supply elasticities 0 for every producer of a connected
group of producers and buyers, prices there are determined only up to a common factor
(DESIGN.md, "The trade model"): the solver holds the price of one producer of each such
group at 1, its numeraire, and checks its clearing equation after the solve
(:class:`critmin.model.core.Stack`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

__all__ = ["components", "numeraires"]


def components(sellers: IntArray, buyers: IntArray, n: int) -> tuple[int, IntArray]:
    """Connected components of the bipartite seller/buyer graph whose edges are the active
    pairs ``(sellers[k], buyers[k])``: labels ``0..ncomp-1`` for the ``2n`` nodes (sellers
    ``0..n-1``, then buyers ``n..2n-1``).

    Min-label propagation with pointer jumping: every edge pulls both ends to the smaller of
    their labels, then each label is replaced by its own label; it stops when nothing moves
    (at most a few passes over the edges for trade graphs). An isolated node is a component
    of its own, as in ``scipy.sparse.csgraph.connected_components``.
    """
    label = np.arange(2 * n, dtype=np.intp)
    u = np.asarray(sellers, dtype=np.intp)
    v = np.asarray(buyers, dtype=np.intp) + n
    while True:
        low = np.minimum(label[u], label[v])
        new = label.copy()
        np.minimum.at(new, u, low)
        np.minimum.at(new, v, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    roots, labels = np.unique(label, return_inverse=True)
    return len(roots), np.asarray(labels, dtype=np.intp)


def numeraires(
    pair_index: IntArray,
    slots: FloatArray,
    slot_country: IntArray,
    producer: BoolArray,
    n: int,
    out: BoolArray,
) -> None:
    """With ``eta = 0``: in each connected group of producers and buyers (over the open
    pairs) whose every ``producer`` (per slot) has ``eps = 0``, the largest producer (by
    baseline sales) is the numeraire (``out``, per slot)."""
    sellers = slot_country[pair_index[0]]
    ncomp, labels = components(sellers, pair_index[1], n)
    seller_lab = labels[:n][np.minimum(slot_country, n - 1)]
    R, eps = slots[0], slots[2]
    for comp in range(ncomp):
        members = producer & (seller_lab == comp)
        if members.any() and (eps[members] == 0.0).all():
            idx = np.flatnonzero(members)
            out[idx[np.argmax(R[idx])]] = True
