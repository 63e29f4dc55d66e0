"""Helpers shared by the unit tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from critmin.model import Market, Policy


def one(frame: pd.DataFrame, **where: object) -> pd.Series:
    """The single row of ``frame`` whose columns equal ``where``; fails unless exactly one."""
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        mask &= (frame[key] == value).to_numpy()
    rows = frame.loc[mask]
    assert len(rows) == 1, f"{len(rows)} rows for {where}"
    return rows.iloc[0]


def no_equilibrium_market() -> tuple[Market, Policy]:
    """Fixed demand with producer-subsidy floors above the baseline price: no equilibrium, so
    the Newton iteration fails and every retry of ``critmin.model.solver._retry`` runs. Found by Hypothesis."""
    V = np.array(
        [
            [0.97309675, 1.2403008, 0.51328437, 0.31190997],
            [2.01939733, 0.67036292, 1.23363961, 0.0],
            [1.65067068, 0.18568038, 0.0, 0.56320852],
            [0.13392007, 0.61607432, 4.35487421, 1.54244102],
        ]
    )
    t0 = np.array(
        [
            [0.0, 0.37910542, 0.0, 0.0],
            [0.0, 0.17083487, 0.0, 0.0],
            [0.0, 0.0, 0.28707795, 0.40519546],
            [0.44145976, 0.49645818, 0.04490768, 0.0],
        ]
    )
    m = Market(
        V=V, t0=t0, sigma=7.0, eta=0.0, eps=np.array([2.71302015, 2.39749347, 1.19467976, 0.2])
    )
    return m, Policy(subsidy_floor=np.array([0.0, 1.27929688, 1.27929688, 1.27929688]))
