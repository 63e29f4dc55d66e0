"""CEPII BACI bilateral trade flows (``flows`` schema).

:func:`read_baci` reads the three layouts found in ``../shared/data/trade``:

* the Critical Materials Atlas extract ``baci_2024_trade_with_qty.{parquet,csv}``: columns
  ``year, exporter, importer, hs6, value_kusd`` (thousand USD) and ``qty_t`` (tonnes), ISO3;
* the value-only files ``baci_<year>_value_only.csv``: columns ``i, j, cmd, value`` with ISO3
  codes and ``value`` in **USD** (no quantity; the year comes from the file name or the
  ``year=`` argument);
* the raw BACI release layout ``t, i, j, k, v, q``: numeric CEPII country codes, ``v`` in
  thousand USD, ``q`` in tonnes.

Output columns: ``year`` (int), ``hs6`` (6-character zero-padded str), ``exporter``,
``importer`` (ISO3), ``value_usd`` (float, USD), ``quantity_t`` (float, tonnes, NaN when not
given), ``source`` (``"BACI"``). CEPII's pseudo-code ``S19`` ("Other Asia, nes") is Taiwan
(``TWN``). Licence: Etalab Open Licence 2.0, attribution to CEPII.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.countries import m49_to_iso3, to_iso3
from critmin.errors import SourceFormatError
from critmin.sources._parse import parse_csv_bytes, read_bytes, require_columns
from critmin.units import USD_PER_KUSD

__all__ = ["FLOWS_COLUMNS", "hs6_codes", "iso3_codes", "read_baci"]

FLOWS_COLUMNS: list[str] = [
    "year",
    "hs6",
    "exporter",
    "importer",
    "value_usd",
    "quantity_t",
    "source",
]
"""The ``flows`` schema (docs/architecture.md), in order."""


def hs6_codes(codes: pd.Series, path: Path) -> pd.Series:
    """HS codes as 6-character zero-padded strings (``28369.0``/``"283691"`` -> ``"283691"``)."""
    text = codes.astype(str).str.strip().str.replace(r"\.0$", "", regex=True).str.zfill(6)
    bad = ~text.str.fullmatch(r"\d{6}")
    if bad.any():
        raise SourceFormatError(path, f"HS code {codes[bad].iloc[0]!r} is not a 6-digit code")
    return text


def iso3_codes(codes: pd.Series, path: Path, what: str) -> pd.Series:
    """Map a column of country codes/names to ISO3 (each distinct value resolved once)."""
    table: dict[object, str] = {}
    for code in pd.unique(codes.to_numpy()):
        numeric = isinstance(code, int | np.integer)
        iso3 = m49_to_iso3(int(code)) if numeric else to_iso3(str(code))
        if iso3 is None:
            raise SourceFormatError(path, f"unknown {what} country code {code!r}")
        table[code] = iso3
    return codes.map(table).astype(str)


def _year_from_name(path: Path) -> int | None:
    match = re.search(r"(?:baci|comtrade)[_-]?(\d{4})", path.name, re.I) or re.search(
        r"(?<!\d)(\d{4})(?!\d)", path.name
    )
    return int(match.group(1)) if match else None


def _read_frame(path: Path) -> pd.DataFrame:
    raw = read_bytes(path)
    if raw[:4] == b"PAR1" or path.suffix.casefold() == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise SourceFormatError(path, f"not a readable Parquet file ({exc})") from exc
    return parse_csv_bytes(
        raw,
        path,
        {"hs6": str, "cmd": str, "k": str, "i": str, "j": str},
        kind="a CSV or Parquet file",
    )


def _numeric(frame: pd.DataFrame, column: str, path: Path, required: bool = False) -> pd.Series:
    """A column as floats: every value a finite number >= 0 (a trade value or quantity), or
    missing where not ``required``. SourceFormatError naming the column, the value and its
    data row otherwise: a ``nan``, ``inf`` or negative value went into the dataset's flows."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        raise SourceFormatError(
            path, f"column {column!r} holds a non-number {frame.loc[bad, column].iloc[0]!r}"
        )
    values = values.astype(float)
    wrong = pd.Series(~np.isfinite(values.to_numpy()), index=values.index) | (values < 0)
    if not required:
        wrong &= values.notna()
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0])
        raise SourceFormatError(
            path,
            f"column {column!r} holds {str(frame[column].iloc[row])!r} in data row {row + 1}: "
            "expected a finite number >= 0" + (" on every row" if required else ""),
        )
    return values


def read_baci(path: str | Path, year: int | None = None) -> pd.DataFrame:
    """Read a BACI extract (atlas Parquet/CSV, value-only CSV, or raw ``t,i,j,k,v,q``).

    ``value_kusd`` and raw ``v`` are thousand USD (x 1000 -> ``value_usd``); the value-only
    ``value`` is already USD. ``qty_t`` / ``q`` are tonnes. For the value-only layout the
    year is ``year=`` or the 4 digits in the file name (``baci_2022_value_only.csv``). Raises
    SourceFormatError for an unreadable file, an unknown layout, a non-numeric value, a bad
    HS code, an unknown country code or a missing year.
    """
    p = Path(path)
    frame = _read_frame(p)
    if frame.empty:
        raise SourceFormatError(p, "the table holds no data rows")
    cols = set(frame.columns)
    if {"exporter", "importer", "hs6", "value_kusd"} <= cols:
        if year is None:
            require_columns(frame, ["year"], p)
        years = frame["year"] if "year" in cols else pd.Series(year, index=frame.index)
        out = pd.DataFrame(
            {
                "year": pd.to_numeric(years, errors="coerce"),
                "hs6": hs6_codes(frame["hs6"], p),
                "exporter": iso3_codes(frame["exporter"].astype(str), p, "exporter"),
                "importer": iso3_codes(frame["importer"].astype(str), p, "importer"),
                "value_usd": _numeric(frame, "value_kusd", p, required=True) * USD_PER_KUSD,
                "quantity_t": _numeric(frame, "qty_t", p)
                if "qty_t" in cols
                else pd.Series(np.nan, index=frame.index),
            }
        )
    elif {"i", "j", "cmd", "value"} <= cols:
        found = year if year is not None else _year_from_name(p)
        if found is None:
            raise SourceFormatError(
                p, "value-only BACI file without a year: pass year= or name it baci_<year>_..."
            )
        out = pd.DataFrame(
            {
                "year": found,
                "hs6": hs6_codes(frame["cmd"], p),
                "exporter": iso3_codes(frame["i"].astype(str), p, "exporter"),
                "importer": iso3_codes(frame["j"].astype(str), p, "importer"),
                "value_usd": _numeric(frame, "value", p, required=True),
                "quantity_t": np.nan,
            },
            index=frame.index,
        )
    elif {"t", "i", "j", "k", "v"} <= cols:
        codes_i = pd.to_numeric(frame["i"], errors="coerce")
        codes_j = pd.to_numeric(frame["j"], errors="coerce")
        if codes_i.isna().any() or codes_j.isna().any():
            raise SourceFormatError(p, "raw BACI country codes i/j must be numeric")
        out = pd.DataFrame(
            {
                "year": pd.to_numeric(frame["t"], errors="coerce"),
                "hs6": hs6_codes(frame["k"], p),
                "exporter": iso3_codes(codes_i.astype("int64"), p, "exporter"),
                "importer": iso3_codes(codes_j.astype("int64"), p, "importer"),
                "value_usd": _numeric(frame, "v", p, required=True) * USD_PER_KUSD,
                "quantity_t": _numeric(frame, "q", p)
                if "q" in cols
                else pd.Series(np.nan, index=frame.index),
            }
        )
    else:
        raise SourceFormatError(
            p,
            "unknown BACI layout: expected columns (exporter, importer, hs6, value_kusd), "
            f"(i, j, cmd, value) or (t, i, j, k, v, q); found {sorted(map(str, cols))}",
        )
    if out["year"].isna().any():
        raise SourceFormatError(p, "a row has no numeric year")
    out["year"] = out["year"].astype("int64")
    out["value_usd"] = out["value_usd"].astype(float)
    out["quantity_t"] = out["quantity_t"].astype(float)
    out["source"] = "BACI"
    return out[FLOWS_COLUMNS].reset_index(drop=True)
