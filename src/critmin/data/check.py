"""Verify the bundled reference dataset: hashes, row counts, schemas and published totals.

Checks (each a :class:`CheckResult`):
1. every table's file exists and its sha256 and row count equal the manifest's;
2. every table has exactly the documented columns, of the documented types, with values in
   their range (:func:`critmin.data.dataset.table_problem`: no missing year, no infinite or
   negative tonnage or trade value, ...), and holds no row twice (one row per
   :attr:`critmin.data.schema.TableSchema.key`: a repeated trade flow would be counted twice);
3. for each USGS production figure whose world total and every country value are published,
   the country values (plus "other countries") add up to the world total within USGS rounding
   (world totals are rounded to two or three significant figures and usually exclude a withheld
   U.S. figure): |sum - world| <= max(3% of world, 0.5 unit of the world total's last
   significant digit), with reviewed exceptions in ``curated/check_exceptions.csv``;
4. consecutive USGS editions agree in units: no table's figures for the same countries differ
   by a factor of 100 or more in the median (:func:`edition_unit_mismatches`);
5. the mass balance of the estimated flows (:func:`check_estimates`);
6. optionally, with the source folder: per HS6 and year, the observed flow totals equal the
   BACI source files' totals (to 1e-9 relative).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from critmin.data.dataset import dataset_dir, read_manifest, table_problem
from critmin.data.provenance import file_sha256
from critmin.data.schema import TABLES
from critmin.errors import CritminError
from critmin.util import check_input_dir

CURATED_DIR = Path(__file__).parent / "curated"
WORLD_SUM_REL_TOL = 0.03


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def _dir(reference_dir: Path | None) -> Path:
    return Path(reference_dir) if reference_dir is not None else dataset_dir()


def check_files(reference_dir: Path | None = None) -> list[CheckResult]:
    """Hash, row count and column checks against manifest.json."""
    out: list[CheckResult] = []
    reference_dir = _dir(reference_dir)
    manifest = read_manifest(reference_dir)
    for name, schema in TABLES.items():
        entry = manifest["tables"].get(name)
        if entry is None:
            out.append(
                CheckResult(f"{name}: listed in manifest", False, "absent from manifest.json")
            )
            continue
        path = reference_dir / entry["file"]
        if not path.exists():
            out.append(CheckResult(f"{name}: file", False, f"{path} is missing"))
            continue
        if not path.is_file():
            out.append(CheckResult(f"{name}: file", False, f"{path} is not a file"))
            continue
        digest = file_sha256(path)
        out.append(
            CheckResult(
                f"{name}: sha256",
                digest == entry["sha256"],
                "matches manifest"
                if digest == entry["sha256"]
                else f"{digest[:12]} != manifest {entry['sha256'][:12]} (file changed since the build)",
            )
        )
        try:
            table = pq.ParquetFile(path).read(use_threads=False)
        except Exception as err:
            out.append(CheckResult(f"{name}: readable", False, f"cannot read {path}: {err}"))
            continue
        out.append(
            CheckResult(
                f"{name}: rows",
                table.num_rows == entry["rows"],
                f"{table.num_rows} rows (manifest {entry['rows']})",
            )
        )
        cols_ok = list(table.column_names) == schema.column_names
        out.append(
            CheckResult(
                f"{name}: columns",
                cols_ok,
                "as documented" if cols_ok else f"got {list(table.column_names)}",
            )
        )
        if cols_ok:
            problem = table_problem(name, table)
            out.append(
                CheckResult(
                    f"{name}: types and values", problem is None, problem or "as documented"
                )
            )
            if schema.key:
                repeated = repeated_keys(table.select(list(schema.key)).to_pandas())
                out.append(
                    CheckResult(
                        f"{name}: one row per {', '.join(schema.key)}",
                        not repeated,
                        repeated or "yes",
                    )
                )
    return out


def repeated_keys(keys: pd.DataFrame) -> str:
    """What repeats in a table's key columns ``keys`` (:attr:`TableSchema.key
    <critmin.data.schema.TableSchema.key>`): how many rows share their key with another row,
    with the first such key; empty when every row has its own."""
    twice = keys.duplicated(keep=False)
    count = int(twice.sum())
    if not count:
        return ""
    first = ", ".join(f"{col}={value}" for col, value in keys[twice].iloc[0].items())
    return f"{count:,} rows share their key with another row (e.g. {first}): remove the repeats"


def _rounding_unit(x: float) -> float:
    """Half a unit of the last significant digit of a rounded world total (2 s.f. minimum)."""
    if x <= 0:
        return 0.0
    digits = int(np.floor(np.log10(x)))
    return 0.5 * 10.0 ** (digits - 1)


def world_total_mismatches(supply: pd.DataFrame) -> pd.DataFrame:
    """Rows (mineral, stage, year, edition, basis) where complete country sums miss the world total.

    Only figures where the world total and every named country's value are published are
    compared (a withheld country makes the sum a lower bound, which is checked as sum <= world).
    ``attrs["counts"]`` says how many were compared in full, compared as a lower bound, and not
    comparable (no published world total, no country figure, or several world totals: tables
    of sub-series such as ilmenite and rutile).
    """
    prod = supply[supply["measure"] == "production"]
    rows = []
    counts = {"complete": 0, "lower_bound": 0, "not_comparable": 0}
    for key, sub in prod.groupby(["mineral", "stage", "year", "edition", "basis"]):
        world = sub[sub["country"] == "WLD"]["value_t"]
        if world.empty:
            continue
        if len(world) != 1 or not np.isfinite(world.iloc[0]):
            counts["not_comparable"] += len(world)
            continue
        w = float(world.iloc[0])
        parts = sub[sub["country"] != "WLD"]["value_t"]
        if parts.empty or not parts.notna().any():
            counts["not_comparable"] += 1
            continue
        complete = bool(parts.notna().all())
        counts["complete" if complete else "lower_bound"] += 1
        s = float(parts.sum(skipna=True))
        tol = max(WORLD_SUM_REL_TOL * w, _rounding_unit(w))
        ok = abs(s - w) <= tol if complete else s <= w + tol
        if not ok:
            rows.append(
                dict(zip(["mineral", "stage", "year", "edition", "basis"], key, strict=True))
                | {"world_t": w, "sum_t": s, "complete": complete, "rel_diff": (s - w) / w}
            )
    out = pd.DataFrame(rows)
    out.attrs["counts"] = counts
    return out


def load_exceptions() -> pd.DataFrame:
    path = CURATED_DIR / "check_exceptions.csv"
    if not path.exists():
        return pd.DataFrame(columns=["mineral", "stage", "year", "edition", "reason"])
    return pd.read_csv(path, dtype={"year": int})


def check_world_totals(reference_dir: Path | None = None) -> list[CheckResult]:
    supply = pd.read_parquet(_dir(reference_dir) / "supply.parquet")
    bad = world_total_mismatches(supply)
    counts = bad.attrs["counts"]
    exc = load_exceptions()
    if len(bad) and len(exc):
        keyed = bad.merge(exc, on=["mineral", "stage", "year", "edition"], how="left")
        excused = keyed["reason"].notna()
        bad = keyed[~excused]
        n_exc = int(excused.sum())
    else:
        n_exc = 0
    n = counts["complete"] + counts["lower_bound"]
    if len(bad):
        examples = "; ".join(
            f"{r.mineral}/{r.stage} {r.year} {r.edition}: sum {r.sum_t:,.0f} vs world {r.world_t:,.0f}"
            for r in bad.head(5).itertuples()
        )
        return [
            CheckResult(
                "USGS country sums vs world totals",
                False,
                f"{len(bad)} of {n} world totals off: {examples}",
            )
        ]
    return [
        CheckResult(
            "USGS country sums vs world totals",
            True,
            f"{n} world totals checked ({counts['complete']} against complete country figures, "
            f"{counts['lower_bound']} as an upper bound of the known ones: a country withheld), "
            f"{n_exc} reviewed exceptions; {counts['not_comparable']} not checkable (no "
            "published world total or country figure, or several sub-series totals)",
        )
    ]


UNIT_RATIO = 100.0
"""Editions whose figures for the same countries differ by this factor or more, in the
median over several countries, disagree in units (a thousand-fold label error), not in a
revision."""


def edition_unit_mismatches(supply: pd.DataFrame, min_countries: int = 3) -> pd.DataFrame:
    """(mineral, stage, measure, edition, next edition) whose figures for the same countries
    and years differ by a factor of :data:`UNIT_RATIO` or more in the median over at least
    ``min_countries`` country-years: one of the two editions was read in the wrong unit.

    USGS revises figures between editions, and one country's revision can be large (Brazil's
    2024 rare-earth output: 20 t in MCS2025, 560 t in MCS2026), so a single figure never
    fails; a table whose every country moves by a thousand does (MCS2025 titanium
    concentrates published in thousand tons under a "metric tons" label).
    """
    known = supply[supply["value_t"].notna() & (supply["value_t"] > 0)]
    keys = ["mineral", "stage", "measure", "year", "country"]
    wide = known.groupby([*keys, "edition"])["value_t"].sum().unstack("edition")
    editions = sorted(wide.columns)
    rows = []
    for a, b in pairwise(editions):
        ratio = (wide[b] / wide[a]).dropna()
        if ratio.empty:
            continue
        grouped = ratio.groupby(level=["mineral", "stage", "measure"])
        for key, r in grouped:
            med = float(r.median())
            if len(r) >= min_countries and (med >= UNIT_RATIO or med <= 1 / UNIT_RATIO):
                rows.append(
                    dict(
                        zip(
                            ["mineral", "stage", "measure"], cast(tuple[str, ...], key), strict=True
                        )
                    )
                    | {"edition": a, "next_edition": b, "n": len(r), "median_ratio": med}
                )
    return pd.DataFrame(rows)


def check_edition_units(reference_dir: Path | None = None) -> list[CheckResult]:
    supply = pd.read_parquet(_dir(reference_dir) / "supply.parquet")
    bad = edition_unit_mismatches(supply)
    name = "USGS editions agree in units"
    if len(bad):
        examples = "; ".join(
            f"{r.mineral}/{r.stage} {r.measure}: {r.next_edition} = {r.median_ratio:,.3g} x "
            f"{r.edition} (median of {r.n} figures)"
            for r in bad.head(5).itertuples()
        )
        return [CheckResult(name, False, f"{len(bad)} tables off by a unit factor: {examples}")]
    return [CheckResult(name, True, "no table differs between editions by a unit factor")]


BACI_FOLDER = Path("trade/critical_materials_atlas/baci_hs17_v202601")
"""Where a source folder holds the BACI files (``critmin data build --source`` reads them)."""
BACI_FILES = ((2024, "baci_2024_trade_with_qty.parquet"), (2022, "baci_2022_value_only.csv"))
"""The BACI files whose totals the flows are checked against: (year, file name)."""


def check_source_dir(source: Path, option: str) -> Path:
    """``source`` as a source folder holding the BACI files of :data:`BACI_FILES`, else one
    message naming it and the files it lacks (a usage error: there is nothing to check)."""
    source = check_input_dir(source, option)
    missing = [name for _, name in BACI_FILES if not (source / BACI_FOLDER / name).is_file()]
    if missing:
        raise CritminError(
            f"{option} {source} is not a source folder: it lacks the BACI file(s) "
            f"{' and '.join(missing)} in {BACI_FOLDER}; give the folder of the source "
            "releases (the one 'critmin data build --source' reads)"
        )
    return source


def check_flow_totals(source: Path, reference_dir: Path | None = None) -> list[CheckResult]:
    """Bundled flow totals per (year, HS6) against the BACI source files."""
    from critmin.sources import baci

    folder = Path(source) / BACI_FOLDER
    bundled = pd.read_parquet(_dir(reference_dir) / "flows.parquet")
    bundled = bundled[bundled["method"] == "baci"]
    got = bundled.groupby(["year", "hs6"])["value_usd"].sum()
    out = []
    for year, fname in BACI_FILES:
        path = folder / fname
        if not path.exists():
            out.append(CheckResult(f"BACI {year} totals", False, f"{path} not found"))
            continue
        src = baci.read_baci(path, year=year)
        want = src.groupby("hs6")["value_usd"].sum()
        have = got.loc[year] if year in got.index.get_level_values(0) else pd.Series(dtype=float)
        joined = pd.concat([want.rename("source"), have.rename("bundled")], axis=1).fillna(0.0)
        rel = (joined["bundled"] - joined["source"]).abs() / joined["source"].clip(lower=1.0)
        ok = bool((rel <= 1e-9).all())
        out.append(
            CheckResult(
                f"BACI {year} totals per HS6",
                ok,
                f"{len(joined)} codes, world total {joined['source'].sum() / 1e9:,.3f} bn USD"
                + ("" if ok else f"; mismatched: {list(joined.index[rel > 1e-9])}"),
            )
        )
    return out


BALANCE_REL_TOL = 1e-9


def check_estimates(reference_dir: Path | None = None) -> list[CheckResult]:
    """The mass balance of the estimated flows, product by product and year.

    With ``c`` the content factor, each country's exports (imports) in ``estimate_balance``
    equal the sum of its estimated flows x ``c``; own use = min(supply, demand); exports <=
    supply - own use and imports <= demand - own use; world exports = world imports; and
    every estimated flow has ``basis == "estimate"`` and a method.
    """
    folder = _dir(reference_dir)
    flows = pd.read_parquet(folder / "flows.parquet")
    balance = pd.read_parquet(folder / "estimate_balance.parquet")
    products = pd.read_parquet(folder / "products.parquet").set_index("product_id")
    est = flows[flows["basis"] == "estimate"]
    bad_basis = ~flows["basis"].isin(["observed", "estimate"]) | flows["method"].eq("")
    if est.empty and balance.empty:
        return [CheckResult("estimates: mass balance", True, "no estimated flows in this dataset")]
    # as floats: mapping no rows (a dataset whose flows are empty) keeps the ids' text type
    factor = est["product_id"].map(products["content_factor"]).astype("float64")
    content = est["quantity_t"].astype("float64") * factor
    exports = content.groupby([est["product_id"], est["year"], est["exporter"]]).sum()
    imports = content.groupby([est["product_id"], est["year"], est["importer"]]).sum()
    b = balance.set_index(["product_id", "year", "country"])
    tol = BALANCE_REL_TOL * max(1.0, float(b["supply_t"].max()))
    problems: list[str] = []
    for name, got, col in (("exports", exports, "exports_t"), ("imports", imports, "imports_t")):
        diff = (got.reindex(b.index, fill_value=0.0) - b[col]).abs()
        if (diff > tol).any():
            problems.append(f"{name} differ from the flows at {list(diff.index[diff > tol])[:3]}")
        unbalanced = got.index.difference(b.index)
        if len(unbalanced):  # compared on the balance's rows only above
            problems.append(
                f"{len(unbalanced)} {name} of estimated flows have no row in estimate_balance "
                f"(e.g. {list(unbalanced[:3])})"
            )
    own = b[["supply_t", "demand_t"]].min(axis=1)
    if ((own - b["own_use_t"]).abs() > tol).any():
        problems.append("own use is not min(supply, demand)")
    if (b["exports_t"] > b["supply_t"] - b["own_use_t"] + tol).any():
        problems.append("a country exports more than its output less own use")
    if (b["imports_t"] > b["demand_t"] - b["own_use_t"] + tol).any():
        problems.append("a country imports more than its need less own output")
    world = b.groupby(level=["product_id", "year"])[["exports_t", "imports_t"]].sum()
    if ((world["exports_t"] - world["imports_t"]).abs() > tol).any():
        problems.append("world exports differ from world imports")
    if bad_basis.any():
        problems.append(f"{int(bad_basis.sum())} flows without a valid basis or method")
    n = len(world)
    return [
        CheckResult(
            "estimates: mass balance",
            not problems,
            f"{n} product-years, {len(est):,} estimated flows balanced"
            if not problems
            else "; ".join(problems),
        )
    ]


def run_checks(reference_dir: Path | None = None, source: Path | None = None) -> list[CheckResult]:
    """All checks; a CritminError (e.g. a missing manifest) becomes one failed check."""
    try:
        results = check_files(reference_dir)
        if all(r.ok for r in results):
            results += check_world_totals(reference_dir)
            results += check_edition_units(reference_dir)
            results += check_estimates(reference_dir)
            if source is not None and Path(source).is_dir():
                results += check_flow_totals(Path(source), reference_dir)
    except CritminError as err:
        results = [CheckResult("reference dataset", False, str(err))]
    return results
