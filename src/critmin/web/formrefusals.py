"""Every field a form refuses, found in one reading.

A form read one field at a time stopped at its first mistake: the user fixed it, sent the
form again and met the next. :class:`Refusals` reads each field through :meth:`Refusals.read`,
which keeps a refused field's :class:`~critmin.errors.ScenarioError` and goes on, so that the
page can show every mistake at once (:func:`critmin.web.formerrors.form_errors`). Split from
:mod:`critmin.web.forms` to keep each module to one job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from critmin.errors import ScenarioError, each_error

T = TypeVar("T")


class Refusals:
    """The errors of the fields refused so far, in the order the form was read."""

    def __init__(self) -> None:
        self.errors: list[ScenarioError] = []

    def refuse(self, field: str, problem: str) -> None:
        """Keep a refusal the form's own reading finds (``field``: the scenario's field)."""
        self.errors.append(ScenarioError(field, problem))

    def read(self, reader: Callable[..., T], *args: Any) -> T | None:
        """``reader(*args)``, or ``None`` when it refuses the field (its error is kept)."""
        try:
            return reader(*args)
        except ScenarioError as err:
            self.errors.extend(each_error(err))
            return None

    def put(self, table: dict[str, Any], key: str, reader: Callable[..., Any], *args: Any) -> None:
        """``table[key] = reader(*args)``, left out when the field is refused: the scenario
        built from a refused form then holds every value that passed, for the scenario model
        to check the rest (:meth:`critmin.scenario.spec.Scenario.from_dict`)."""
        value = self.read(reader, *args)
        if value is not None:
            table[key] = value
