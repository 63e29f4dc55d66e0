"""The designer's *Disruption risk* rows: the scenario's ``[[disruption]]`` tables, export
bans that happen with a yearly probability, which ``critmin uncertainty`` draws in its Monte
Carlo runs and ``critmin paths`` year by year (docs/uncertainty.md, docs/paths.md).

A row edits a disruption's exporters, importers, probability (typed in percent) and its
optional year (paths only: that year alone); anything else a saved table holds (``products``,
a chain's ``stage``) is carried through untouched in the row's hidden ``extra`` JSON, as an
instrument's is (:mod:`critmin.web.formcarry`). A row left as the page shows it empty is
skipped. Split from :mod:`critmin.web.forms` to keep each module to one job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from critmin.web import formcarry
from critmin.web.formpaths import typed_year
from critmin.web.formrefusals import Refusals

DISRUPTION_FIELDS = ("type", "exporters", "importers", "probability_pct", "year", "extra")
"""The form's fields of a row (``disruption-<i>-<field>``; ``type`` is a hidden constant that
marks the row)."""
EDITED_DISRUPTION = {"type", "exporters", "importers", "probability", "year"}
"""The ``[[disruption]]`` keys a row edits (the rest is carried in ``extra``)."""
MAX_DISRUPTIONS = 8


def empty_disruption() -> dict[str, str]:
    return {
        "type": "export_ban",
        "exporters": "watch",
        "importers": "members",
        "probability_pct": "",
        "year": "",
        "extra": "",
    }


def disruption_filled(row: dict[str, str]) -> bool:
    """Whether a row holds anything besides what an empty one shows."""
    blank = empty_disruption()
    return any(
        row.get(f, "").strip() != blank[f] for f in ("exporters", "importers", "probability_pct")
    ) or bool(row.get("year", "").strip() or row.get("extra", "").strip())


def disruptions_from_scenario(
    data: dict[str, Any], fmt: Callable[[Any, float], str], text: Callable[[Any, str], str]
) -> list[dict[str, str]]:
    """The rows of a scenario's ``[[disruption]]`` tables (``fmt`` writes a number and
    ``text`` a selector, with its default, as the form shows them)."""
    rows = []
    for table in data.get("disruption") or []:
        if not isinstance(table, dict):
            continue
        row = empty_disruption()
        row["exporters"] = text(table.get("exporters"), row["exporters"])
        row["importers"] = text(table.get("importers"), row["importers"])
        if "probability" in table:
            row["probability_pct"] = fmt(table["probability"], 100)
        if table.get("year") is not None:
            row["year"] = str(table["year"])
        rest = {k: v for k, v in table.items() if k not in EDITED_DISRUPTION}
        if table.get("type", "export_ban") != "export_ban":
            rest["type"] = table["type"]  # a type the form does not know: kept as saved
        row["extra"] = formcarry.dumps(rest)
        rows.append(row)
    return rows


def disruption_tables(
    rows: list[dict[str, str]],
    selector: Callable[[str, str], Any],
    number: Callable[..., float],
    refused: Refusals,
) -> list[dict[str, Any]]:
    """The ``[[disruption]]`` tables of the rows (an empty row is skipped; one without a
    probability is refused next to it). ``selector`` and ``number`` read the typed text as
    :mod:`critmin.web.forms` does for instruments; a refused field is left out and its error
    kept in ``refused``."""
    out: list[dict[str, Any]] = []
    for row in rows:
        if not disruption_filled(row):
            continue
        f = f"disruption[{len(out)}]"
        extra = refused.read(formcarry.loads, row.get("extra", ""), f"{f}.exporters") or {}
        table: dict[str, Any] = {}
        for side in ("exporters", "importers"):
            refused.put(table, side, selector, row.get(side, ""), f"{f}.{side}")
        probability = row.get("probability_pct", "").strip()
        if not probability:
            refused.refuse(
                f"{f}.probability", "give the yearly probability of this ban, in percent"
            )
        else:
            refused.put(table, "probability", number, probability, f"{f}.probability", 100)
        refused.put(table, "year", typed_year, row.get("year", ""), f"{f}.year")
        out.append(table | {k: v for k, v in extra.items() if k not in table})
    return out
