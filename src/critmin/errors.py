"""Errors a user can cause, each with one sentence naming what is wrong.

The CLI prints ``str(error)`` and exits with status 2; the web API answers 4xx. Anything that
is not a :class:`CritminError` is a bug in critmin.
"""

from __future__ import annotations

from pathlib import Path


class CritminError(Exception):
    """Base class: a problem the user can fix (bad input, missing data, bad file)."""


class SourceFormatError(CritminError):
    """A source data file that a reader cannot understand."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"cannot read {self.path}: {problem}")


class DataIntegrityError(CritminError):
    """The bundled reference dataset fails a check (hash, row count, totals)."""


class UnknownCountryError(CritminError):
    """A country code or group name critmin does not know."""


class UnknownProductError(CritminError):
    """A product id that is neither bundled nor defined by the user."""


class UnknownMineralError(CritminError):
    """A mineral id critmin does not know."""


class UnknownYearError(CritminError):
    """A year the bundled dataset does not cover."""


class ScenarioError(CritminError):
    """A scenario file or dict that fails validation; names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"scenario field '{field}': {problem}")


class SolverError(CritminError):
    """The model could not be solved (reported, not raised, unless the caller asks)."""
