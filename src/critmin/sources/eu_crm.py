"""European Commission, Study on the Critical Raw Materials for the EU 2023 (CC BY 4.0).

* :func:`read_global_supply_shares`: ``fact_GlobalSupplyShares_and_t.csv`` (Appendix 7:
  global supply shares by country for stage E extraction / P processing, and the trade
  variable ``t``) -> ``eu_supply_shares`` with ``scope="global"``.
* :func:`read_eu_supply_shares`: ``fact_EUSupplyShares_and_t.csv`` (EU sourcing shares of 1 %
  and above) -> ``eu_supply_shares`` with ``scope="eu"``.
* :func:`read_sr_ei`: ``dimension_CRMsOverTime.csv`` (Annex 4: supply risk SR and economic
  importance EI per material for 2011, 2014, 2017, 2020, 2023) -> ``eu_sr_ei``.

``eu_supply_shares`` columns: ``material`` (as published, whitespace collapsed), ``stage``
(E/P), ``country`` (ISO3), ``country_name`` (as published), ``share`` (fraction 0-1),
``share_text`` (as published), ``t`` (float), ``scope``; extra ``material_id``.
``eu_sr_ei`` columns: ``material, year, sr, ei``; extra ``material_id``.

``material_id`` is a slug that makes the tables' spellings agree (``"Natural Graphite"`` /
``"Natural graphite"`` -> ``natural_graphite``, ``"Baryte"``/``"Barytes"`` -> ``baryte``,
``"Phosphorous"`` -> ``phosphorus``, ``"Kaolin clay"`` -> ``kaolin``, ``"HREEs"`` /
``"Heavy Rare earths Elements"`` -> ``hree``, ``"LREEs"`` -> ``lree``, ``"PGMs"`` -> ``pgm``).

Source defects handled: cp1252 encoding (``Türkiye``, ``€``) with a UTF-8 fallback; shares
as strings (``"53.0%"``; ``"<0.1%"`` -> 0.0005, the middle of the band, with ``share_text``
kept); one EU share published without its ``%`` (Silicon metal, P, Germany: ``"6"``, read as
6 %); ``-`` for not assessed -> NaN; a material name broken by a line break (``"Natural
Teak\\nwood"``); country misspellings (``"Brasilia"``, ``"Turkyie"``, ``"Libanon"``,
``"Surinam"``) resolved by the reviewed name map.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.errors import SourceFormatError
from critmin.sources._parse import map_iso3, read_csv_text, require_columns, slug

__all__ = [
    "EU_SR_EI_COLUMNS",
    "EU_SUPPLY_SHARES_COLUMNS",
    "material_id",
    "read_eu_supply_shares",
    "read_global_supply_shares",
    "read_sr_ei",
]

EU_SUPPLY_SHARES_COLUMNS: list[str] = [
    "material",
    "stage",
    "country",
    "country_name",
    "share",
    "share_text",
    "t",
    "scope",
]
EU_SR_EI_COLUMNS: list[str] = ["material", "year", "sr", "ei"]

LESS_THAN_0_1_PCT = 0.0005
"""Share used for ``"<0.1%"``: the middle of the band [0, 0.001)."""

_MATERIAL_ALIASES: dict[str, str] = {
    "barytes": "baryte",
    "phosphorous": "phosphorus",
    "kaolin_clay": "kaolin",
    "hrees": "hree",
    "heavy_rare_earths_elements": "hree",
    "lrees": "lree",
    "light_rare_earths_elements": "lree",
    "pgms": "pgm",
    "borate": "boron",  # EU shares say "Borate", the SR/EI table "Boron"
}
_ENCODINGS = ("utf-8-sig", "cp1252")


def material_id(name: str) -> str:
    """Normalised id of an EU CRM material name (see the module docstring)."""
    base = slug(name)
    return _MATERIAL_ALIASES.get(base, base)


def _clean_text(series: pd.Series) -> pd.Series:
    return series.astype(str).map(lambda s: " ".join(s.split()))


def _shares(text: pd.Series, path: Path) -> pd.Series:
    """Fractions from published shares: ``"53.0%"`` -> 0.53, ``"<0.1%"`` -> 0.0005."""
    table: dict[str, float] = {}
    for raw in pd.unique(text.to_numpy()):
        s = str(raw).strip()
        if s in ("", "-", "\u2013", "\u2014", "n.a.", "NA"):
            table[str(raw)] = np.nan
            continue
        if re.fullmatch(r"<\s*0?\.1\s*%", s):
            table[str(raw)] = LESS_THAN_0_1_PCT
            continue
        match = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*%?", s)
        if match is None:
            raise SourceFormatError(path, f"share {s!r} is not a percentage")
        table[str(raw)] = float(match.group(1).replace(",", ".")) / 100.0
    return text.map(table).astype(float)


def _read_shares(path: str | Path, scope: str) -> pd.DataFrame:
    p = Path(path)
    frame = read_csv_text(p, encodings=_ENCODINGS)
    require_columns(frame, ["Material", "Stage", "Country", "Share", "t"], p)
    stage = frame["Stage"].str.strip().str.upper()
    bad_stage = sorted(set(stage) - {"E", "P"})
    if bad_stage:
        raise SourceFormatError(p, f"unknown Stage value(s) {bad_stage}; expected E or P")
    names = _clean_text(frame["Country"])
    country = map_iso3(names, p, "name")
    t_text = frame["t"].str.strip()
    t_values = pd.to_numeric(t_text.where(~t_text.isin(["", "-"]), None), errors="coerce")
    if (t_values.isna() & ~t_text.isin(["", "-"])).any():
        raise SourceFormatError(
            p, f"column 't' holds a non-number {t_text[t_values.isna()].iloc[0]!r}"
        )
    material = _clean_text(frame["Material"])
    out = pd.DataFrame(
        {
            "material": material,
            "stage": stage,
            "country": country,
            "country_name": names,
            "share": _shares(frame["Share"], p),
            "share_text": frame["Share"].str.strip(),
            "t": t_values.astype(float),
            "scope": scope,
            "material_id": material.map(material_id),
        }
    )
    return out.reset_index(drop=True)


def read_global_supply_shares(path: str | Path) -> pd.DataFrame:
    """Global supply shares by country and stage (``scope="global"``); see module docs."""
    return _read_shares(path, "global")


def read_eu_supply_shares(path: str | Path) -> pd.DataFrame:
    """EU sourcing shares by country and stage (``scope="eu"``); see module docs."""
    return _read_shares(path, "eu")


def read_sr_ei(path: str | Path) -> pd.DataFrame:
    """Supply risk (SR) and economic importance (EI) per material and assessment year.

    ``-`` (material not assessed that year) -> NaN. Raises SourceFormatError for missing
    columns, a non-numeric year or a non-numeric SR/EI.
    """
    p = Path(path)
    frame = read_csv_text(p, encodings=_ENCODINGS)
    require_columns(frame, ["Material", "Year", "SR", "EI"], p)
    years = pd.to_numeric(frame["Year"].str.strip(), errors="coerce")
    if years.isna().any():
        raise SourceFormatError(p, f"non-numeric Year {frame.loc[years.isna(), 'Year'].iloc[0]!r}")

    def numbers(col: str) -> pd.Series:
        text = frame[col].str.strip()
        missing = text.isin(["", "-", "\u2013", "\u2014"])
        values = pd.to_numeric(text.where(~missing, None), errors="coerce")
        if (values.isna() & ~missing).any():
            raise SourceFormatError(
                p, f"column {col!r} holds a non-number {text[values.isna() & ~missing].iloc[0]!r}"
            )
        return values.astype(float)

    material = _clean_text(frame["Material"])
    out = pd.DataFrame(
        {
            "material": material,
            "year": years.astype("int64"),
            "sr": numbers("SR"),
            "ei": numbers("EI"),
            "material_id": material.map(material_id),
        }
    )
    return out.reset_index(drop=True)
