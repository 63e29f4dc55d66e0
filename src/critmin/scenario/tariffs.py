"""Baseline and preferential tariffs: the ``[tariffs]`` table of a scenario -> each market's t0.

Sources (docs/controls.md, "Baseline tariffs"), applied in this order, a later one winning on
the same pair:

* ``baseline = "curated"``: ``data/curated/baseline_tariffs.csv`` (a citation per row: the US
  Section 301 duties on Chinese critical minerals, natural graphite and permanent magnets as
  USTR published them in 2024, with their effective dates, and MFN rates where not zero). A
  row applies when its effective date is on or before the end of the scenario's year;
* ``file = "my_tariffs.csv"``: the user's own rows ``importer,exporter,hs6,rate`` (codes or
  ``*`` for every country; rates as fractions);
* ``preferential_cut``: intra-zone pairs' baseline tariffs are cut by this fraction.

The baseline is calibrated with these ``t0``: expenditure ``E_j = sum_i V_ij (1 + t0_ij)`` and
shares ``s_ij`` include them, so a tariff already in place is not counted as a new shock.
Opt-in per scenario: without a ``[tariffs]`` table every baseline tariff stays 0 as before.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from datetime import date
from pathlib import Path

import numpy as np

from critmin.baseline import ProductBaseline
from critmin.catalog import read_curated
from critmin.countries import all_countries
from critmin.errors import CritminError
from critmin.scenario.spec import TariffSettings
from critmin.world import World

__all__ = [
    "TariffRow",
    "apply_tariffs",
    "curated_tariffs",
    "read_tariff_file",
    "resolve_tariffs",
]


@dataclasses.dataclass(frozen=True)
class TariffRow:
    importer: str
    exporter: str
    hs6: str
    rate: float
    source: str


def curated_tariffs(year: int) -> list[TariffRow]:
    """The curated rows in force by the end of ``year``."""
    out = []
    for r in read_curated("baseline_tariffs"):
        if date.fromisoformat(r["effective_date"]) <= date(year, 12, 31):
            out.append(
                TariffRow(r["importer"], r["exporter"], r["hs6"], float(r["rate"]), r["source"])
            )
    return out


def read_tariff_file(path: Path, known: set[str]) -> list[TariffRow]:
    """A user's tariff CSV (``importer,exporter,hs6,rate``); an unknown country code, a rate
    outside [0, 10] or a missing column is one message naming the file and line."""
    if not path.is_file():
        raise CritminError(f"tariffs.file: {path} does not exist")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"importer", "exporter", "hs6", "rate"} - set(reader.fieldnames or [])
        if missing:
            raise CritminError(
                f"tariffs.file {path}: missing column(s) {', '.join(sorted(missing))} "
                "(expected importer,exporter,hs6,rate)"
            )
        rows = []
        for line, r in enumerate(reader, start=2):
            for col in ("importer", "exporter"):
                code = (r[col] or "").strip().upper()
                if code != "*" and code not in known:
                    raise CritminError(
                        f"tariffs.file {path}, line {line}: unknown {col} code {r[col]!r} "
                        "(give an ISO 3166 alpha-3 code or *)"
                    )
            try:
                rate = float(r["rate"])
            except (TypeError, ValueError):
                rate = math.nan
            if not (0.0 <= rate <= 10.0):
                raise CritminError(
                    f"tariffs.file {path}, line {line}: rate {r['rate']!r} must be a fraction "
                    "between 0 and 10 (0.25 = 25%)"
                )
            rows.append(
                TariffRow(
                    r["importer"].strip().upper(),
                    r["exporter"].strip().upper(),
                    (r["hs6"] or "").strip(),
                    rate,
                    f"user file {path.name}, line {line}",
                )
            )
    return rows


def apply_tariffs(
    base: ProductBaseline, rows: list[TariffRow], members: np.ndarray, cut: float
) -> ProductBaseline:
    """``base`` with ``t0`` from ``rows`` (for its HS6 code) and the intra-zone cut."""
    t0 = np.array(base.t0, dtype=np.float64, copy=True)
    index = {c: k for k, c in enumerate(base.countries)}
    used: list[str] = []
    for r in rows:
        if r.hs6 != base.hs6:
            continue
        imp = range(base.n) if r.importer == "*" else [index.get(r.importer, -1)]
        exp = range(base.n) if r.exporter == "*" else [index.get(r.exporter, -1)]
        for i in exp:
            for j in imp:
                if i >= 0 and j >= 0 and i != j:
                    t0[i, j] = r.rate
        if r.source not in used:
            used.append(r.source)
    if cut > 0:
        zone = np.outer(members, members)
        t0[zone] *= 1.0 - cut
    np.fill_diagonal(t0, 0.0)
    sources = [*base.sources, *(f"baseline tariff: {s}" for s in used)]
    return dataclasses.replace(base, t0=t0, sources=sources)


def known_codes(world: World) -> set[str]:
    """Every ISO3 code critmin knows (for checking a user's tariff file)."""
    return set(all_countries()) | set(world.countries)


def resolve_tariffs(
    settings: TariffSettings | None,
    world: World,
    year: int,
    base_dir: Path,
    user_codes: set[str],
) -> list[TariffRow] | None:
    """The tariff rows of a scenario (``None`` without a ``[tariffs]`` table)."""
    if settings is None:
        return None
    rows = curated_tariffs(year) if settings.baseline == "curated" else []
    if settings.file:
        path = Path(settings.file)
        path = path if path.is_absolute() else base_dir / path
        rows += read_tariff_file(path, known_codes(world) | user_codes)
    return rows
