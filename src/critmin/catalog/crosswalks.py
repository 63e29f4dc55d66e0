"""Crosswalks between critmin's mineral ids and the publishers' own names and series.

Each crosswalk is a curated CSV in ``critmin/data/curated`` with a ``reason`` (or ``source``)
per row, read once and validated here (a blank reason, an unknown stage, a regular expression
that does not compile or an unknown NIR method is a :class:`~critmin.errors.DataIntegrityError`
naming the file and row):

* ``usgs_ids.csv``: USGS mineral ids of a critmin mineral's stage, where they differ;
* ``usgs_series.csv``: the series kept when one USGS table holds several products;
* ``eu_stages.csv``: critmin stage -> EU CRM 2023 stage code (E extraction, P processing);
* ``eu_materials.csv``: the EU CRM 2023 material standing for a mineral at a stage;
* ``salient_ids.csv``: USGS salient-statistics ids of a critmin mineral;
* ``nir_series.csv``: which salient series USGS's net import reliance of a mineral uses;
* ``nir_consumption_kinds.csv``: the words that name a kind of consumption in USGS's details;
* ``eu_groups.csv``: materials the EU assesses as a group (LREE, HREE, PGM).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal, cast

from critmin.catalog import STAGES, read_curated
from critmin.errors import DataIntegrityError

NirNumerator = Literal["net_imports", "consumption_less_production", "imports"]
_NUMERATORS: tuple[NirNumerator, ...] = ("net_imports", "consumption_less_production", "imports")


@dataclass(frozen=True)
class NirSeries:
    """Which published series of each salient statistic USGS's NIR of a mineral uses.

    Each field is a regular expression searched (case-insensitively) in the ``detail`` of the
    rows of that statistic; every matching row is summed. It has to match both the MCS2026
    wording (``Production, Smelter: Primary``) and the MCS2023-2025 CSV header words
    (``smelter_primary``). ``None`` keeps the default choice
    (:func:`critmin.assessment.nir.select_nir_series`).

    ``numerator`` says how the NIR is recomputed:

    * ``"net_imports"``: (imports - exports - stock change) / consumption (USGS's definition);
    * ``"consumption_less_production"``: (apparent consumption - production) / apparent
      consumption, the same quantity by USGS's identity apparent consumption = production +
      imports - exports +/- stock changes; for minerals where USGS does not publish every
      trade or stock series it adds up;
    * ``"imports"``: imports / consumption, where USGS defines the NIR as imports.

    ``why`` gives the evidence in the rows for the choice (shown in the record's notes).
    """

    nir: str | None = None
    consumption: str | None = None
    production: str | None = None
    imports: str | None = None
    exports: str | None = None
    stocks: str | None = None
    numerator: NirNumerator = "net_imports"
    why: str = ""


def _rows(name: str, required: tuple[str, ...], note: str) -> list[dict[str, str]]:
    """Rows of ``<name>.csv`` with every ``required`` column and a non-blank ``note`` column."""
    rows = read_curated(name)
    for k, row in enumerate(rows, start=2):  # line 1 is the header
        missing = [c for c in (*required, note) if not (row.get(c) or "").strip()]
        if missing:
            raise DataIntegrityError(
                f"{name}.csv line {k}: blank {', '.join(missing)} (every row needs a {note})"
            )
    return rows


def _stage(name: str, k: int, stage: str) -> str:
    if stage not in STAGES:
        raise DataIntegrityError(
            f"{name}.csv line {k}: unknown stage {stage!r} (stages are {', '.join(STAGES)})"
        )
    return stage


def _pattern(name: str, k: int, text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        re.compile(text)
    except re.error as err:
        raise DataIntegrityError(f"{name}.csv line {k}: bad pattern {text!r}: {err}") from None
    return text


@cache
def usgs_ids() -> dict[tuple[str, str], tuple[str, ...]]:
    """(critmin mineral, stage) -> the USGS mineral ids of that stage, where they differ."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for k, r in enumerate(_rows("usgs_ids", ("mineral", "stage", "usgs_mineral"), "reason"), 2):
        key = (r["mineral"], _stage("usgs_ids", k, r["stage"]))
        out[key] = (*out.get(key, ()), r["usgs_mineral"])
    return out


@cache
def usgs_series() -> dict[tuple[str, str], str]:
    """(critmin mineral, stage) -> the USGS series kept (a case-insensitive substring)."""
    rows = _rows("usgs_series", ("mineral", "stage", "series"), "reason")
    return {
        (r["mineral"], _stage("usgs_series", k, r["stage"])): r["series"].strip().lower()
        for k, r in enumerate(rows, 2)
    }


@cache
def eu_stages() -> dict[str, str]:
    """critmin stage -> EU CRM 2023 stage code (``E`` extraction, ``P`` processing)."""
    rows = _rows("eu_stages", ("stage", "eu_stage"), "reason")
    out = {_stage("eu_stages", k, r["stage"]): r["eu_stage"] for k, r in enumerate(rows, 2)}
    bad = sorted(set(out.values()) - {"E", "P"})
    if bad:
        raise DataIntegrityError(f"eu_stages.csv: unknown EU stage code(s) {bad} (E or P)")
    return out


@cache
def eu_materials() -> dict[tuple[str, str], str]:
    """(critmin mineral, EU stage code) -> the EU CRM 2023 material id, where they differ."""
    rows = _rows("eu_materials", ("mineral", "eu_stage", "eu_material"), "reason")
    codes = set(eu_stages().values())
    for k, r in enumerate(rows, 2):
        if r["eu_stage"] not in codes:
            raise DataIntegrityError(
                f"eu_materials.csv line {k}: unknown EU stage {r['eu_stage']!r} "
                f"({', '.join(sorted(codes))})"
            )
    return {(r["mineral"], r["eu_stage"]): r["eu_material"] for r in rows}


@cache
def salient_ids() -> dict[str, tuple[str, ...]]:
    """critmin mineral -> its USGS salient-statistics mineral ids, where they differ."""
    out: dict[str, tuple[str, ...]] = {}
    for r in _rows("salient_ids", ("mineral", "usgs_mineral"), "reason"):
        out[r["mineral"]] = (*out.get(r["mineral"], ()), r["usgs_mineral"])
    return out


@cache
def nir_series() -> dict[str, NirSeries]:
    """critmin mineral -> the reviewed choice of salient series for its NIR."""
    out: dict[str, NirSeries] = {}
    for k, r in enumerate(_rows("nir_series", ("mineral", "numerator"), "reason"), 2):
        numerator = r["numerator"].strip()
        if numerator not in _NUMERATORS:
            raise DataIntegrityError(
                f"nir_series.csv line {k}: unknown numerator {numerator!r} "
                f"({', '.join(_NUMERATORS)})"
            )
        fields = ("nir", "consumption", "production", "imports", "exports", "stocks")
        pats = {f: _pattern("nir_series", k, r.get(f) or "") for f in fields}
        out[r["mineral"]] = NirSeries(
            nir=pats["nir"],
            consumption=pats["consumption"],
            production=pats["production"],
            imports=pats["imports"],
            exports=pats["exports"],
            stocks=pats["stocks"],
            numerator=cast(NirNumerator, numerator),
            why=r["reason"].strip(),
        )
    return out


@cache
def nir_consumption_kinds() -> dict[str, str]:
    """Kind of consumption (``apparent``, ``reported``, ``estimated``) -> the pattern naming it
    in a USGS detail, in the order they are tried."""
    rows = _rows("nir_consumption_kinds", ("kind", "pattern"), "reason")
    out: dict[str, str] = {}
    for k, r in enumerate(rows, 2):
        pat = _pattern("nir_consumption_kinds", k, r["pattern"])
        if pat is not None:
            out[r["kind"]] = pat
    if "apparent" not in out:
        raise DataIntegrityError("nir_consumption_kinds.csv: needs the 'apparent' kind")
    return out


@cache
def eu_groups() -> dict[str, str]:
    """EU material id -> the group the EU assesses it in (``lree``, ``hree``, ``pgm``)."""
    rows = _rows("eu_groups", ("material_id", "eu_group"), "source")
    return {r["material_id"]: r["eu_group"] for r in rows}


__all__ = [
    "NirNumerator",
    "NirSeries",
    "eu_groups",
    "eu_materials",
    "eu_stages",
    "nir_consumption_kinds",
    "nir_series",
    "salient_ids",
    "usgs_ids",
    "usgs_series",
]
