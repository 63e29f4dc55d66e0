"""USGS Mineral Commodity Summaries: U.S. salient statistics (``us_salient`` schema).

* :func:`read_salient_csv`: the per-commodity ``mcs20XX-<code>_salient.csv`` files of the
  MCS2022 (subset), 2023, 2024 and 2025 data releases (wide: ``Year`` plus one column per
  statistic, e.g. ``USprod_t, Imports_t, Exports_t, Consump_t, Price_dt, NIR_pct``).
* :func:`read_mcs2026_salient`: the "Salient Statistics—United States" rows of
  ``MCS2026_Commodities_Data.csv`` (long, cp1252).

Columns (docs/architecture.md): ``mineral, commodity, year, statistic, value, value_text,
unit, missing_reason, edition, source_file, source_row``, then extras ``detail`` (the
qualifier of the statistic, e.g. ``mine`` for ``USprod_Mine_t``), ``unit_source`` (the unit
as published), ``source_column`` (the header or Statistics_detail it came from) and
``estimated``.

Units are converted once: masses to ``t``; prices per mass to ``USD/t`` (from $/t, $/lb,
cents/lb, $/kg, $/g, $/short ton, $/troy oz); million dollars to ``USD``; percentages stay
``percent``, counts ``number``; carats, gas volumes, $/carat, indexes and the like keep their
published unit (``carat``, ``million m3``, ``USD/carat``...). A header whose unit cannot be
recognised keeps ``unit="unknown"`` and the raw number (nothing is converted by guess).

Source defects handled: UTF-8 BOM and empty trailing columns; headers that vary per
commodity and glue the unit to the word (``USprod_Minet``, ``Imports_Metalkg``); headers
broken by the publisher's export as ``"CASE STATEMENT ERROR..."`` (MCS2023 phosphate rock,
MCS2024 aluminum, chromium, iron oxide pigments; not listed in SOURCES.md), sometimes
duplicated; bands (``">25"`` -> 25, reason ``band``; ``"<1,000"`` -> 0, ``band``), ``W``, ``NA``,
``E`` (net exporter), ``XX``, ``"Less than ½ unit"``, ``"e150"`` (estimate), ``"−88"``
(Unicode minus); an empty ``DataSource`` (edition then from the file name); and files that
hold a world-production table instead of salient data (MCS2024 cobalt, gypsum, kyanite),
which are rejected with SourceFormatError; headers with fewer columns than the data rows
(MCS2024 fluorspar: NIR would be read as 360, the metallurgical price, instead of 100;
MCS2024 feldspar: 240 instead of 12), read with the reviewed header of
``data/curated/usgs_salient_headers.csv`` (any other such file is rejected, naming the row
and column, instead of being read shifted).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.errors import SourceFormatError
from critmin.sources._parse import parse_numbers, read_csv_text, reviewed_rows, slug
from critmin.sources.usgs_mcs import mineral_id, read_mcs2026_table

__all__ = ["US_SALIENT_COLUMNS", "read_mcs2026_salient", "read_salient_csv"]

US_SALIENT_COLUMNS: list[str] = [
    "mineral",
    "commodity",
    "year",
    "statistic",
    "value",
    "value_text",
    "unit",
    "missing_reason",
    "edition",
    "source_file",
    "source_row",
]
"""The ``us_salient`` schema (docs/architecture.md), in order."""

_EXTRA = ["detail", "unit_source", "source_column", "estimated"]

_LB_T = 0.45359237e-3  # tonnes per avoirdupois pound
_SHORT_TON_T = 0.90718474  # tonnes per short ton
_TROY_OZ_T = 31.1034768e-6  # tonnes per troy ounce

# Header unit tokens -> (factor to the canonical unit, canonical unit).
_TOKEN_UNITS: dict[str, tuple[float, str]] = {
    "t": (1.0, "t"),
    "kt": (1e3, "t"),
    "kg": (1e-3, "t"),
    "g": (1e-6, "t"),
    "mmt": (1e6, "t"),
    "dt": (1.0, "USD/t"),
    "dlb": (1 / _LB_T, "USD/t"),
    "ctslb": (0.01 / _LB_T, "USD/t"),
    "dkg": (1e3, "USD/t"),
    "dg": (1e6, "USD/t"),
    "dst": (1 / _SHORT_TON_T, "USD/t"),
    "dto": (1 / _TROY_OZ_T, "USD/t"),
    "dtoz": (1 / _TROY_OZ_T, "USD/t"),
    "pct": (1.0, "percent"),
    "num": (1.0, "number"),
    "mdol": (1e6, "USD"),
    "mct": (1e6, "carat"),
    "kct": (1e3, "carat"),
    "dct": (1.0, "USD/carat"),
    "mcm": (1.0, "million m3"),
    "msqft": (1.0, "million sq ft"),
    "index": (1.0, "index"),
}
_GLUED_UNITS = sorted(_TOKEN_UNITS, key=len, reverse=True)

# MCS2026 long unit names -> (factor, canonical unit).
_LONG_UNITS: dict[str, tuple[float, str]] = {
    "metric tons": (1.0, "t"),
    "tons": (1.0, "t"),
    "thousand metric tons": (1e3, "t"),
    "thousand metric dry tons": (1e3, "t"),
    "million metric tons": (1e6, "t"),
    "kilograms": (1e-3, "t"),
    "dollars per metric ton": (1.0, "USD/t"),
    "dollars per ton": (1.0, "USD/t"),
    "dollars per short ton": (1 / _SHORT_TON_T, "USD/t"),
    "dollars per pound": (1 / _LB_T, "USD/t"),
    "cents per pound": (0.01 / _LB_T, "USD/t"),
    "dollars per kilogram": (1e3, "USD/t"),
    "dollars per gram": (1e6, "USD/t"),
    "dollars per 10-grams": (1e5, "USD/t"),
    "dollars per 25 grams": (4e4, "USD/t"),
    "dollars per 50 grams": (2e4, "USD/t"),
    "dollars per troy ounce": (1 / _TROY_OZ_T, "USD/t"),
    "percent": (1.0, "percent"),
    "number": (1.0, "number"),
    "million dollars": (1e6, "USD"),
    "million carats": (1e6, "carat"),
    "thousands of carats": (1e3, "carat"),
    "dollars per carat": (1.0, "USD/carat"),
    "million cubic meters": (1.0, "million m3"),
    "million liters": (1.0, "million L"),
    "index": (1.0, "index"),
    "dollars per dry metric ton unit": (1.0, "USD/dmtu"),
    "dollars per 100 mililiters": (1.0, "USD/100 mL"),
    "dollars per 100 milliliters": (1.0, "USD/100 mL"),
}

# First header word -> statistic name of the schema.
_STATISTICS: dict[str, str] = {
    "usprod": "production",
    "prod": "production",
    "production": "production",
    "imports": "imports",
    "exports": "exports",
    "consump": "consumption",
    "consumption": "consumption",
    "price": "price",
    "nir": "nir_pct",
    "stocks": "stocks",
    "employment": "employment",
    "shipments": "shipments",
}
_MCS2026_STATISTICS: dict[str, str] = {
    "production": "production",
    "import": "imports",
    "export": "exports",
    "consumption": "consumption",
    "price": "price",
    "net import reliance": "nir_pct",
    "stock": "stocks",
    "employment": "employment",
    "shipment": "shipments",
}
_CASE_ERROR = "CASE STATEMENT ERROR"


class _SalientColumn:
    """A parsed salient header: statistic, detail, unit token and conversion."""

    def __init__(self, header: str) -> None:
        self.header = header
        text = header.replace('"', "").strip()
        broken = text.startswith(_CASE_ERROR)
        if broken:
            text = text[len(_CASE_ERROR) :]
        tokens = [t for t in re.split(r"_+", text) if t]
        unit_token = ""
        if tokens and tokens[-1].casefold() in _TOKEN_UNITS:
            unit_token = tokens.pop().casefold()
        elif tokens:
            for unit in _GLUED_UNITS:
                last = tokens[-1]
                if last.endswith(unit) and len(last) > len(unit) and last[-len(unit) - 1].isalpha():
                    tokens[-1] = last[: -len(unit)]
                    unit_token = unit
                    break
        self.unit_source = unit_token
        if unit_token:
            self.factor, self.unit = _TOKEN_UNITS[unit_token]
        else:
            self.factor, self.unit = 1.0, "unknown"
        statistic = ""
        detail_tokens = list(tokens)
        for i, tok in enumerate(tokens[:2]):
            key = tok.casefold()
            glued = re.match(r"^(usprod)(.+)$", key)
            if key in _STATISTICS:
                statistic = _STATISTICS[key]
                detail_tokens = tokens[:i] + tokens[i + 1 :]
                break
            if glued:
                statistic = "production"
                detail_tokens = [*tokens[:i], tok[len("USprod") :], *tokens[i + 1 :]]
                break
        if not statistic:
            if self.unit in ("USD/t", "USD/carat"):
                statistic = "price"
            elif self.unit == "percent":
                statistic = "nir_pct"
            else:
                statistic = slug(" ".join(tokens)) or "unlabelled"
                detail_tokens = []
        self.statistic = statistic
        self.detail = slug(" ".join(detail_tokens))


def _edition(values: pd.Series, path: Path) -> str:
    found = {re.sub(r"\s+", "", v).upper() for v in values if v.strip()}
    if len(found) > 1:
        raise SourceFormatError(path, f"several editions in one file: {sorted(found)}")
    if found:
        edition = found.pop()
    else:
        match = re.search(r"mcs[ _-]?(\d{4})", path.name, re.I)
        if match is None:
            raise SourceFormatError(path, "cannot tell the MCS edition (DataSource is empty)")
        edition = f"MCS{match.group(1)}"
    if not re.fullmatch(r"MCS\d{4}", edition):
        raise SourceFormatError(path, f"unexpected edition {edition!r} in DataSource")
    return edition


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame["year"] = frame["year"].astype("int64")
    frame["source_row"] = frame["source_row"].astype("int64")
    frame["value"] = frame["value"].astype(float)
    frame["estimated"] = frame["estimated"].astype(bool)
    frame["missing_reason"] = frame["missing_reason"].astype(object)
    frame["missing_reason"] = frame["missing_reason"].where(frame["missing_reason"].notna(), None)
    return frame[US_SALIENT_COLUMNS + _EXTRA]


def _minerals(commodity: pd.Series, detail: pd.Series) -> pd.Series:
    keys = pd.DataFrame({"c": commodity.astype(str), "d": detail.astype(str)})
    table = {(c, d): mineral_id(c, d) for c, d in keys.drop_duplicates().itertuples(index=False)}
    return pd.Series(
        [table[(c, d)] for c, d in keys.itertuples(index=False)], index=commodity.index
    )


def _corrected_header(path: Path, header: list[str]) -> list[str]:
    """The file's header, or its reviewed correction (``data/curated/usgs_salient_headers.csv``:
    the published header, the corrected one, the reason). A correction whose published header
    no longer matches the file is an error, not silently skipped."""
    for row in reviewed_rows("usgs_salient_headers"):
        if row["source_file"].casefold() != path.name.casefold():
            continue
        published = row["published_header"].split(";")
        found = list(header)
        while found and not found[-1]:
            found.pop()
        if found != published:
            raise SourceFormatError(
                path,
                "the reviewed header correction (usgs_salient_headers.csv) expects the header "
                f"{';'.join(published)!r}, found {';'.join(found)!r}",
            )
        corrected = row["corrected_header"].split(";")
        if len(corrected) > len(header):
            raise SourceFormatError(path, "the corrected header is wider than the data rows")
        return corrected + [""] * (len(header) - len(corrected))
    return header


def _require_headers_for_data(body: pd.DataFrame, header: list[str], path: Path) -> None:
    """Refuse data cells under no header: the header has fewer columns than the data rows,
    so every statistic after the gap would be read from its neighbour's cell."""
    unnamed = [i for i, h in enumerate(header) if not h]
    if not unnamed:
        return
    filled = body[unnamed].apply(lambda c: c.str.strip().ne(""))
    if bool(filled.to_numpy().any()):
        row = int(filled.any(axis=1).idxmax())
        col = int(filled.loc[row].idxmax())
        raise SourceFormatError(
            path,
            f"data row {row} has a value in column {col + 1}, which has no header: the header "
            f"has fewer columns ({sum(1 for h in header if h)} named) than the data rows; "
            "add a reviewed correction to data/curated/usgs_salient_headers.csv",
        )


def read_salient_csv(path: str | Path) -> pd.DataFrame:
    """Read one per-commodity salient-statistics file (``mcs20XX-<code>_salient.csv``).

    Each non-identifier column is one statistic: its first word gives ``statistic``
    (``USprod`` -> production, ``Imports``, ``Exports``, ``Consump`` -> consumption, ``Price``,
    ``NIR`` -> nir_pct, ``Stocks``, ``Employment``, ``Shipments``; anything else a slug of the
    header), the middle words ``detail``, the last word the unit. Raises SourceFormatError
    for a file without ``Year``/``Commodity`` columns, in particular the MCS2024 cobalt,
    gypsum and kyanite "salient" files that actually hold world-production tables.
    """
    p = Path(path)
    raw = read_csv_text(p, header=False)
    header = _corrected_header(p, [str(h).strip() for h in raw.iloc[0]])
    names = {h.casefold() for h in header}
    if {"country", "type"} <= names or "year" not in names:
        raise SourceFormatError(
            p,
            "does not hold U.S. salient statistics (no 'Year' column; header "
            f"{', '.join(map(repr, header[:5]))} is a world-production table)",
        )
    if "commodity" not in names:
        raise SourceFormatError(p, "missing required column 'Commodity'")
    index = {h.casefold(): i for i, h in enumerate(header) if h}
    body = raw.iloc[1:].copy()
    body.columns = pd.Index(range(len(header)))
    _require_headers_for_data(body, header, p)
    years_txt = body[index["year"]].str.strip()
    ident = {index["year"], index["commodity"]}
    source_col = index.get("datasource", index.get("source"))
    if source_col is not None:
        ident.add(source_col)
    value_cols = [i for i, h in enumerate(header) if h and i not in ident]
    blank_year = years_txt.eq("")
    if blank_year.any():
        stray = body.loc[blank_year, value_cols].apply(lambda c: c.str.strip().ne("")).any(axis=1)
        if stray.any():
            row = int(stray[stray].index[0])
            raise SourceFormatError(p, f"data row {row} has values but no Year")
        body = body.loc[~blank_year]
        years_txt = years_txt.loc[~blank_year]
    years = pd.to_numeric(years_txt, errors="coerce")
    if years.isna().any() or body.empty:
        bad = years_txt[years.isna()].iloc[0] if years.isna().any() else ""
        raise SourceFormatError(p, f"Year is not a year: {bad!r}" if bad else "no data rows")
    edition = _edition(body[source_col] if source_col is not None else pd.Series([], dtype=str), p)
    commodity = body[index["commodity"]].str.strip()
    parts: list[pd.DataFrame] = []
    for col in value_cols:
        cells = body[col]
        if cells.str.strip().eq("").all():
            continue
        spec = _SalientColumn(header[col])
        parsed = parse_numbers(cells)
        parts.append(
            pd.DataFrame(
                {
                    "commodity": commodity,
                    "year": years.astype("int64"),
                    "statistic": spec.statistic,
                    "value": parsed["value"] * spec.factor,
                    "value_text": parsed["value_text"],
                    "unit": spec.unit,
                    "missing_reason": parsed["missing_reason"],
                    "edition": edition,
                    "source_file": p.name,
                    "source_row": body.index.to_numpy(),
                    "detail": spec.detail,
                    "unit_source": spec.unit_source,
                    "source_column": spec.header,
                    "estimated": parsed["estimated"],
                },
                index=body.index,
            )
        )
    if not parts:
        raise SourceFormatError(p, "no statistic columns with data")
    out = pd.concat(parts, ignore_index=True)
    out["mineral"] = _minerals(out["commodity"], out["detail"])
    return _finish(out)


def read_mcs2026_salient(path: str | Path) -> pd.DataFrame:
    """U.S. salient statistics from ``MCS2026_Commodities_Data.csv`` (us_salient schema).

    Keeps the rows of Section "Salient Statistics—United States". ``Statistics`` gives the
    statistic (Production, Import -> imports, Export -> exports, Consumption, Price, Net
    import reliance -> nir_pct, Stock -> stocks, or ``stock_change`` when the detail says
    "change", Employment, Shipment -> shipments; others slugged), ``Statistics_detail`` the
    detail, ``Unit`` the unit (converted as described in the module docstring).
    """
    p = Path(path)
    table = read_mcs2026_table(p)
    rows = table.loc[table["Section"].str.casefold().str.startswith("salient statistics")]
    if rows.empty:
        raise SourceFormatError(p, "no 'Salient Statistics—United States' rows")
    years = pd.to_numeric(rows["Year"].str.strip(), errors="coerce")
    if years.isna().any():
        raise SourceFormatError(
            p, f"salient row with a non-numeric Year {rows.loc[years.isna(), 'Year'].iloc[0]!r}"
        )
    stat_key = rows["Statistics"].str.casefold()
    statistic = stat_key.map(_MCS2026_STATISTICS)
    statistic = statistic.where(statistic.notna(), stat_key.map(slug))
    change = rows["Statistics_detail"].str.contains(r"\bchange\b", case=False, na=False)
    statistic = statistic.where(~(statistic.eq("stocks") & change), "stock_change")
    units: dict[str, tuple[float, str]] = {}
    for unit in pd.unique(rows["Unit"].to_numpy()):
        key = " ".join(str(unit).split()).casefold()
        units[str(unit)] = _LONG_UNITS.get(key, (1.0, "unknown"))
    factor = rows["Unit"].map(lambda u: units[u][0]).astype(float)
    parsed = parse_numbers(rows["Value"])
    out = pd.DataFrame(
        {
            "commodity": rows["Commodity"],
            "year": years.astype("int64"),
            "statistic": statistic.astype(str),
            "value": parsed["value"] * factor,
            "value_text": parsed["value_text"],
            "unit": rows["Unit"].map(lambda u: units[u][1]),
            "missing_reason": parsed["missing_reason"],
            "edition": "MCS2026",
            "source_file": p.name,
            "source_row": rows["source_row"],
            "detail": rows["Statistics_detail"],
            "unit_source": rows["Unit"],
            "source_column": rows["Statistics_detail"],
            "estimated": parsed["estimated"]
            | rows["Notes"].str.contains(r"\bestimated?\b", case=False, na=False).to_numpy(),
        },
        index=rows.index,
    )
    out["mineral"] = _minerals(out["commodity"], out["detail"])
    out["estimated"] = np.asarray(out["estimated"], dtype=bool)
    return _finish(out)
