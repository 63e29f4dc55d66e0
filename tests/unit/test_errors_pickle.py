"""Errors raised in worker processes (the coalition's markets, Dask workers) reach the
command as themselves: pickled with their arguments. Unpickled from their message alone they
failed (``__init__`` takes two arguments), and a process pool broke into an internal error."""

from __future__ import annotations

import pickle

import pytest

from critmin.errors import ScenarioError, SourceFormatError


@pytest.mark.parametrize(
    "error",
    [ScenarioError("policy[0].leak_via", "THA is a restricted destination"),
     SourceFormatError("/data/x.csv", "no header")],
)  # fmt: skip
def test_errors_with_two_arguments_survive_pickling(error: Exception) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error)
    assert vars(again) == vars(error)
