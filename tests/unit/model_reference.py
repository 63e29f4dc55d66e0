"""An independent, deliberately plain implementation of the DESIGN.md trade model.

Written from DESIGN.md without reusing critmin.model: level equations, scipy.optimize.root
('hybr', finite-difference Jacobian), Fischer-Burmeister complementarity for quotas.
Unknowns are log producer prices (so prices stay positive) and quota export-tax
equivalents in levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import root


@dataclass
class RefResult:
    pi: np.ndarray
    e: np.ndarray
    x: np.ndarray
    P: np.ndarray
    success: bool
    residual: float


def ref_solve(
    V: np.ndarray,
    t0: np.ndarray,
    sigma: float,
    eta: float,
    eps: np.ndarray,
    t1: np.ndarray | None = None,
    banned: np.ndarray | None = None,
    floor: np.ndarray | None = None,
    subsidy: np.ndarray | None = None,
    cap: np.ndarray | None = None,
    x0: np.ndarray | None = None,
) -> RefResult:
    n = V.shape[0]
    t1 = t0 if t1 is None else t1
    banned = np.zeros((n, n), bool) if banned is None else banned
    floor = np.zeros((n, n)) if floor is None else floor
    subsidy = np.zeros(n) if subsidy is None else subsidy
    cap = np.full(n, np.inf) if cap is None else cap
    E = (V * (1 + t0)).sum(axis=0)
    s = np.zeros((n, n))
    for j in range(n):
        if E[j] > 0:
            s[:, j] = V[:, j] * (1 + t0[:, j]) / E[j]
    R = V.sum(axis=1)
    exports0 = np.array([sum(V[i, j] for j in range(n) if j != i) for i in range(n)])
    open_ = (V > 0) & ~banned
    producers = [i for i in range(n) if R[i] > 0]
    quotas = [i for i in range(n) if np.isfinite(cap[i]) and exports0[i] > 0]
    npr = len(producers)

    def levels(y: np.ndarray) -> tuple[np.ndarray, ...]:
        pi = np.ones(n)
        pi[producers] = np.exp(np.clip(y[:npr], -700, 700))
        e = np.zeros(n)
        e[quotas] = y[npr:]
        b = np.empty((n, n))
        for i in range(n):
            for j in range(n):
                wedge = (1 + e[i]) if i != j else 1.0
                b[i, j] = max(pi[i] * wedge * (1 + t1[i, j]), floor[i, j])
        c = b / (1 + t0)
        P = np.ones(n)
        x = np.zeros((n, n))
        for j in range(n):
            if E[j] <= 0:
                continue
            tot = sum(s[i, j] * c[i, j] ** (1 - sigma) for i in range(n) if open_[i, j])
            P[j] = tot ** (1 / (1 - sigma))
            D = P[j] ** (-eta)
            for i in range(n):
                if open_[i, j]:
                    x[i, j] = D * (c[i, j] / P[j]) ** (-sigma)
        return pi, e, x, P

    def resid(y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            pi, e, x, _ = levels(y)
            out = []
            for i in producers:
                S = max(pi[i], subsidy[i]) ** eps[i]
                out.append(((V[i] * x[i]).sum() - R[i] * S) / R[i])
            for i in quotas:
                X = sum(V[i, j] * x[i, j] for j in range(n) if j != i)
                a_, b_ = e[i], cap[i] - X / exports0[i]
                out.append(a_ + b_ - np.sqrt(a_ * a_ + b_ * b_))
            r = np.array(out)
            return np.where(np.isfinite(r), r, 1e6)

    y0 = np.zeros(npr + len(quotas)) if x0 is None else x0
    sol = root(resid, y0, method="hybr", options={"xtol": 1e-14, "maxfev": 20000})
    pi, e, x, P = levels(sol.x)
    r = float(np.abs(resid(sol.x)).max(initial=0.0))
    return RefResult(pi=pi, e=e, x=x, P=P, success=bool(sol.success), residual=r)
