"""Eligibility gates: governance and ethical-sourcing criteria a candidate must meet.

Each gate the scenario sets (``[coalition.gates]``, :class:`critmin.scenario.coalition_settings.
CoalitionGates`) is checked for every country of a candidate (a group passes only if all its
countries pass). The facts come from:

* ``wgi_min``: the bundled World Bank Worldwide Governance Indicators (``critmin data show wgi``),
  the latest year; a country passes indicator ``k`` when its estimate ``>= wgi_min[k]``
  (estimates lie on roughly -2.5 .. 2.5; Kaufmann, Kraay & Mastruzzi 2010);
* ``oecd_ddg``: ``data/curated/oecd_ddg_adherents.csv``, adherents to the OECD Recommendation on
  Due Diligence Guidance for Responsible Supply Chains of Minerals (OECD/LEGAL/0386): every
  OECD Member plus the non-Member adherents;
* ``eiti``: ``data/curated/eiti_countries.csv``, EITI implementing countries (status
  ``implementing``; ``suspended`` and ``withdrawn`` fail);
* ``ilo_core_min``: ``data/curated/ilo_core_conventions.csv``, how many of the eight ILO core
  conventions of the 1998 Declaration (C029, C087, C098, C100, C105, C111, C138, C182) the
  country has ratified;
* ``irma_sites_min``: ``data/curated/irma_sites.csv``, mine sites with a published IRMA audit
  report (any achievement level; sites under assessment do not count).

A country missing from a curated table fails that gate, with a reason saying so: absence from
a curated list is not proof, so every reason names the file to check. Each curated row carries
its source and a ``confidence`` (``high``/``medium``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from critmin.catalog import read_curated
from critmin.errors import DataIntegrityError
from critmin.scenario.coalition_settings import CoalitionGates
from critmin.world import World

__all__ = ["ILO_CORE", "WGI_NAMES", "Eligibility", "check_eligibility", "curated_facts"]

ILO_CORE = ("C029", "C087", "C098", "C100", "C105", "C111", "C138", "C182")
"""The eight core conventions of the ILO 1998 Declaration on Fundamental Principles."""
WGI_NAMES = {
    "cc": "control of corruption",
    "ge": "government effectiveness",
    "pv": "political stability",
    "rl": "rule of law",
    "rq": "regulatory quality",
    "va": "voice and accountability",
}


@dataclass(frozen=True)
class Eligibility:
    """The gates' verdict on one candidate: ``eligible`` and the reason for every failure."""

    eligible: bool
    reasons: tuple[str, ...] = ()
    checks: dict[str, Any] = field(default_factory=dict)


@cache
def curated_facts() -> dict[str, dict[str, Any]]:
    """The curated gate tables, keyed by country: ``{"oecd_ddg": {ISO3: row}, ...}``; IRMA rows
    are grouped as ``{ISO3: {site: row}}``."""
    out: dict[str, dict[str, Any]] = {}
    for name, key in (
        ("oecd_ddg_adherents", "oecd_ddg"),
        ("eiti_countries", "eiti"),
        ("ilo_core_conventions", "ilo"),
    ):
        table: dict[str, dict[str, str]] = {}
        for k, row in enumerate(read_curated(name), start=1):
            if not row.get("source") or not row.get("country"):
                raise DataIntegrityError(f"{name}.csv row {k}: needs a country and a source")
            table[row["country"]] = row
        out[key] = table
    sites: dict[str, dict[str, dict[str, str]]] = {}
    for k, row in enumerate(read_curated("irma_sites"), start=1):
        if not row.get("source") or not row.get("country"):
            raise DataIntegrityError(f"irma_sites.csv row {k}: needs a country and a source")
        sites.setdefault(row["country"], {})[row["site"]] = row
    out["irma"] = sites
    return out


def _wgi_latest(world: World) -> tuple[int, dict[tuple[str, str], float]]:
    wgi = world.wgi
    year = int(wgi["year"].max())
    latest = wgi[wgi["year"] == year]
    values = {
        (str(c), str(i)): float(v)
        for c, i, v in zip(latest["country"], latest["indicator"], latest["estimate"], strict=True)
    }
    return year, values


def check_eligibility(
    world: World, codes: list[str], gates: CoalitionGates, label: str
) -> Eligibility:
    """Apply every gate that is set to each country of a candidate (``label`` names it)."""
    facts = curated_facts()
    reasons: list[str] = []
    checks: dict[str, Any] = {}
    prefix = "" if len(codes) == 1 and codes[0] == label else f"{label}: "
    if gates.wgi_min:
        year, wgi = _wgi_latest(world)
        for code in codes:
            for ind, threshold in sorted(gates.wgi_min.items()):
                value = wgi.get((code, ind), math.nan)
                checks[f"wgi_{ind}" + (f"_{code}" if prefix else "")] = (
                    value if math.isfinite(value) else None
                )
                if not math.isfinite(value):
                    reasons.append(f"{prefix}{code} has no WGI {WGI_NAMES[ind]} estimate ({year})")
                elif value < threshold:
                    reasons.append(
                        f"{prefix}WGI {WGI_NAMES[ind]} of {code} {value:.2f} < {threshold:.2f} "
                        f"({year})"
                    )
    if gates.oecd_ddg:
        for code in codes:
            row = facts["oecd_ddg"].get(code)
            checks["oecd_ddg" + (f"_{code}" if prefix else "")] = row is not None
            if row is None:
                reasons.append(
                    f"{prefix}{code} does not adhere to the OECD minerals due diligence "
                    "Recommendation (not in oecd_ddg_adherents.csv)"
                )
    if gates.eiti:
        for code in codes:
            row = facts["eiti"].get(code)
            status = row["status"] if row else "not listed"
            checks["eiti" + (f"_{code}" if prefix else "")] = status
            if status != "implementing":
                reasons.append(
                    f"{prefix}{code} is not an EITI implementing country in good standing "
                    f"(eiti_countries.csv: {status})"
                )
    if gates.ilo_core_min is not None:
        for code in codes:
            row = facts["ilo"].get(code)
            if row is None:
                checks["ilo_core" + (f"_{code}" if prefix else "")] = None
                reasons.append(
                    f"{prefix}{code}: no ratification data in ilo_core_conventions.csv "
                    "(unknown counts as failing)"
                )
                continue
            missing = [c for c in ILO_CORE if row[c].strip() != "1"]
            ratified = len(ILO_CORE) - len(missing)
            checks["ilo_core" + (f"_{code}" if prefix else "")] = ratified
            if ratified < gates.ilo_core_min:
                reasons.append(
                    f"{prefix}{code} ratified {ratified} of the 8 ILO core conventions "
                    f"(< {gates.ilo_core_min}; missing {', '.join(missing)})"
                )
    if gates.irma_sites_min:
        for code in codes:
            sites = facts["irma"].get(code, {})
            published = [s for s, r in sites.items() if r["status"] == "published"]
            checks["irma_sites" + (f"_{code}" if prefix else "")] = len(published)
            if len(published) < gates.irma_sites_min:
                pending = len(sites) - len(published)
                more = f"; {pending} under assessment" if pending else ""
                reasons.append(
                    f"{prefix}{code} has {len(published)} mine site(s) with a published IRMA "
                    f"audit (< {gates.irma_sites_min}{more}; irma_sites.csv)"
                )
    return Eligibility(eligible=not reasons, reasons=tuple(reasons), checks=checks)
