"""The catalog: minerals, production stages, products and the crosswalks between sources,
loaded from the curated CSV files in ``critmin/data/curated`` (a source or reason per row).

The stage list is defined here once (``data/curated/stages.csv``): every view, chart and command
takes :data:`STAGES` from this module.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from functools import cache
from importlib import resources

from critmin.errors import DataIntegrityError


@dataclass(frozen=True)
class Stage:
    """One production stage, in chain order."""

    stage: str
    order: int
    name: str
    description: str
    source: str


def read_curated(name: str) -> list[dict[str, str]]:
    """The rows of ``data/curated/<name>.csv`` as dicts (text values; blank stays '')."""
    path = resources.files("critmin.data") / "curated" / f"{name}.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataIntegrityError(f"curated file {name}.csv is missing; reinstall critmin") from None
    return list(csv.DictReader(io.StringIO(text, newline="")))


@cache
def stages() -> tuple[Stage, ...]:
    """The production stages in chain order (``data/curated/stages.csv``)."""
    rows = read_curated("stages")
    out = []
    for r in rows:
        if not r.get("source"):
            raise DataIntegrityError(f"stages.csv: stage {r.get('stage')!r} has no source")
        out.append(Stage(r["stage"], int(r["order"]), r["name"], r["description"], r["source"]))
    return tuple(sorted(out, key=lambda s: s.order))


STAGES: tuple[str, ...] = tuple(s.stage for s in stages())
"""Stage codes in chain order: ``("mine", "refine", "product")``."""

NEXT_STAGE: dict[str, str] = dict(itertools.pairwise(STAGES))
"""The stage each stage feeds: ``{"mine": "refine", "refine": "product"}``."""

from critmin.catalog import crosswalks  # noqa: E402  (needs STAGES above)

__all__ = ["NEXT_STAGE", "STAGES", "Stage", "crosswalks", "read_curated", "stages"]
