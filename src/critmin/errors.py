"""Errors a user can cause, each with one sentence naming what is wrong.

The CLI prints ``str(error)`` and exits with the error's :attr:`CritminError.exit_code`: 2 for
bad input (a usage error: the user can fix the command or the file), 1 for a failure the input
did not cause (the bundled data fails its checks, a file cannot be written, the model cannot be
solved). The web API answers 4xx. Anything that is not a :class:`CritminError` is a bug in
critmin.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path


def did_you_mean(word: str, options: Iterable[str], n: int = 3) -> str:
    """`` (did you mean 'name'?)`` when ``word`` is close to one of ``options``, else ``""``.

    Closeness is difflib's ratio (>= 0.6), compared case-insensitively, so that a typo such as
    ``nmae`` or ``tarif`` names the field or value the user meant.
    """
    choices = sorted({str(o) for o in options})
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(lowered), n=n, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(lowered[c]) for c in close) + "?)"


class CritminError(Exception):
    """Base class: a problem the user can fix (bad input, missing data, bad file)."""

    exit_code: int = 2
    """Exit status of the CLI: 2 = usage error (bad input), 1 = failure."""


class SourceFormatError(CritminError):
    """A source data file that a reader cannot understand."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"cannot read {self.path}: {problem}")

    def __reduce__(self) -> tuple[type[SourceFormatError], tuple[str, str]]:
        """Pickled with its two arguments (see :meth:`ScenarioError.__reduce__`)."""
        return (type(self), (self.path, self.problem))


class DataIntegrityError(CritminError):
    """The bundled reference dataset fails a check (hash, row count, totals)."""

    exit_code = 1


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

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[str, str]]:
        """Pickled with its two arguments, so that one raised in a worker process (the
        coalition's markets) reaches the command as itself: unpickled from its message alone
        it failed, and the process pool broke into an internal error."""
        return (type(self), (self.field, self.problem))


class ScenarioErrors(ScenarioError):
    """Several fields refused at once (a form read to its end, every field the scenario model
    refuses): :attr:`errors` holds each of them, in order. It is the first of them to anyone
    who reads one error (``field``, ``problem`` and the message are the first's), so that a
    caller that shows one error shows the same one as before."""

    def __init__(self, errors: Sequence[ScenarioError]) -> None:
        if not errors:
            raise ValueError("ScenarioErrors needs at least one error")
        self.errors = list(errors)
        super().__init__(errors[0].field, errors[0].problem)

    def __reduce__(self) -> tuple[type[ScenarioErrors], tuple[list[ScenarioError]]]:  # type: ignore[override]
        """Pickled with its errors (:meth:`ScenarioError.__reduce__`)."""
        return (type(self), (self.errors,))


def raise_refused(errors: Sequence[ScenarioError]) -> None:
    """Raise the errors found (nothing when there are none): one as itself, several as one
    :class:`ScenarioErrors`."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ScenarioErrors(errors)


def each_error(err: ScenarioError) -> list[ScenarioError]:
    """Every field an error refuses: those of a :class:`ScenarioErrors`, else the error."""
    return list(err.errors) if isinstance(err, ScenarioErrors) else [err]


class SolverError(CritminError):
    """The model could not be solved (reported, not raised, unless the caller asks)."""

    exit_code = 1


class OutputPathError(CritminError):
    """An output path that cannot be written as asked (a folder, a missing or read-only place,
    a suffix the writer does not produce): found before any work starts."""


class WriteFailedError(CritminError):
    """Writing a result failed after the work was done (disk full, permissions changed)."""

    exit_code = 1


SHOWN_CHARS = 60
"""How much of a quoted value an error message repeats: a message names what is wrong, it
does not echo a 100,000-character product id back (one did, as a 100 kB answer), on the
web (:func:`critmin.web.responses.error_response`) or on the terminal (``critmin.cli``)."""
MAX_MESSAGE_CHARS = 2_000
_QUOTED = re.compile("(?<!\\w)(['\"])([^'\"\n]{" + str(SHOWN_CHARS + 20) + ",})\\1(?!\\w)")
"""A quoted value: its opening quote not just after a letter or digit and its closing quote
not just before one, so that the text between two values (from the closing quote of one to
the opening quote of the next) is never taken for one."""


def shorten_values(message: str) -> str:
    """``message`` with each quoted value longer than about :data:`SHOWN_CHARS` characters cut
    to its start and its length (``'AAAA…' (100,000 characters)``), and the whole at most
    :data:`MAX_MESSAGE_CHARS`."""
    text = _QUOTED.sub(
        lambda m: f"{m[1]}{m[2][:SHOWN_CHARS]}…{m[1]} ({len(m[2]):,} characters)", message
    )
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + " …"
