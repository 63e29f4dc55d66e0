"""A CEPII BACI release as published, read with DuckDB (streaming: a year never sits in pandas).

A release (``BACI_HS17_V202601.zip`` or its extracted folder) holds:

* ``BACI_HS17_Y{year}_V202601.csv``, one per year, header ``t,i,j,k,v,q``: ``t`` the year,
  ``i``/``j`` exporter/importer (CEPII numeric codes), ``k`` the HS6 code (an integer in the
  file, so ``010121`` is written ``10121``), ``v`` thousand USD, ``q`` metric tonnes (blank or
  ``NA`` padded with spaces where unknown);
* ``country_codes_V202601.csv``: ``country_code,country_name,country_iso2,country_iso3``;
* ``product_codes_HS17_V202601.csv``: ``code,description``.

:func:`open_release` finds and checks those files (a zip is extracted member by member to a
temporary folder, streaming); :func:`flows_query` is the DuckDB SQL that turns the year files
into the ``flows`` schema. Licence: Etalab Open Licence 2.0, attribution to CEPII.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from critmin.countries import m49_to_iso3, to_iso3
from critmin.errors import SourceFormatError

__all__ = ["BaciRelease", "country_table", "flows_query", "open_release"]

YEAR_FILE = re.compile(r"^BACI_(HS\d\d)_Y(\d{4})_V(\d+)\.csv$")
COUNTRY_FILE = re.compile(r"^country_codes_V(\d+)\.csv$")
PRODUCT_FILE = re.compile(r"^product_codes_(HS\d\d)_V(\d+)\.csv$")
YEAR_HEADER = ["t", "i", "j", "k", "v", "q"]
COUNTRY_HEADER = ["country_code", "country_name", "country_iso2", "country_iso3"]
PRODUCT_HEADER = ["code", "description"]
CEPII_PSEUDO_ISO3 = {"S19": "TWN"}
"""CEPII's pseudo ISO3 codes: S19 "Other Asia, nes" is Taiwan."""


@dataclass(frozen=True)
class BaciRelease:
    """The files of one release, checked: HS vintage, release tag, one CSV per year."""

    path: Path
    folder: Path
    hs: str
    release: str
    years: dict[int, Path] = field(default_factory=dict)
    country_codes: Path = Path()
    product_codes: Path = Path()


def _header(path: Path, expected: list[str]) -> None:
    try:
        with path.open("r", encoding="utf-8-sig", errors="strict") as f:
            first = f.readline()
    except UnicodeDecodeError:
        raise SourceFormatError(path, "not a UTF-8 CSV file (a BACI release file?)") from None
    got = [c.strip().strip('"').lower() for c in first.strip().split(",")]
    if got != expected:
        raise SourceFormatError(
            path, f"header {first.strip()[:80]!r} is not the BACI header {','.join(expected)!r}"
        )


def _extract(zip_path: Path, into: Path) -> Path:
    """Extract the release's CSV members, streaming (``shutil.copyfileobj``), into ``into``."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                name = Path(info.filename).name
                if not name.lower().endswith(".csv"):
                    continue
                with zf.open(info) as src, (into / name).open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as err:
        raise SourceFormatError(zip_path, f"not a readable zip file ({err}): truncated?") from err
    except zipfile.error as err:  # pragma: no cover - alias of BadZipFile on some versions
        raise SourceFormatError(zip_path, f"not a readable zip file ({err})") from err
    return into


def open_release(path: Path, scratch: Path) -> BaciRelease:
    """Find and check a release's files in a folder, or in a zip extracted into ``scratch``."""
    path = Path(path).expanduser()
    if not path.exists():
        from critmin.util import why_missing

        missing = why_missing(path)
        raise SourceFormatError(
            path,
            ("not found" if missing == "does not exist" else missing)
            + " (expected a BACI zip or its extracted folder)",
        )
    if path.is_dir():
        folder = path
    else:
        if not zipfile.is_zipfile(path):
            raise SourceFormatError(path, "not a zip file nor a folder: is this a BACI release?")
        folder = _extract(path, scratch)
    years: dict[int, Path] = {}
    tags: set[tuple[str, str]] = set()
    countries: Path | None = None
    products: Path | None = None
    for p in sorted(folder.rglob("*.csv")):
        if m := YEAR_FILE.match(p.name):
            years[int(m.group(2))] = p
            tags.add((m.group(1), m.group(3)))
        elif COUNTRY_FILE.match(p.name):
            countries = p
        elif PRODUCT_FILE.match(p.name):
            products = p
    if not years:
        raise SourceFormatError(
            path, "no BACI_HS??_Y????_V??????.csv year file: not a CEPII BACI release"
        )
    if len(tags) > 1:
        raise SourceFormatError(path, f"year files of several releases mixed: {sorted(tags)}")
    if countries is None or products is None:
        missing = "country_codes_V*.csv" if countries is None else "product_codes_HS*_V*.csv"
        raise SourceFormatError(path, f"the release lacks {missing}")
    _header(countries, COUNTRY_HEADER)
    _header(products, PRODUCT_HEADER)
    for p in years.values():
        _header(p, YEAR_HEADER)
    hs, release = tags.pop()
    return BaciRelease(path, folder, hs, f"V{release}", years, countries, products)


def country_table(release: BaciRelease) -> pd.DataFrame:
    """CEPII country code -> ISO3 (``code``, ``iso3``), about 240 rows; S19 -> TWN.

    The release's own ``country_iso3`` is used when it is an ISO code critmin knows, else the
    numeric code as an M49 code. A code neither resolves is an error naming it.
    """
    frame = pd.read_csv(release.country_codes, dtype=str, encoding="utf-8-sig").fillna("")
    rows = []
    for code, iso3, name in zip(
        frame["country_code"], frame["country_iso3"], frame["country_name"], strict=True
    ):
        iso3 = CEPII_PSEUDO_ISO3.get(iso3.strip(), iso3.strip())
        found = to_iso3(iso3) if iso3 else None
        if found is None and code.strip().isdigit():
            found = m49_to_iso3(int(code))
        if found is None:
            found = to_iso3(name)
        if found is None or found in {"WLD", "OTH"}:
            raise SourceFormatError(
                release.country_codes, f"country code {code} ({name}) maps to no ISO3 country"
            )
        try:
            rows.append({"code": int(code), "iso3": found})
        except ValueError:
            raise SourceFormatError(
                release.country_codes, f"country_code {code!r} is not a number"
            ) from None
    return pd.DataFrame(rows)


def flows_query(year_file: Path, source: str) -> str:
    """DuckDB SELECT of one year file in the ``flows`` schema (before the product join).

    Expects relations ``countries(code, iso3)`` registered. ``k`` is zero-padded to 6 digits;
    ``v`` x 1000 -> USD; ``q`` blank or ``NA`` (space-padded) -> NULL. Every column is read as
    text and cast strictly, so a foreign or truncated file fails with a conversion error.
    """
    path = str(year_file).replace("'", "''")
    src = source.replace("'", "''")
    return f"""
        SELECT CAST(trim(r.t) AS BIGINT) AS year,
               lpad(trim(r.k), 6, '0') AS hs6,
               e.iso3 AS exporter,
               m.iso3 AS importer,
               CAST(trim(r.v) AS DOUBLE) * 1000.0 AS value_usd,
               CAST(NULLIF(NULLIF(trim(r.q), 'NA'), '') AS DOUBLE) AS quantity_t,
               '{src}' AS source,
               CAST(trim(r.i) AS BIGINT) AS i,
               CAST(trim(r.j) AS BIGINT) AS j
        FROM read_csv('{path}', header = true, auto_detect = false, delim = ',',
                      quote = '"', null_padding = false, strict_mode = true,
                      columns = {{'t': 'VARCHAR', 'i': 'VARCHAR', 'j': 'VARCHAR',
                                  'k': 'VARCHAR', 'v': 'VARCHAR', 'q': 'VARCHAR'}}) AS r
        LEFT JOIN countries e ON e.code = CAST(trim(r.i) AS BIGINT)
        LEFT JOIN countries m ON m.code = CAST(trim(r.j) AS BIGINT)
    """


SYNTHETIC_COUNTRIES = [
    (36, "Australia", "AU", "AUS"),
    (76, "Brazil", "BR", "BRA"),
    (124, "Canada", "CA", "CAN"),
    (152, "Chile", "CL", "CHL"),
    (156, "China", "CN", "CHN"),
    (180, "Dem. Rep. of the Congo", "CD", "COD"),
    (251, "France", "FR", "FRA"),
    (276, "Germany", "DE", "DEU"),
    (392, "Japan", "JP", "JPN"),
    (410, "Rep. of Korea", "KR", "KOR"),
    (490, "Other Asia, nes", "", "S19"),
    (699, "India", "IN", "IND"),
    (842, "USA", "US", "USA"),
    (716, "Zimbabwe", "ZW", "ZWE"),
]
"""A few of BACI's country codes as CEPII writes them (490 'Other Asia, nes' = S19)."""


def write_synthetic_release(
    folder: Path,
    years: tuple[int, ...],
    rows_per_year: int,
    codes: tuple[str, ...],
    seed: int = 0,
    release: str = "V202601",
) -> Path:
    """Write a release in BACI's exact layout (for tests and benchmarks), return its folder.

    Year files hold ``rows_per_year`` rows over the countries of :data:`SYNTHETIC_COUNTRIES`
    and the HS6 ``codes`` (written as integers, so leading zeros are lost), ``v`` with three
    decimals, ``q`` with three decimals, blank or ``NA`` padded with spaces (as CEPII writes).
    """
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    country_codes = np.array([c[0] for c in SYNTHETIC_COUNTRIES])
    hs = np.array([int(c) for c in codes])
    with (folder / f"country_codes_{release}.csv").open("w", encoding="utf-8") as f:
        f.write(",".join(COUNTRY_HEADER) + "\n")
        for code, name, iso2, iso3 in SYNTHETIC_COUNTRIES:
            f.write(f'{code},"{name}",{iso2},{iso3}\n')
    with (folder / f"product_codes_HS17_{release}.csv").open("w", encoding="utf-8") as f:
        f.write("code,description\n")
        for hs_code in codes:
            f.write(f'{hs_code},"Synthetic product {hs_code}"\n')
    chunk = 1_000_000
    for year in years:
        with (folder / f"BACI_HS17_Y{year}_{release}.csv").open("w", encoding="utf-8") as f:
            f.write("t,i,j,k,v,q\n")
            for start in range(0, rows_per_year, chunk):
                n = min(chunk, rows_per_year - start)
                i = rng.choice(country_codes, n)
                j = rng.choice(country_codes, n)
                j = np.where(i == j, np.where(i == 156, 842, 156), j)
                k = rng.choice(hs, n)
                v = np.round(rng.lognormal(3.0, 2.0, n), 3)
                q = np.round(v * rng.uniform(0.1, 5.0, n), 3)
                q_text = np.char.mod("%.3f", q).astype(object)
                kind = rng.random(n)
                q_text[kind < 0.05] = "         NA"
                q_text[(kind >= 0.05) & (kind < 0.08)] = ""
                lines = (
                    str(year)
                    + ","
                    + i.astype(str).astype(object)
                    + ","
                    + j.astype(str).astype(object)
                    + ","
                    + k.astype(str).astype(object)
                    + ","
                    + np.char.mod("%.3f", v).astype(object)
                    + ","
                    + q_text
                )
                f.write("\n".join(lines) + "\n")
    return folder
