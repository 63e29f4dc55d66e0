"""``critmin data build --baci PATH``: a dataset of the user's own from a full CEPII BACI release.

The release's year files are read by DuckDB straight from the CSV (streaming, see
:mod:`critmin.sources.baci_release`); the rows of the concordance's HS6 codes (every code with
``all_products``) become the ``flows`` table, ``basis = "observed"``, ``method = "baci"``.
Every other table, and the estimated flows of products the release does not hold, are taken
from the dataset in use (normally the bundled one), so the result has the same tables, schema
and provenance. The new dataset is written to a temporary folder beside ``out_dir`` and renamed
into place only when complete: a truncated or foreign file leaves the previous dataset intact.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.data.dataset import dataset_dir, read_manifest
from critmin.data.provenance import file_sha256
from critmin.data.schema import TABLES
from critmin.errors import CritminError, DataIntegrityError, SourceFormatError
from critmin.sources import baci_release

Progress = Callable[[str], None]
COLUMNS = ", ".join(TABLES["flows"].column_names)
DUCKDB_MEMORY_LIMIT = "1GB"
"""DuckDB spills to the temporary folder beyond this (the goal is < 2 GB on 2 cores)."""


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _conversion_error(err: Exception, path: Path) -> SourceFormatError:
    text = str(err).splitlines()[0][:200]
    return SourceFormatError(path, f"cannot be read as a BACI year file ({text}): truncated?")


def _observed(
    con: Any,
    release: baci_release.BaciRelease,
    all_products: bool,
    log: Progress,
) -> dict[int, int]:
    """Fill DuckDB table ``obs`` with the kept rows of every year; rows kept per year."""
    import duckdb

    con.execute(
        "CREATE TABLE obs (year BIGINT, hs6 VARCHAR, product_id VARCHAR, exporter VARCHAR, "
        "importer VARCHAR, value_usd DOUBLE, quantity_t DOUBLE, source VARCHAR, basis VARCHAR, "
        "method VARCHAR)"
    )
    join = "LEFT JOIN products p ON p.hs6 = q.hs6"
    keep = "" if all_products else "WHERE p.product_id IS NOT NULL"
    kept: dict[int, int] = {}
    for year, path in sorted(release.years.items()):
        log(f"reading {path.name} ({path.stat().st_size / 1e6:,.0f} MB)")
        source = f"CEPII BACI {release.hs} {release.release}, {path.name}"
        query = baci_release.flows_query(path, source)
        try:
            con.execute(
                f"INSERT INTO obs SELECT q.year, q.hs6, coalesce(p.product_id, q.hs6), "
                f"q.exporter, q.importer, q.value_usd, q.quantity_t, q.source, 'observed', "
                f"'baci' FROM ({query}) q {join} {keep}"
            )
            bad = con.execute(
                "SELECT count(*) FILTER (WHERE exporter IS NULL OR importer IS NULL), "
                "count(*) FILTER (WHERE year <> ?), count(*) FILTER (WHERE NOT "
                "regexp_full_match(hs6, '[0-9]{6}')), count(*) FILTER (WHERE value_usd < 0) "
                "FROM obs WHERE source = ?",
                [year, source],
            ).fetchone()
        except duckdb.Error as err:
            raise _conversion_error(err, path) from err
        assert bad is not None
        if bad[0]:
            raise SourceFormatError(path, f"{bad[0]} rows name a country code not in the release")
        if bad[1]:
            raise SourceFormatError(path, f"{bad[1]} rows have a year t other than {year}")
        if bad[2] or bad[3]:
            raise SourceFormatError(path, "rows with a malformed HS code or a negative value")
        row = con.execute("SELECT count(*) FROM obs WHERE source = ?", [source]).fetchone()
        kept[year] = int(row[0]) if row else 0
        log(f"  {kept[year]:,} rows kept for {year}")
    if not any(kept.values()):
        raise SourceFormatError(
            release.path, "no row of the concordance's HS6 codes: is this an HS17 release?"
        )
    return kept


def _write_tables(con: Any, base: Path, tmp: Path, log: Progress) -> dict[str, int]:
    """flows = observed + the base dataset's estimates of products the release lacks."""
    log("writing flows.parquet")
    base_flows = _sql_path(base / "flows.parquet")
    con.execute(
        f"""COPY (
              SELECT {COLUMNS} FROM obs
              UNION ALL
              SELECT {COLUMNS} FROM read_parquet({base_flows})
              WHERE basis = 'estimate' AND year IN (SELECT DISTINCT year FROM obs)
                AND product_id NOT IN (SELECT DISTINCT product_id FROM obs)
              ORDER BY year, hs6, exporter, importer
            ) TO {_sql_path(tmp / "flows.parquet")} (FORMAT PARQUET, COMPRESSION ZSTD)"""
    )
    bal_cols = ", ".join(TABLES["estimate_balance"].column_names)
    con.execute(
        f"""COPY (
              SELECT {bal_cols} FROM read_parquet({_sql_path(base / "estimate_balance.parquet")})
              WHERE year IN (SELECT DISTINCT year FROM obs)
                AND product_id NOT IN (SELECT DISTINCT product_id FROM obs)
              ORDER BY product_id, year, country
            ) TO {_sql_path(tmp / "estimate_balance.parquet")} (FORMAT PARQUET, COMPRESSION ZSTD)"""
    )
    rows: dict[str, int] = {}
    for name in ("flows", "estimate_balance"):
        got = con.execute(
            f"SELECT count(*) FROM read_parquet({_sql_path(tmp / (name + '.parquet'))})"
        ).fetchone()
        rows[name] = int(got[0]) if got else 0
    for name in TABLES:
        if name not in rows:
            shutil.copy2(base / f"{name}.parquet", tmp / f"{name}.parquet")
    return rows


def _manifest(
    base: Path,
    tmp: Path,
    release: baci_release.BaciRelease,
    kept: dict[int, int],
    rows: dict[str, int],
    all_products: bool,
) -> dict[str, Any]:
    manifest = read_manifest(base)
    files = {p.name: file_sha256(p) for p in sorted(release.years.values())}
    files[release.country_codes.name] = file_sha256(release.country_codes)
    files[release.product_codes.name] = file_sha256(release.product_codes)
    years = sorted(kept)
    built_from = {
        "kind": "CEPII BACI release",
        "path": str(release.path),
        "hs": release.hs,
        "release": release.release,
        "years": years,
        "rows_kept": {str(y): n for y, n in kept.items()},
        "products": "all HS6 codes" if all_products else "the concordance's HS6 codes",
        "base_dataset": str(base),
        "source_sha256": files,
    }
    manifest["built"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest["built_from"] = built_from
    flows = manifest["tables"]["flows"]
    flows["provenance"] = [
        {
            "publisher": "CEPII",
            "title": "BACI: international trade database at the product level",
            "edition": f"{release.hs} {release.release} ({', '.join(map(str, years))})",
            "doi_or_url": "https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
            "licence": "Etalab Open Licence 2.0 (attribution to CEPII)",
            "files": sorted(files),
        },
        *[p for p in flows["provenance"] if p.get("publisher") != "CEPII"],
    ]
    flows["source_sha256"] = files
    flows["transformations"] = [
        f"CEPII BACI {release.hs} {release.release} year files read with DuckDB (streaming)",
        "k zero-padded to 6 digits; v (thousand USD) x 1000 -> value_usd; q (t) -> quantity_t, "
        "blank or 'NA' -> NaN; CEPII country codes -> ISO3 (S19 -> TWN)",
        f"kept: {built_from['products']}; basis 'observed', method 'baci'",
        "estimated flows of the base dataset kept only for products the release does not hold, "
        "in the release's years",
    ]
    for name, n in rows.items():
        manifest["tables"][name]["rows"] = n
    for entry in manifest["tables"].values():
        entry["sha256"] = file_sha256(tmp / entry["file"])
    return manifest


def _swap(tmp: Path, out_dir: Path) -> None:
    """Rename the complete new dataset into place; the old one is removed only afterwards."""
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)


def build_from_baci(
    baci: Path,
    out_dir: Path,
    base: Path | None = None,
    all_products: bool = False,
    log: Progress = print,
) -> dict[str, Any]:
    """Ingest a BACI release into a complete dataset in ``out_dir``; returns its manifest."""
    try:
        import duckdb
    except ModuleNotFoundError:
        raise CritminError(
            "reading a BACI release needs DuckDB: pip install 'duckdb>=1.1'"
        ) from None

    base = Path(base) if base is not None else dataset_dir()
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    scratch = tmp / "_release"
    scratch.mkdir()
    try:
        release = baci_release.open_release(Path(baci), scratch)
        if release.hs != "HS17":
            log(f"note: the concordance's codes are HS 2017; this release is {release.hs}")
        log(f"BACI {release.hs} {release.release}: years {', '.join(map(str, release.years))}")
        products = pd.read_parquet(base / "products.parquet", columns=["product_id", "hs6"])
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory = {_sql_path(tmp / '_duckdb')}")
        con.register("countries", baci_release.country_table(release))
        con.register("products", products.astype(str))
        kept = _observed(con, release, all_products, log)
        rows = _write_tables(con, base, tmp, log)
        con.close()
        manifest = _manifest(base, tmp, release, kept, rows, all_products)
        shutil.rmtree(scratch)
        shutil.rmtree(tmp / "_duckdb", ignore_errors=True)
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", "utf-8"
        )
        if (base / "quality.json").exists():
            shutil.copy2(base / "quality.json", tmp / "quality.json")
        _swap(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"dataset written to {out_dir}")
    return manifest


def describe(folder: Path | None = None) -> dict[str, Any]:
    """Which dataset is in use and what it was built from (``critmin data info``)."""
    from critmin.data.dataset import dataset_origin

    folder = folder or dataset_dir()
    manifest = read_manifest(folder)
    built_from = manifest.get("built_from") or {
        "kind": "the bundled reference build (critmin data build --source)",
        "publications": sorted(
            {
                f"{p['publisher']}: {p['edition']}"
                for t in manifest["tables"].values()
                for p in t["provenance"]
            }
        ),
    }
    try:
        flows = pd.read_parquet(folder / "flows.parquet", columns=["year", "basis"])
    except Exception as err:  # missing, a folder, truncated, not Parquet, other columns
        why = (
            "it is missing"
            if not (folder / "flows.parquet").exists()
            else "it is a folder"
            if (folder / "flows.parquet").is_dir()
            else f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'}"
        )
        raise DataIntegrityError(
            f"dataset {folder}: flows.parquet cannot be read ({why}); 'critmin data check' "
            "lists what is wrong"
        ) from None
    return {
        "dataset": str(folder),
        "in_use_because": dataset_origin(folder),
        "built": manifest.get("built"),
        "built_from": built_from,
        "trade_years": sorted(int(y) for y in flows["year"].unique()),
        "flows_by_basis": {str(k): int(v) for k, v in flows["basis"].value_counts().items()},
        "tables": {name: entry["rows"] for name, entry in manifest["tables"].items()},
    }


DATASET_FILES = frozenset(
    {*(f"{name}.parquet" for name in TABLES), "manifest.json", "quality.json"}
)
"""The files of a dataset folder (what a build writes and may replace)."""


def check_out_dir(out_dir: Path, source: Path | None = None) -> Path:
    """A usable output folder: not a file, not the package's bundled folder, and either new,
    empty or an earlier dataset (only a dataset's own files): the build replaces the whole
    folder, so a folder holding anything else (a user's files, the release it is built from)
    is refused rather than deleted."""
    from critmin.data.dataset import REFERENCE_DIR
    from critmin.util import unresolvable

    out = Path(out_dir).expanduser()
    if loop := unresolvable(out):  # resolve() below raised RuntimeError: an internal error
        raise CritminError(f"--out {out} {loop}")
    if out.exists() and not out.is_dir():
        raise CritminError(f"--out {out}: is a file, not a folder")
    if out.resolve() == REFERENCE_DIR.resolve():
        raise CritminError(
            "--out: the bundled reference folder is rebuilt with 'critmin data build --source'"
        )
    if source is not None and Path(source).resolve().is_relative_to(out.resolve()):
        raise CritminError(
            f"--out {out}: the release {source} is inside it, and the build replaces the whole "
            "folder: give a new folder"
        )
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in DATASET_FILES)
        if others:
            shown = ", ".join(others[:3]) + (
                f" and {len(others) - 3} more" if len(others) > 3 else ""
            )
            raise CritminError(
                f"--out {out}: holds files that are not a dataset's ({shown}), and the build "
                "replaces the whole folder: give a new or empty folder, or an earlier dataset"
            )
    return out
