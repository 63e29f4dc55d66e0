"""World Bank Worldwide Governance Indicators (``wgi`` schema).

:func:`read_wgi` reads the official long-format workbook ``wgidataset_1996-2023.xlsx``
(one sheet; columns ``codeindyr, code, countryname, year, indicator, estimate, stddev,
nsource, pctrank, pctranklower, pctrankupper``). Licence CC BY 4.0, attribution to the World
Bank (Kaufmann & Kraay).

Output columns: ``country`` (ISO3), ``year`` (int), ``indicator`` (``cc`` control of
corruption, ``ge`` government effectiveness, ``pv`` political stability and absence of
violence, ``rl`` rule of law, ``rq`` regulatory quality, ``va`` voice and accountability),
``estimate`` (float, roughly -2.5..2.5; NaN where the source has ``".."``), ``source_code``
(the code as published), then extras ``country_name``, ``pctrank`` (0-100, NaN for "..").

Source defects handled: missing values are the string ``".."``; some codes are World Bank
legacy codes, not ISO3 (``ZAR`` -> COD, ``ROM`` -> ROU, ``ADO`` -> AND, ``TMP`` -> TLS,
``WBG`` -> PSE, ``KSV`` -> XKX). The workbook is read once with openpyxl (about 5 s).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from critmin.errors import SourceFormatError
from critmin.sources._parse import map_iso3, read_bytes, require_columns

__all__ = ["INDICATORS", "WGI_COLUMNS", "read_wgi"]

WGI_COLUMNS: list[str] = ["country", "year", "indicator", "estimate", "source_code"]
"""The ``wgi`` schema (docs/architecture.md), in order."""

INDICATORS: dict[str, str] = {
    "cc": "Control of Corruption",
    "ge": "Government Effectiveness",
    "pv": "Political Stability and Absence of Violence/Terrorism",
    "rl": "Rule of Law",
    "rq": "Regulatory Quality",
    "va": "Voice and Accountability",
}


def read_wgi(path: str | Path, year: int | Iterable[int] | None = None) -> pd.DataFrame:
    """Read the WGI workbook; optionally keep only ``year`` (an int or several).

    Raises SourceFormatError for a file that is not an xlsx workbook, lacks the columns
    ``code, year, indicator, estimate``, has an unknown indicator or an unknown country code.
    """
    p = Path(path)
    raw = read_bytes(p)
    if raw[:4] != b"PK\x03\x04":
        raise SourceFormatError(p, "not an .xlsx workbook (expected a ZIP container)")
    try:
        frame = pd.read_excel(p, sheet_name=0, engine="openpyxl", dtype={"code": str})
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SourceFormatError(p, f"not a readable .xlsx workbook ({exc})") from exc
    frame.columns = pd.Index([str(c).strip().casefold() for c in frame.columns])
    require_columns(frame, ["code", "year", "indicator", "estimate"], p)
    years = pd.to_numeric(frame["year"], errors="coerce")
    if years.isna().any():
        raise SourceFormatError(p, f"non-numeric year {frame.loc[years.isna(), 'year'].iloc[0]!r}")
    frame = frame.assign(year=years.astype("int64"))
    if year is not None:
        wanted = {int(year)} if isinstance(year, int) else {int(y) for y in year}
        frame = frame.loc[frame["year"].isin(wanted)]
    indicator = frame["indicator"].astype(str).str.strip().str.casefold()
    unknown = sorted(set(indicator) - set(INDICATORS))
    if unknown:
        raise SourceFormatError(p, f"unknown indicator(s) {unknown}; expected {sorted(INDICATORS)}")
    codes = frame["code"].astype(str).str.strip()
    country = map_iso3(codes, p, "code")

    def numbers(col: str) -> pd.Series:
        if col not in frame.columns:
            return pd.Series(float("nan"), index=frame.index)
        text = frame[col].astype(str).str.strip()
        values = pd.to_numeric(text.where(text.ne(".."), None), errors="coerce")
        bad = values.isna() & ~text.isin(["..", "", "nan", "None"])
        if bad.any():
            raise SourceFormatError(p, f"column {col!r} holds a non-number {text[bad].iloc[0]!r}")
        return values.astype(float)

    out = pd.DataFrame(
        {
            "country": country,
            "year": frame["year"],
            "indicator": indicator,
            "estimate": numbers("estimate"),
            "source_code": codes,
            "country_name": frame["countryname"].astype(str).str.strip()
            if "countryname" in frame.columns
            else "",
            "pctrank": numbers("pctrank"),
        }
    )
    return out.reset_index(drop=True)
