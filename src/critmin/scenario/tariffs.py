"""Baseline and preferential tariffs: the ``[tariffs]`` table of a scenario -> each market's t0.

Sources (docs/controls.md, "Baseline tariffs"), applied in this order:

* ``baseline = "curated"``: ``data/curated/baseline_tariffs.csv``, one cited row per measure and
  HS6 line (US MFN rates where not zero; the Section 301 duties on Chinese goods: List 3 since
  2019, the 2024 Four-Year Review lines, tungsten from 2025, natural graphite and permanent
  magnets from 2026; Russia's rates in lieu of column 2), each with its HTS 8-digit lines, legal basis and a ``confidence``
  (high/medium/low). A row is in force in a scenario year when it took effect on or before
  31 December and had not ended by then. ``kind = "base"`` rows are the general (MFN) rate:
  an exporter-specific base row beats a ``*`` row, and the exporters in ``free_for`` (the
  FTA partners of the line's special column) pay nothing. ``kind = "additional"`` rows stack
  on the base, as the HTSUS prescribes (U.S. note 31(a) to chapter 99 subchapter III: the
  Section 301 duty is owed on top of the general rate): ``t0 = base + sum(additional)``;
* ``file = "my_tariffs.csv"``: the user's own rows ``importer,exporter,hs6,rate`` (codes or
  ``*`` for every country; rates as fractions), each the whole tariff of the pairs it selects
  (it replaces the curated total; a later row wins);
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
from critmin.errors import CritminError, DataIntegrityError
from critmin.scenario.spec import TariffSettings
from critmin.world import World

__all__ = [
    "TariffRow",
    "apply_tariffs",
    "curated_tariffs",
    "read_tariff_file",
    "resolve_tariffs",
]


KINDS = ("base", "additional")
CONFIDENCE = ("high", "medium", "low")


@dataclasses.dataclass(frozen=True)
class TariffRow:
    """One tariff measure on ``importer`` x ``exporter`` for an HS6 line.

    ``kind``: ``base`` (the general/MFN rate), ``additional`` (stacks on the base, e.g. Section
    301) or ``total`` (a user's row: the whole tariff, replacing the rest on its pairs).
    ``free_for``: exporters a ``*`` base row does not reach (preferential partners)."""

    importer: str
    exporter: str
    hs6: str
    rate: float
    source: str
    kind: str = "total"
    free_for: frozenset[str] = frozenset()
    confidence: str = ""


def _curated_row(line: int, r: dict[str, str]) -> tuple[TariffRow, date, date | None]:
    """A checked row of baseline_tariffs.csv (bad content -> DataIntegrityError naming it)."""
    where = f"baseline_tariffs.csv, line {line}"
    try:
        rate = float(r["rate"])
        start = date.fromisoformat(r["effective_date"])
        end = date.fromisoformat(r["end_date"]) if r.get("end_date") else None
    except (KeyError, TypeError, ValueError) as exc:
        raise DataIntegrityError(f"{where}: bad rate or date ({exc})") from None
    problems = []
    if not (math.isfinite(rate) and 0.0 <= rate <= 10.0):
        problems.append(f"rate {r['rate']!r} outside 0-10")
    if r.get("kind") not in KINDS:
        problems.append(f"kind {r.get('kind')!r} (allowed: {', '.join(KINDS)})")
    if r.get("confidence") not in CONFIDENCE:
        problems.append(f"confidence {r.get('confidence')!r} (allowed: {', '.join(CONFIDENCE)})")
    if not (r.get("source") and r.get("legal_basis") and r.get("hts_lines")):
        problems.append("source, legal_basis and hts_lines are required")
    if end is not None and end <= start:
        problems.append("end_date must be after effective_date")
    if problems:
        raise DataIntegrityError(f"{where}: {'; '.join(problems)}")
    free = frozenset(c for c in (r.get("free_for") or "").split(";") if c)
    row = TariffRow(
        r["importer"],
        r["exporter"],
        r["hs6"],
        rate,
        f"{r['measure']} ({r['hts_lines']}, {r['confidence']} confidence): {r['source']}",
        r["kind"],
        free,
        r["confidence"],
    )
    return row, start, end


def curated_tariffs(year: int) -> list[TariffRow]:
    """The curated rows in force at the end of ``year`` (took effect on or before 31 December,
    not ended by then)."""
    year_end = date(year, 12, 31)
    out = []
    for line, r in enumerate(read_curated("baseline_tariffs"), start=2):
        row, start, end = _curated_row(line, r)
        if start <= year_end and (end is None or end > year_end):
            out.append(row)
    return out


def read_tariff_file(path: Path, known: set[str]) -> list[TariffRow]:
    """A user's tariff CSV (``importer,exporter,hs6,rate``); an unknown country code, a rate
    outside [0, 10] or a missing column is one message naming the file and line."""
    if path.is_dir():
        raise CritminError(f"tariffs.file: {path} is a folder: give a CSV file")
    if not path.exists():
        from critmin.util import why_missing

        raise CritminError(f"tariffs.file: {path} {why_missing(path)}")
    if not path.is_file():  # a device or a pipe (/dev/zero) was said not to exist
        raise CritminError(f"tariffs.file: {path} is not a regular file: give a CSV file")
    try:
        return _read_tariff_rows(path, known)
    except UnicodeDecodeError as err:
        raise CritminError(
            f"tariffs.file {path} is not UTF-8 text (byte {err.start}): save it as a UTF-8 CSV"
        ) from None
    except csv.Error as err:
        raise CritminError(f"tariffs.file {path} is not a readable CSV: {err}") from None
    except OSError as err:
        raise CritminError(f"cannot read tariffs.file {path}: {err.strerror or err}") from None


def _read_tariff_rows(path: Path, known: set[str]) -> list[TariffRow]:
    """The rows of :func:`read_tariff_file` (decoding and CSV errors raised as they come)."""
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
            hs6 = (r["hs6"] or "").strip()
            if not (len(hs6) == 6 and hs6.isdigit()):
                raise CritminError(
                    f"tariffs.file {path}, line {line}: hs6 {r['hs6']!r} must be a six-digit "
                    "HS code such as 283691"
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
                    hs6,
                    rate,
                    f"user file {path.name}, line {line}",
                )
            )
    return rows


def apply_tariffs(
    base: ProductBaseline, rows: list[TariffRow], members: np.ndarray, cut: float
) -> ProductBaseline:
    """``base`` with ``t0`` from ``rows`` (for its HS6 code) and the intra-zone cut.

    Per pair: ``t0 = base rate + sum(additional rates)``, where the base rate is the most
    specific ``base`` row (an exporter named beats ``*``; ``free_for`` exporters get 0); a
    ``total`` row (a user's file) replaces that sum, the later one winning. Pairs no row
    reaches keep the baseline's t0."""
    n = base.n
    index = {c: k for k, c in enumerate(base.countries)}
    base_rate = np.zeros((n, n))
    base_rank = np.full((n, n), -1)  # -1: no base row; 0: a '*' row; 1: exporter named
    extra = np.zeros((n, n))
    total = np.full((n, n), np.nan)
    touched = np.zeros((n, n), dtype=bool)
    used: list[str] = []
    for r in rows:
        if r.hs6 != base.hs6:
            continue
        imp = range(n) if r.importer == "*" else [index.get(r.importer, -1)]
        exp = range(n) if r.exporter == "*" else [index.get(r.exporter, -1)]
        hit = False
        for i in exp:
            for j in imp:
                if i < 0 or j < 0 or i == j:
                    continue
                hit = True
                touched[i, j] = True
                if r.kind == "additional":
                    extra[i, j] += r.rate
                elif r.kind == "base":
                    named = r.exporter != "*"
                    rate = 0.0 if base.countries[i] in r.free_for and not named else r.rate
                    rank = 1 if named or base.countries[i] in r.free_for else 0
                    if rank >= base_rank[i, j]:
                        base_rate[i, j], base_rank[i, j] = rate, rank
                else:
                    total[i, j] = r.rate
        if hit and r.source not in used:
            used.append(r.source)
    t0 = np.array(base.t0, dtype=np.float64, copy=True)
    t0[touched] = base_rate[touched] + extra[touched]
    replaced = ~np.isnan(total)
    t0[replaced] = total[replaced]
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
