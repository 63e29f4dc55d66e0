"""Shared helpers for the source readers: reading text tables, numbers as published, units.

Every function here turns a defect of a published file into either a clean value or a
:class:`critmin.errors.SourceFormatError` that names the file and the problem.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from critmin.countries import to_iso3
from critmin.errors import DataIntegrityError, SourceFormatError
from critmin.units import tonnes_factor

__all__ = [
    "MISSING_REASONS",
    "ParsedNumber",
    "drop_empty",
    "map_iso3",
    "mass_factor",
    "parse_csv_bytes",
    "parse_number",
    "parse_numbers",
    "read_bytes",
    "read_csv_text",
    "require_columns",
    "reviewed_rows",
    "slug",
]

MISSING_REASONS: dict[str, str] = {
    "W": "withheld to avoid disclosing company proprietary data",
    "NA": "not available",
    "--": "none, or zero not stated (published as '--', '—' or '-')",
    "blank": "cell left empty",
    "band": "published as a band ('>25', '<0.1%', '50–300'): value holds the lower bound",
    "XX": "not applicable (published as 'XX')",
    "E": "net exporter (net import reliance published as 'E')",
    "text": "qualitative text instead of a number ('Large', 'Small', ...)",
    "non_mass_unit": "published in a unit that is not a mass (cubic metres, litres)",
}
"""Every ``missing_reason`` a reader can emit, with its meaning."""

_DASHES = {"--", "-", "\u2014", "\u2013", "\u2212", "---", "\u2014\u2014"}
_NUMBER = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_BAND_GT = re.compile(rf"^(?:>|≥|more than|greater than|over)\s*(?P<n>{_NUMBER})\s*%?$", re.I)
_BAND_LT = re.compile(r"^(?:<|≤|less than|under)", re.I)
_RANGE = re.compile(rf"^(?P<lo>{_NUMBER})\s*(?:-|–|—|to)\s*(?P<hi>{_NUMBER})$")
_ESTIMATE = re.compile(rf"^e\s*(?P<n>{_NUMBER})$")


class ParsedNumber(NamedTuple):
    """A published cell: the number (NaN if none), why it is missing, the text, estimate flag."""

    value: float
    missing_reason: str | None
    text: str
    estimated: bool


def _to_float(text: str) -> float:
    cleaned = text.replace(",", "")
    if cleaned in ("", "+", "-", ".") or not any(ch.isdigit() for ch in cleaned):
        raise ValueError(text)
    return float(cleaned)


def parse_number(cell: object) -> ParsedNumber:
    """Parse one cell as published by USGS / EU / World Bank.

    Handles thousands separators (``"1,700"``), the Unicode minus (``"−88"``), the USGS
    estimate prefix (``"e150"``), bands (``">25"`` -> 25 with reason ``band``; ``"<1,000"`` and
    ``"Less than ½ unit"`` -> lower bound 0 with reason ``band``), ranges (``"50–300"`` -> 50,
    ``band``), and the markers ``W``, ``NA``, ``--``/``—``/``-``, ``XX``, ``E`` and empty
    cells. Anything else that is not a number is kept as text with reason ``text``.
    """
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return ParsedNumber(math.nan, "blank", "", False)
    if isinstance(cell, int | float | np.integer | np.floating) and not isinstance(cell, bool):
        return ParsedNumber(float(cell), None, str(cell), False)
    text = " ".join(str(cell).replace("\u00a0", " ").split())
    if not text:
        return ParsedNumber(math.nan, "blank", "", False)
    upper = text.upper().rstrip(".")
    if upper == "W":
        return ParsedNumber(math.nan, "W", text, False)
    if upper in ("NA", "N/A", "N.A", "NAN", "NOT AVAILABLE"):
        return ParsedNumber(math.nan, "NA", text, False)
    if text in _DASHES:
        return ParsedNumber(math.nan, "--", text, False)
    if upper == "XX":
        return ParsedNumber(math.nan, "XX", text, False)
    if upper == "E":
        return ParsedNumber(math.nan, "E", text, False)
    norm = text.replace("\u2212", "-")
    if _NUMBER_RE.match(norm):
        try:
            return ParsedNumber(_to_float(norm), None, text, False)
        except ValueError:
            pass
    match = _ESTIMATE.match(norm)
    if match:
        try:
            return ParsedNumber(_to_float(match["n"]), None, text, True)
        except ValueError:
            pass
    match = _BAND_GT.match(norm)
    if match:
        try:
            return ParsedNumber(_to_float(match["n"]), "band", text, False)
        except ValueError:
            pass
    if _BAND_LT.match(norm):
        return ParsedNumber(0.0, "band", text, False)
    match = _RANGE.match(norm)
    if match:
        try:
            return ParsedNumber(_to_float(match["lo"]), "band", text, False)
        except ValueError:
            pass
    return ParsedNumber(math.nan, "text", text, False)


def parse_numbers(cells: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`parse_number` (each distinct cell is parsed once).

    Returns a frame aligned with ``cells`` with columns ``value`` (float), ``missing_reason``
    (object: str or None), ``value_text`` (str) and ``estimated`` (bool).
    """
    keys = cells.astype(object).where(cells.notna(), "")
    uniques = pd.unique(keys.to_numpy())
    table = {u: parse_number(u) for u in uniques}
    parsed = [table[k] for k in keys.to_numpy()]
    return pd.DataFrame(
        {
            "value": np.array([p.value for p in parsed], dtype=float),
            "missing_reason": np.array([p.missing_reason for p in parsed], dtype=object),
            "value_text": np.array([p.text for p in parsed], dtype=object),
            "estimated": np.array([p.estimated for p in parsed], dtype=bool),
        },
        index=cells.index,
    )


def slug(text: str) -> str:
    """Lower-case ASCII identifier: ``"Rare earths "`` -> ``"rare_earths"``, ``&`` -> ``and``."""
    text = unicodedata.normalize("NFKD", str(text).replace("&", " and "))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")


# Mass units as they appear in headers and unit columns, beyond critmin.units.
_CARAT_T = 2e-7  # one metric carat is 200 mg exactly
_EXTRA_MASS: dict[str, float] = {
    "mmt": 1e6,
    "million metric tons": 1e6,
    "g": 1e-6,
    "grams": 1e-6,
    "ct": _CARAT_T,
    "carats": _CARAT_T,
    "kct": 1e3 * _CARAT_T,
    "thousand carats": 1e3 * _CARAT_T,
    "thousands of carats": 1e3 * _CARAT_T,
    "mct": 1e6 * _CARAT_T,
    "million carats": 1e6 * _CARAT_T,
}
_NON_MASS = {
    "mcm",
    "million cubic meters",
    "million cubic metres",
    "cubic meters",
    "million liters",
    "million litres",
    "liters",
}


def mass_factor(unit: str) -> float | None:
    """Factor from a published mass unit to metric tonnes; ``None`` for a known non-mass unit.

    Knows everything :func:`critmin.units.tonnes_factor` knows plus the USGS header tokens
    (``t``, ``kt``, ``kg``, ``Mt``/``mmt``), carats (1 ct = 200 mg exactly: ``kct``, ``mct``,
    ``"thousands of carats"``) and the gas volumes USGS uses for helium and rare gases
    (``mcm``, ``"million liters"``), for which it returns ``None``.

    Raises ``KeyError`` for an unknown unit; readers turn it into a SourceFormatError.
    """
    key = " ".join(str(unit).strip().split())
    if key == "Mt":
        return 1e6
    low = key.lower()
    if low in _NON_MASS:
        return None
    if low in _EXTRA_MASS:
        return _EXTRA_MASS[low]
    return tonnes_factor(low)


def read_bytes(path: str | Path) -> bytes:
    """Read a whole file (transparently gunzipping ``.gz``), with clear errors.

    Raises SourceFormatError when the path is missing, a directory, empty, or a broken gzip.
    """
    p = Path(path)
    if not p.exists():
        raise SourceFormatError(p, "file not found")
    if not p.is_file():
        raise SourceFormatError(p, "not a file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SourceFormatError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise SourceFormatError(p, f"corrupt gzip data ({exc})") from exc
    if not raw.strip():
        raise SourceFormatError(p, "the file is empty")
    return raw


def _decode(raw: bytes, path: Path, encodings: Sequence[str]) -> str:
    if b"\x00" in raw[:4096]:
        raise SourceFormatError(path, "binary data, not a CSV text file")
    if raw[:4] == b"PK\x03\x04":
        raise SourceFormatError(path, "a ZIP/XLSX archive, not a CSV text file")
    errors: list[str] = []
    for enc in encodings:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as exc:
            errors.append(f"{enc} fails at byte {exc.start}")
    raise SourceFormatError(path, "wrong text encoding: " + "; ".join(errors))


def read_csv_text(
    path: str | Path,
    *,
    encodings: Sequence[str] = ("utf-8-sig",),
    header: bool = True,
) -> pd.DataFrame:
    """Read a CSV as strings: every cell ``str`` (``""`` for empty), nothing converted.

    Tries ``encodings`` in order (a UTF-8 BOM is dropped with ``utf-8-sig``), then removes the
    empty trailing columns and rows many USGS files carry. With ``header=False`` the header
    line stays as row 0 and the columns are numbered, so duplicate or broken header names
    survive untouched. Raises SourceFormatError for a missing/empty/binary file, an
    undecodable encoding, or text that is not CSV.
    """
    p = Path(path)
    text = _decode(read_bytes(p), p, encodings)
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            header=0 if header else None,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise SourceFormatError(p, f"not a readable CSV table ({exc})") from exc
    frame = drop_empty(frame)
    if frame.empty:
        raise SourceFormatError(p, "the table holds no data rows")
    if header:
        frame.columns = pd.Index([str(c).strip() for c in frame.columns])
    return frame


def parse_csv_bytes(
    raw: bytes, path: Path, dtype: Mapping[str, type], *, kind: str = "a CSV file"
) -> pd.DataFrame:
    """Parse a UTF-8 CSV (BOM dropped) with pandas' type inference; header names stripped.

    ``dtype`` pins columns (code columns to ``str``, so leading zeros survive). Unlike
    :func:`read_csv_text` the cells are converted. Raises SourceFormatError for binary data
    ("binary data, not ``kind``"), text that is not UTF-8, or text that is not CSV.
    """
    if b"\x00" in raw[:4096]:
        raise SourceFormatError(path, f"binary data, not {kind}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(path, f"not UTF-8 text (byte {exc.start})") from exc
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=dict(dtype))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise SourceFormatError(path, f"not a readable CSV table ({exc})") from exc
    frame.columns = pd.Index([str(c).strip() for c in frame.columns])
    return frame


def drop_empty(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows whose cells are all blank and unnamed columns that are all blank."""
    blank = frame.apply(lambda col: col.astype(str).str.strip().eq(""))
    keep_rows = ~blank.all(axis=1)
    unnamed = [
        c
        for c in frame.columns
        if isinstance(c, int) or str(c).startswith("Unnamed:") or str(c).strip() == ""
    ]
    drop_cols = [c for c in unnamed if blank[c].all()]
    return frame.loc[keep_rows].drop(columns=drop_cols)


def map_iso3(values: pd.Series, path: Path, what: str) -> pd.Series:
    """Map country names or codes (strings) to ISO3, resolving each distinct value once.

    Raises SourceFormatError "unknown country ``what`` ..." for the first value
    :func:`critmin.countries.to_iso3` does not know (``what``: ``"name"`` or ``"code"``).
    """
    table: dict[str, str] = {}
    for value in pd.unique(values.to_numpy()):
        iso3 = to_iso3(str(value))
        if iso3 is None:
            raise SourceFormatError(path, f"unknown country {what} {value!r}")
        table[str(value)] = iso3
    return values.map(table)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: str | Path) -> None:
    """Raise SourceFormatError naming the missing columns (and the ones found)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in list(frame.columns)[:12])
        raise SourceFormatError(
            path, f"missing required column(s) {', '.join(map(repr, missing))}; found {found}"
        )


_CURATED = "critmin.data.curated"


@cache
def reviewed_rows(name: str, note: str = "reason") -> tuple[dict[str, str], ...]:
    """The rows of a reviewed crosswalk or correction the readers apply,
    ``critmin/data/curated/<name>.csv`` (read as a package file, as :mod:`critmin.countries`
    does: the readers sit below the catalog). Every row needs a non-blank ``note`` column."""
    try:
        text = resources.files(_CURATED).joinpath(f"{name}.csv").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataIntegrityError(f"curated file {name}.csv is missing; reinstall critmin") from None
    rows = tuple(csv.DictReader(io.StringIO(text, newline="")))
    for k, row in enumerate(rows, start=2):
        if not (row.get(note) or "").strip():
            raise DataIntegrityError(f"{name}.csv line {k}: blank {note} (every row needs one)")
    return rows
