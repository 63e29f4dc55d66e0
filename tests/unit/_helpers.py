"""Helpers shared by the unit tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def one(frame: pd.DataFrame, **where: object) -> pd.Series:
    """The single row of ``frame`` whose columns equal ``where``; fails unless exactly one."""
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        mask &= (frame[key] == value).to_numpy()
    rows = frame.loc[mask]
    assert len(rows) == 1, f"{len(rows)} rows for {where}"
    return rows.iloc[0]
