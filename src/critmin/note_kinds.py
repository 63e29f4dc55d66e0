"""Which notes of a result warn, and how the same warning of several products is said once.

A result's notes (``products.<id>.notes``, ``chains.<id>.notes`` in the results contract) are
plain sentences; those that start with one of :data:`WARNING_PREFIXES` are warnings, every
other note is information. Every view of a result reads them so: the terminal summary
(:mod:`critmin.summary`), the dashboard (:mod:`critmin.web.resultview`) and the offline report
(:mod:`critmin.report.render`), which may import nothing that builds a baseline; hence this
module, which imports nothing of critmin's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SHOWN = 6
"""Country codes (or products) listed in a note before "and N more"."""

WARNING_PREFIXES = (
    "no effect:",
    "may have no effect:",
    "cut off:",
    "numerical:",
    "extreme:",
    "left out:",
)
"""Notes that warn: instruments and settings that do (or may do) nothing, buyers cut off from
every supplier (:mod:`critmin.scenario.no_effect`), numerical trouble (the solver's accounts),
equilibria far from the baseline (:func:`critmin.simulation.extreme_notes`) and parts of a
scenario an analysis does not model (``left out:``, :func:`critmin.paths.setup.left_out`). The
terminal summary, the web pages and the report show them as warnings; every other note is
information."""


def names_listed(names: Sequence[str]) -> str:
    """``CHN, COD and 3 more``: names for a sentence, the first :data:`SHOWN` of them
    (``none`` for none)."""
    if len(names) <= SHOWN:
        return ", ".join(names) if names else "none"
    return f"{', '.join(names[:SHOWN])} and {len(names) - SHOWN} more"


def shared_warnings(products: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each distinct warning of the products (notes that start with one of
    :data:`WARNING_PREFIXES`), in the order first given, with the products that give it:
    ``"every product"`` when all of several do, else their ids (:func:`names_listed`). A
    scenario-wide warning (no instrument at all, a rule of origin that applies to no chain) is
    then one line of the terminal summary, one box of the dashboard's and the report's results,
    not one per product."""
    where: dict[str, list[str]] = {}
    for pid, p in products.items():
        for note in map(str, p.get("notes") or []):
            if note.startswith(WARNING_PREFIXES) and pid not in where.setdefault(note, []):
                where[note].append(pid)
    every = len(products) > 1
    return {
        note: "every product" if every and len(pids) == len(products) else names_listed(pids)
        for note, pids in where.items()
    }


def result_warnings(result: Mapping[str, Any]) -> list[dict[str, str]]:
    """The notes of every product and chain that start with one of :data:`WARNING_PREFIXES`,
    each as ``{"where": products (:func:`shared_warnings`: one entry for a warning several
    products give) or ``chain <id>`` (a chain's notes that no product of it gives), "kind":
    the prefix without the colon, "text"}``, once each, in the order of the results: the box above a result's detail on the dashboard and
    in the offline report."""
    found: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(where: str, notes: Sequence[Any]) -> None:
        for note in notes:
            text = str(note)
            if text.startswith(WARNING_PREFIXES) and (where, text) not in seen:
                seen.add((where, text))
                kind = next(p for p in WARNING_PREFIXES if text.startswith(p))
                found.append({"where": where, "kind": kind.rstrip(":"), "text": text})

    shared = shared_warnings(result.get("products") or {})
    for text, where in shared.items():
        add(where, [text])
    for cid, chain in (result.get("chains") or {}).items():
        # a stage's notes are its product's too: said once, with the product
        add(f"chain {cid}", [n for n in chain.get("notes") or [] if str(n) not in shared])
        for stage in chain.get("stages") or []:
            add(f"chain {cid}", [n for n in stage.get("notes") or [] if str(n) not in shared])
    return found


def draw_warnings(uncertainty: Mapping[str, Any], result: Mapping[str, Any]) -> list[str]:
    """The warnings of a Monte Carlo run (``critmin uncertainty``'s ``warnings``:
    ``<product>: <warning>`` and the run's own, such as buyers the disruptions drawn cut off)
    that the result's notes do not already give (those are in the warnings above its detail,
    :func:`result_warnings`), in the run's order."""
    products = result.get("products") or {}
    already = {f"{pid}: {note}" for pid, p in products.items() for note in p.get("notes") or []}
    return [str(w) for w in uncertainty.get("warnings") or [] if str(w) not in already]


def placed(text: str, places: Sequence[str]) -> tuple[str, str]:
    """A warning said as ``<place>: <warning>`` (``critmin uncertainty``'s and ``critmin
    sweep``'s ``warnings``: ``lithium_carbonate: no effect: ...``) split into the place (one of
    ``places``, the longest that fits) and the warning; ``("", text)`` when it starts with none
    of them (a warning of the whole run, or of several products, which it names itself)."""
    for place in sorted(places, key=len, reverse=True):
        if place and text.startswith(f"{place}: "):
            return place, text[len(place) + 2 :]
    return "", text
