"""The desk pages' own form fields (sweep, paths, coalitions, a saved scenario's draws): the
whole numbers typed in them, and a refused scenario field named as the page's form names it.

The pages take their numbers as the text typed (a query parameter typed ``int`` answered
FastAPI's error page, ``query.steps: Input should be a valid integer``, without the form):
:func:`whole_number` reads it, and refuses a blank, a word, a decimal or a number out of
range with an :class:`~critmin.web.services.InvalidInputError` naming the form's field, which
:class:`~critmin.web.responses.FormErrors` shows next to it. The JSON API keeps its typed
parameters.

A page's analysis can refuse a value with the *scenario's* field name
(``policy[0].price_usd_per_t``, ``coalition.candidates[0]``, ``paths.start_year``): the
``*_fields`` functions here give FormErrors the form field that value was typed in and words
for the form (:data:`FieldMap`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from critmin.errors import ScenarioError
from critmin.web import forms
from critmin.web.formerrors import plain_words
from critmin.web.services import InvalidInputError

SEED_MAX = 2**31 - 1
"""The largest seed the paths and coalition pages take (their API's bound)."""
UNCERTAINTY_SEED_MAX = 2**63 - 1
"""The largest seed of a saved scenario's Monte Carlo draws (its API's bound)."""

FieldMap = Callable[[str, str], tuple[str, str]]
"""(field named by the error, problem) -> (the form's field, the message shown next to it)."""


def whole_number(
    text: str | None, field: str, *, default: int, low: int, high: int, beyond: str = ""
) -> int:
    """The whole number typed in the form's ``field`` (``default`` when the form did not send
    it); a blank, a word, a decimal (``2.5``; ``2.0`` is 2) or a number outside
    ``low``..``high`` raises :class:`InvalidInputError` naming ``field`` and what is allowed
    (``beyond``: where larger values can be run, added to an out-of-range message)."""
    if text is None:
        return default
    allowed = f"a whole number from {low:,} to {high:,}"
    typed = text.strip()
    if not typed:
        raise InvalidInputError(field, f"type {allowed} (it was left empty)")
    try:
        value = Decimal(typed)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value():
        raise InvalidInputError(field, f"must be {allowed}, got {typed!r}")
    if not low <= value <= high:  # compared as decimals: 1e999999 is never made an int
        hint = f"; {beyond}" if beyond else ""
        raise InvalidInputError(field, f"must be {allowed}, got {typed}{hint}")
    return int(value)


_SWEEP_VALUE = re.compile(r"^sweep value (\S+): (?:[\w.\[\]]+: )?(.*)$", re.DOTALL)


def sweep_fields(parameter: str, start: str | None) -> FieldMap:
    """The sweep page's map: a swept value the scenario refuses (``policy[0].price_usd_per_t:
    sweep value -5: must be greater than 0``) is shown at *From* when it is the range's first
    value (``start``, as typed), else at *To* (the range goes from *From* towards a value past
    the bound), in plain words without the scenario's field name."""

    def to_form(field: str, problem: str) -> tuple[str, str]:
        value = _SWEEP_VALUE.match(problem)
        if field != parameter or value is None:
            return field, problem
        try:  # the sweep ran: From was a number
            first = f"{forms.typed_number(start or '', 'start'):g}"
        except ScenarioError:
            first = None
        end = "start" if value.group(1) == first else "stop"
        return end, plain_words(end, value.group(2))

    return to_form


def coalition_fields(field: str, problem: str) -> tuple[str, str]:
    """The coalition page's map: a candidate the analysis refuses (``coalition.candidates[0]``:
    unknown, already a member or a candidate twice) is shown at *Candidates*."""
    if field.startswith("coalition.candidates"):
        return "candidates", problem
    return field, problem


_OUTSIDE = re.compile(r"^(\d+) is outside the years (.+)$")


def paths_fields(field: str, problem: str) -> tuple[str, str]:
    """The paths page's map: years that leave out the scenario's first floored year
    (``paths.start_year``: 2026 is outside the years 1990-2000) are shown at *Years*."""
    outside = _OUTSIDE.match(problem)
    if field == "paths.start_year" and outside:
        return "years", (
            f"must include {outside.group(1)}, the first year of the scenario's floor "
            f"(start_year of its [paths] table), got {outside.group(2)}"
        )
    return field, problem
