"""critmin.baseline calibrates in numpy with the arithmetic of the pandas code it replaced:
its per-country sums equal pandas' ``groupby(...).sum()`` bit for bit (both of pandas' paths:
keys in sorted runs without NaN, and any order with NaN and missing keys)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.baseline import _group_sums, _nansum


@pytest.mark.parametrize("seed", range(40))
def test_group_sums_equal_pandas_groupby_sum_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    letters = np.array(["AUS", "BRA", "CHN", "COD", None], dtype=object)
    keys = letters[rng.integers(0, 5 if seed % 2 else 4, n)]
    if seed % 4 == 0:  # grouped in sorted runs: pandas takes its reduceat path
        keys = np.array(sorted(keys.tolist(), key=lambda k: (k is not None, k)), dtype=object)
    values = rng.lognormal(10.0, 4.0, n)
    if seed % 3 == 0:
        values[rng.random(n) < 0.2] = np.nan
    ours = _group_sums(keys, values)
    frame = pd.DataFrame({"key": pd.Series(keys, dtype=object), "value": values})
    theirs = frame.groupby("key")["value"].sum()
    counts = frame.groupby("key")["value"].count()
    assert list(ours) == list(theirs.index)
    for key, (total, count) in ours.items():
        assert total == theirs[key] or (np.isnan(total) and np.isnan(theirs[key])), key
        assert count == counts[key]


def test_nansum_equals_series_sum() -> None:
    values = np.random.default_rng(3).lognormal(5.0, 3.0, 1000)
    values[::7] = np.nan
    assert _nansum(values) == pd.Series(values).sum()
