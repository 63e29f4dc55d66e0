"""UN Comtrade bulk rows as pulled by the Critical Materials Atlas (``flows`` schema + extras).

:func:`read_comtrade_bulk` reads ``comtrade_<year>.csv.gz``: columns ``[year,] reporter,
partner`` (M49 numeric; partner 0 = World), ``cmd`` (HS6), ``flow`` (``M`` import / ``X``
export), ``value`` (primaryValue, USD), ``netwgt`` (kg) and optionally ``qty, qtyunit``.

Source defects handled (SOURCES.md 8b): about 54 % of rows are exact duplicates, and the pull
did not filter transport mode or customs procedure, so a flow appears as a total row plus
its breakdown rows. The reader drops exact duplicates first, then keeps the row with the
**maximum** value per (reporter, partner, cmd, flow), never a sum; ``quantity_t`` is the net
weight of that same row / 1000. A net weight of 0 next to a positive value is read as "not
reported" (NaN). Comtrade's own M49 codes (842 USA, 251 FRA, 699 IND, 757 CHE, 579 NOR, 490
Taiwan) are mapped with :func:`critmin.countries.m49_to_iso3`.

Terms: UN Comtrade data may not be redistributed in bulk; critmin uses it for checks and
estimates only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from critmin.countries import m49_to_iso3
from critmin.errors import SourceFormatError
from critmin.sources._parse import parse_csv_bytes, read_bytes, require_columns
from critmin.sources.baci import FLOWS_COLUMNS, _year_from_name, hs6_codes
from critmin.units import TONNES_PER_KG

__all__ = ["COMTRADE_API_COLUMNS", "COMTRADE_COLUMNS", "read_comtrade_api", "read_comtrade_bulk"]

COMTRADE_COLUMNS: list[str] = [*FLOWS_COLUMNS, "flow", "reporter", "partner"]
"""``flows`` plus the reporter's view: ``flow`` (M/X), ``reporter`` and ``partner`` (ISO3)."""

_KEY = ["reporter", "partner", "cmd", "flow"]


def read_comtrade_bulk(
    path: str | Path,
    year: int | None = None,
    include_world: bool = False,
) -> pd.DataFrame:
    """Read a Comtrade bulk file, deduplicated, as reporter-view bilateral flows.

    Each output row is one reported flow: for ``flow == "X"`` the exporter is the reporter,
    for ``"M"`` the importer is. Rows with partner 0 (World) are dropped unless
    ``include_world=True`` (then ``partner``/``exporter``/``importer`` is ``"WLD"``). Rows whose
    reporter or partner is not a country (regional "nes" areas, bunkers, free zones) are
    dropped; their count is in ``result.attrs["dropped_non_country_rows"]``. Flows other than
    M and X (re-exports/re-imports) are dropped. The year is the ``year`` column, else
    ``year=``, else the 4 digits in the file name.
    """
    p = Path(path)
    frame = parse_csv_bytes(read_bytes(p), p, {"flow": str, "cmd": str})
    require_columns(frame, ["reporter", "partner", "cmd", "flow", "value"], p)
    if frame.empty:
        raise SourceFormatError(p, "the table holds no data rows")
    if "year" in frame.columns:
        years = pd.to_numeric(frame["year"], errors="coerce")
        if years.isna().any():
            raise SourceFormatError(p, "a row has no numeric year")
    else:
        found = year if year is not None else _year_from_name(p)
        if found is None:
            raise SourceFormatError(p, "no year column: pass year= or name it comtrade_<year>...")
        years = pd.Series(found, index=frame.index)
    frame = frame.assign(year=years.astype("int64"))
    for col in ("reporter", "partner"):
        codes = pd.to_numeric(frame[col], errors="coerce")
        if codes.isna().any():
            raise SourceFormatError(p, f"column {col!r} must hold numeric M49 codes")
        frame[col] = codes.astype("int64")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    if frame["value"].isna().any():
        raise SourceFormatError(p, "column 'value' holds a non-number")
    if "netwgt" not in frame.columns:
        frame["netwgt"] = np.nan
    frame["netwgt"] = pd.to_numeric(frame["netwgt"], errors="coerce")
    frame["flow"] = frame["flow"].astype(str).str.strip().str.upper()
    frame["cmd"] = hs6_codes(frame["cmd"], p)

    # 1. exact duplicates; 2. the max-value row per key (a total beside its breakdown rows).
    frame = frame.drop_duplicates()
    frame = frame.loc[frame["flow"].isin(["M", "X"])]
    order = frame.sort_values("value", ascending=False, kind="mergesort")
    best = order.drop_duplicates(subset=["year", *_KEY], keep="first")

    all_codes = np.concatenate([best["reporter"].to_numpy(), best["partner"].to_numpy()])
    iso = {int(c): m49_to_iso3(int(c)) for c in np.unique(all_codes)}
    reporter = best["reporter"].map(iso)
    partner = best["partner"].map(iso)
    world = partner.eq("WLD")
    keep = reporter.notna() & partner.notna() & reporter.ne("WLD")
    dropped = int((~keep).sum())
    if not include_world:
        keep &= ~world
    best = best.loc[keep]
    reporter = reporter.loc[keep].astype(str)
    partner = partner.loc[keep].astype(str)
    is_export = best["flow"].eq("X")
    netwgt = best["netwgt"].where(~(best["netwgt"].eq(0) & best["value"].gt(0)))
    out = pd.DataFrame(
        {
            "year": best["year"].astype("int64"),
            "hs6": best["cmd"],
            "exporter": reporter.where(is_export, partner),
            "importer": partner.where(is_export, reporter),
            "value_usd": best["value"].astype(float),
            "quantity_t": (netwgt * TONNES_PER_KG).astype(float),
            "source": "UN Comtrade",
            "flow": best["flow"],
            "reporter": reporter,
            "partner": partner,
        }
    )
    out = out.sort_values(["year", "hs6", "reporter", "flow", "partner"], kind="mergesort")
    out = out[COMTRADE_COLUMNS].reset_index(drop=True)
    out.attrs["dropped_non_country_rows"] = dropped
    return out


COMTRADE_API_COLUMNS: list[str] = [
    "year",
    "code",
    "reporter",
    "partner",
    "flow",
    "value_usd",
    "quantity_t",
]
"""Reporter-view rows of a Comtrade API extract: ``code`` is the HS code as queried (4 or 6
digits), ``partner`` ``"WLD"`` for the world total, ``quantity_t`` the net weight in tonnes."""


def read_comtrade_api(path: str | Path) -> pd.DataFrame:
    """Read a UN Comtrade v1 API extract (``comtrade_cmm_gold_qa/*_trade_data.csv``).

    Keeps the total row of each flow (``motCode == 0`` and ``customsCode == "C00"``; the API
    repeats every flow with mode-of-transport 9900), maps M49 codes to ISO3 (partner 0 ->
    ``"WLD"``), and converts ``netWgt`` kg to tonnes (0 next to a positive value -> NaN).
    Values are ``primaryValue`` (USD). Terms: UN Comtrade rows may not be redistributed;
    critmin uses them for checks and for aggregate unit values only.
    """
    p = Path(path)
    frame = parse_csv_bytes(read_bytes(p), p, {"cmdCode": str, "customsCode": str})
    require_columns(
        frame,
        ["refYear", "reporterCode", "partnerCode", "flowCode", "cmdCode", "primaryValue"],
        p,
    )
    if frame.empty:
        raise SourceFormatError(p, "the table holds no data rows")
    if "motCode" in frame.columns:
        frame = frame[pd.to_numeric(frame["motCode"], errors="coerce").fillna(0).eq(0)]
    if "customsCode" in frame.columns:
        frame = frame[frame["customsCode"].fillna("C00").astype(str).str.strip().eq("C00")]
    frame = frame.drop_duplicates(
        subset=["refYear", "reporterCode", "partnerCode", "flowCode", "cmdCode"]
    )
    codes = np.unique(
        np.concatenate([frame["reporterCode"].to_numpy(), frame["partnerCode"].to_numpy()])
    )
    iso = {int(c): ("WLD" if int(c) == 0 else m49_to_iso3(int(c))) for c in codes}
    value = pd.to_numeric(frame["primaryValue"], errors="coerce").astype(float)
    weights = frame["netWgt"] if "netWgt" in frame.columns else pd.Series(np.nan, frame.index)
    netwgt = pd.to_numeric(weights, errors="coerce").astype(float)
    netwgt = netwgt.where(~(netwgt.eq(0) & value.gt(0)))
    out = pd.DataFrame(
        {
            "year": pd.to_numeric(frame["refYear"], errors="coerce").astype("int64"),
            "code": frame["cmdCode"].astype(str).str.strip(),
            "reporter": frame["reporterCode"].map(lambda c: iso[int(c)]),
            "partner": frame["partnerCode"].map(lambda c: iso[int(c)]),
            "flow": frame["flowCode"].astype(str).str.strip().str.upper(),
            "value_usd": value,
            "quantity_t": netwgt * TONNES_PER_KG,
        }
    )
    out = out[out["reporter"].notna() & out["partner"].notna()]
    return out[COMTRADE_API_COLUMNS].reset_index(drop=True)
