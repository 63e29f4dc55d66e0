"""The designer's *Yearly paths* fields: the ``[paths]`` table that ``/paths`` (``critmin
paths``) compares financing mechanisms on, year by year (docs/paths.md).

The form edits the table's floor (``floor_usd_per_t``), the floored market (``product``: a
product id or name, or a chain's stage or product), the ``years`` and the ``start_year``; a
saved table's other settings (mechanisms, draws, the contract-for-difference and offtake terms
...) are carried through untouched by :mod:`critmin.web.formcarry`. A blank floor means no
table. Split from :mod:`critmin.web.forms` to keep each module to one job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from critmin.errors import ScenarioError
from critmin.web.formrefusals import Refusals

PATHS_FIELDS = ("floor", "product", "years", "start")
"""The form's fields (``paths-<field>``), as typed."""
EDITED_PATHS = {"floor_usd_per_t", "product", "years", "start_year"}
"""The ``[paths]`` keys the form edits (the rest is carried)."""


def empty_paths() -> dict[str, str]:
    return dict.fromkeys(PATHS_FIELDS, "")


def paths_from_scenario(data: dict[str, Any], fmt: Callable[[Any], str]) -> dict[str, str]:
    """The form's fields from a scenario's ``[paths]`` table (blank without one; ``fmt``
    writes a number as the form shows it)."""
    table = data.get("paths")
    row = empty_paths()
    if not isinstance(table, dict):
        return row
    row["floor"] = fmt(table.get("floor_usd_per_t"))
    row["product"] = str(table.get("product") or "")
    row["years"] = str(table.get("years") or "")
    start = table.get("start_year")
    row["start"] = "" if start is None else str(start)
    return row


def paths_filled(row: dict[str, str]) -> bool:
    return any(row.get(f, "").strip() for f in PATHS_FIELDS)


def paths_table(
    row: dict[str, str],
    products: set[str],
    chains: set[str],
    number: Any,
    product_names: dict[str, str] | None,
    refused: Refusals,
) -> dict[str, Any] | None:
    """The ``[paths]`` keys the form sets (``None``: no table, the floor left blank).

    ``number`` reads a typed number (:func:`critmin.web.forms._number`). The product is
    taken by name or id (``product_names``); without chains it must be one of the scenario's
    products, and may be left blank only when there is one product. A chain's stage or
    product is checked when the paths are run (``/paths``). A refused field is left out and
    its error kept in ``refused``."""
    floor_text = row.get("floor", "").strip()
    if not floor_text:
        if paths_filled(row):
            refused.refuse(
                "paths.floor_usd_per_t",
                "give the floor (USD/t) to compare the mechanisms year by year, or clear the "
                "other yearly-paths fields",
            )
        return None
    table: dict[str, Any] = {}
    refused.put(table, "floor_usd_per_t", number, floor_text, "paths.floor_usd_per_t")
    typed = row.get("product", "").strip()
    if typed:
        product = (product_names or {}).get(typed.lower(), typed)
        if not chains and product not in products:
            refused.refuse(
                "paths.product",
                f"{typed!r} is not one of the scenario's products "
                f"({', '.join(sorted(products)) or 'none chosen'})",
            )
        else:
            table["product"] = product
    elif not chains and len(products) > 1:
        refused.refuse(
            "paths.product",
            "name the product that carries the floor: the scenario has "
            f"{len(products)} products ({', '.join(sorted(products))})",
        )
    years = row.get("years", "").strip()
    if years:
        table["years"] = years
    refused.put(table, "start_year", typed_year, row.get("start", ""), "paths.start_year")
    return table


def typed_year(text: str, field_name: str) -> int | None:
    """A year typed in the form (``None`` when blank); anything else is refused."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ScenarioError(field_name, f"expected a year such as 2028, got {text!r}") from None
