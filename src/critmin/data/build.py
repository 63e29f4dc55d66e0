"""Compile the bundled reference dataset from the public source releases.

``critmin data build --source ../shared/data`` reads every release with the readers in
:mod:`critmin.sources`, harmonises countries, units and editions, and writes one Parquet file per
table into ``src/critmin/data/reference/`` together with ``manifest.json`` (hashes, row counts,
columns, provenance, transformations) and ``quality.json`` (what is missing or suspicious).

Edition rule: every edition's value stays in the ``supply`` and ``us_salient`` tables (so an
MCS2025 estimate that MCS2026 revised stays traceable); ``is_latest`` marks, for each figure, the
value of the newest edition that publishes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from critmin import countries
from critmin.data import estimate
from critmin.data import provenance as prov
from critmin.data.dataset import parse_table
from critmin.data.provenance import file_sha256
from critmin.data.schema import TABLES, TableSchema
from critmin.errors import CritminError, DataIntegrityError, SourceFormatError
from critmin.sources import baci, baci_asean, comtrade, eu_crm, usgs_mcs, usgs_salient, wgi

REFERENCE_DIR = Path(__file__).parent / "reference"
CURATED_DIR = Path(__file__).parent / "curated"
DEFAULT_SOURCE = Path("../shared/data")

SUPPLY_YEARS = range(2021, 2026)
WGI_YEARS = (2023,)
GROUP_FILES = {
    "G7": "g7",
    "G20": "g20",
    "EU27": "eu",
    "OECD": "oecd",
    "QUAD": "quad",
    "USMCA": "usmca",
    "CPTPP": "cptpp",
    "NATO": "nato",
    "BRICS11": "brics11",
    "APEC": "apec",
    "ASEAN": "asean",
    "AUKUS": "aukus",
    "FVEY": "fvey",
    "EFTA": "efta",
}
APRI_BLOCS = {
    "Minerals Security Partnership": ("MSP", "Minerals Security Partnership"),
    "Indo-Pacific Economic Framework for Prosperity (IPEF) Critical Minerals Dialogue": (
        "IPEF",
        "IPEF Critical Minerals Dialogue",
    ),
    "Sustainable Critical Mineral Alliance": ("SCMA", "Sustainable Critical Minerals Alliance"),
    "Critical Minerals Mapping Initiative": ("CMMI", "Critical Minerals Mapping Initiative"),
}

Progress = Callable[[str], None]


def _require(path: Path) -> Path:
    if not path.exists():
        raise SourceFormatError(path, "file not found (is --source the shared data folder?)")
    return path


def _mark_latest(df: pd.DataFrame, key: list[str]) -> pd.Series:
    """True for the row of the newest edition per key (editions sort as MCS2023 < MCS2026)."""
    order = df["edition"].rank(method="dense", ascending=False)
    best = order.groupby([df[k] for k in key], dropna=False).transform("min")
    return order == best


# --------------------------------------------------------------------------- supply


def build_supply(source: Path, log: Progress) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """All USGS editions, 2021-2025, with ``is_latest`` per figure."""
    frames: list[pd.DataFrame] = []
    issues: list[dict[str, Any]] = []
    for edition in ("mcs2023", "mcs2024"):
        folder = _require(source / "usgs_mcs" / edition / "world")
        log(f"USGS {edition.upper()} world files")
        frames.append(usgs_mcs.read_mcs_world_dir(folder))
    log("USGS MCS2025 world data")
    frames.append(
        usgs_mcs.read_mcs2025_world(_require(source / "usgs_mcs/mcs2025/MCS2025_World_Data.csv"))
    )
    log("USGS MCS2026 commodities data")
    frames.append(
        usgs_mcs.read_mcs2026(_require(source / "usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv"))
    )
    df = pd.concat(frames, ignore_index=True)
    df = df[df["year"].isin(SUPPLY_YEARS)].copy()
    unresolved = df[df["country"].isna()]
    if len(unresolved):
        for name, n in unresolved["country_name"].value_counts().items():
            issues.append(
                {"table": "supply", "kind": "unresolved_country", "name": name, "rows": int(n)}
            )
        df = df[df["country"].notna()].copy()
    df["type"] = df["type_text"].fillna("").astype(str)
    key = ["mineral", "stage", "measure", "country", "country_name", "year", "basis", "edition"]
    dup = df.duplicated(subset=[*key, "type"], keep="first")
    # a row without a value whose figure another row of the same edition publishes (e.g. the
    # 'Not applicable' reserves column of a refinery row) adds nothing
    has_value = df["value_t"].notna().groupby([df[k] for k in key]).transform("any")
    empty_dup = df["value_t"].isna() & has_value
    drop = dup | empty_dup
    if drop.any():
        issues.append(
            {
                "table": "supply",
                "kind": "redundant_rows_dropped",
                "rows": int(drop.sum()),
                "why": "exact repeats, or empty cells of a figure another row of the edition gives",
            }
        )
        df = df[~drop].copy()
    # the newest edition publishing a (mineral, stage, measure, year) table wins for every
    # country, so that a country an older edition listed apart is not counted twice
    df["is_latest"] = _mark_latest(df, ["mineral", "stage", "measure", "year", "basis"])
    miss = df[df["is_latest"] & df["value_t"].isna()]
    for reason, n in miss["missing_reason"].fillna("blank").value_counts().items():
        issues.append({"table": "supply", "kind": f"missing_{reason}", "rows": int(n)})
    return _conform(df, TABLES["supply"]), issues


# --------------------------------------------------------------------------- salient


def build_salient(source: Path, log: Progress) -> pd.DataFrame:
    """U.S. salient statistics, every edition, with ``is_latest`` per statistic.

    Every published cell is kept, with its ``detail``: one statistic often has several series
    (mine and secondary production, ore and refined-metal imports, reported and apparent
    consumption, one NIR per form), and which of them USGS's net import reliance uses can only
    be told from the detail. ``is_latest`` marks every row of the newest edition that publishes
    the statistic for the mineral and year.
    """
    frames: list[pd.DataFrame] = []
    for edition in ("mcs2023", "mcs2024", "mcs2025"):
        folder = _require(source / "usgs_mcs" / edition / "salient")
        log(f"USGS {edition.upper()} salient files")
        for path in sorted(folder.glob("*.csv")):
            try:
                frames.append(usgs_salient.read_salient_csv(path))
            except SourceFormatError as err:
                log(f"  skipped {path.name}: {err.problem}")
    frames.append(
        usgs_salient.read_mcs2026_salient(source / "usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv")
    )
    df = pd.concat(frames, ignore_index=True)
    df["detail"] = df["detail"].fillna("").astype(str).str.strip()
    df["is_latest"] = _mark_latest(df, ["mineral", "year", "statistic"])
    return _conform(df, TABLES["us_salient"])


# --------------------------------------------------------------------------- flows


def build_flows(source: Path, products: pd.DataFrame, log: Progress) -> pd.DataFrame:
    """BACI 2024 (values and tonnes) and 2022 (values) for every bundled HS6 product."""
    folder = source / "trade/critical_materials_atlas/baci_hs17_v202601"
    log("CEPII BACI 2024 (with quantities)")
    path24 = _require(folder / "baci_2024_trade_with_qty.parquet")
    f24 = baci.read_baci(path24)
    if f24["quantity_t"].isna().all():
        # the reader takes a quantity-less extract; this file is the only source of tonnes
        raise SourceFormatError(
            path24,
            "holds no quantities (column qty_t missing or empty): the 2024 flows need BACI's "
            "tonnes (unit values, floors), so nothing was built",
        )
    log("CEPII BACI 2022 (values)")
    f22 = baci.read_baci(_require(folder / "baci_2022_value_only.csv"), year=2022)
    df = pd.concat([f24, f22], ignore_index=True)
    by_hs = dict(zip(products["hs6"], products["product_id"], strict=True))
    df["product_id"] = df["hs6"].map(by_hs)
    unknown = sorted(set(df.loc[df["product_id"].isna(), "hs6"]))
    if unknown:
        raise CritminError(f"BACI holds HS6 codes with no product in the concordance: {unknown}")
    df["basis"] = "observed"
    df["method"] = "baci"
    df = df.sort_values(["year", "hs6", "exporter", "importer"], ignore_index=True)
    return _conform(df, TABLES["flows"])


def build_estimates(
    source: Path,
    observed: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    log: Progress,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimated flows of the curated intermediates without observed trade (see
    :mod:`critmin.data.estimate`), for every trade year of the observed flows."""
    log("estimating the intermediates' flows (USGS mass balance, reporters' world totals)")
    folder = _require(source / "comtrade_cmm_gold_qa")
    reporters = pd.concat(
        [comtrade.read_comtrade_api(p) for p in sorted(folder.glob("*_trade_data.csv"))],
        ignore_index=True,
    ).drop_duplicates()
    supply = tables["supply"]
    inputs = estimate.EstimateInputs(
        supply=supply,
        us_salient=tables["us_salient"],
        eu_supply_shares=tables["eu_supply_shares"],
        reporters=reporters,
        products=tables["products"],
        observed=observed,
    )
    years = sorted(int(y) for y in observed["year"].unique())
    flows, balance = estimate.estimate_flows(
        inputs, years, skip=set(observed["product_id"].astype(str))
    )
    flows = flows.sort_values(["year", "hs6", "exporter", "importer"], ignore_index=True)
    return _conform(flows, TABLES["flows"]), _conform(balance, TABLES["estimate_balance"])


def build_regional_flows(
    source: Path, products: pd.DataFrame, covered: set[str], observed: pd.DataFrame, log: Progress
) -> pd.DataFrame:
    """BACI's ASEAN extract for catalog products with no other flows (nickel matte and MHP:
    Indonesia -> China), in the bundled trade years; ``method`` says the coverage is partial."""
    log("CEPII BACI ASEAN extract (products without other flows)")
    df = baci_asean.read_baci_asean(
        _require(source / "trade/baci_asean_minerals/baci-asean-minerals-bilateral-2010-2024.csv")
    )
    by_hs = dict(zip(products["hs6"], products["product_id"], strict=True))
    df["product_id"] = df["hs6"].map(by_hs)
    years = set(observed["year"])
    df = df[df["product_id"].notna() & ~df["product_id"].isin(covered) & df["year"].isin(years)]
    df = df.assign(basis="observed", method="baci_asean_extract")
    df = df.sort_values(["year", "hs6", "exporter", "importer"], ignore_index=True)
    return _conform(df, TABLES["flows"])


# --------------------------------------------------------------------------- others


def build_wgi(source: Path, log: Progress) -> pd.DataFrame:
    log("World Bank WGI (xlsx, slow)")
    df = wgi.read_wgi(_require(source / "wgi/wgidataset_1996-2023.xlsx"))
    df = df[df["year"].isin(WGI_YEARS) & df["country"].notna()]
    return _conform(df, TABLES["wgi"])


def build_eu(source: Path, log: Progress) -> tuple[pd.DataFrame, pd.DataFrame]:
    log("EU CRM 2023 tables")
    folder = source / "eu_crm_2023"
    shares = pd.concat(
        [
            eu_crm.read_global_supply_shares(
                _require(folder / "fact_GlobalSupplyShares_and_t.csv")
            ),
            eu_crm.read_eu_supply_shares(_require(folder / "fact_EUSupplyShares_and_t.csv")),
        ],
        ignore_index=True,
    )
    sr_ei = eu_crm.read_sr_ei(_require(folder / "dimension_CRMsOverTime.csv"))
    return _conform(shares, TABLES["eu_supply_shares"]), _conform(sr_ei, TABLES["eu_sr_ei"])


def build_groups(source: Path, log: Progress) -> pd.DataFrame:
    """Country groups with a citation per membership."""
    log("country groups")
    rows: list[dict[str, str]] = []
    wcg = source / "country_groups/worldcountrygroups_0.5.0"
    for gid, fname in GROUP_FILES.items():
        data = json.loads(_require(wcg / f"{fname}.json").read_text(encoding="utf-8"))
        for c in data["countries"]:
            rows.append(
                {
                    "group_id": gid,
                    "name": data["name"],
                    "country": c["iso3"],
                    "citation": f"worldcountrygroups 0.5.0, {fname}.json (MIT)",
                    "url": "https://pypi.org/project/worldcountrygroups/0.5.0/",
                    "as_of": "2025",
                    "note": "",
                }
            )
    corrections = pd.read_csv(CURATED_DIR / "groups_corrections.csv", dtype=str)
    for c in corrections.itertuples():
        if c.action != "add":
            raise CritminError(f"groups_corrections.csv: unknown action {c.action!r}")
        name = next(r["name"] for r in rows if r["group_id"] == c.group_id)
        rows.append(
            {
                "group_id": str(c.group_id),
                "name": name,
                "country": str(c.country),
                "citation": f"critmin correction: {c.reason}",
                "url": str(c.source),
                "as_of": "2026",
                "note": "added by groups_corrections.csv",
            }
        )
    blocs = json.loads(
        _require(source / "country_groups/apri_crm_partnerships/multiPartner.json").read_text(
            encoding="utf-8"
        )
    )
    for bloc in blocs:
        if bloc["blocName"] not in APRI_BLOCS:
            continue
        gid, name = APRI_BLOCS[bloc["blocName"]]
        members = bloc["members"]
        listed = [(m, "") for m in (members["countries"] if isinstance(members, dict) else members)]
        if isinstance(members, dict):
            listed += [(m, "member via the European Union") for m in members.get("EU", [])]
        seen: set[str] = set()
        for member, note in listed:
            iso3 = countries.to_iso3(member)
            if iso3 is None or iso3 in {"WLD", "OTH"}:
                raise CritminError(f"APRI bloc {gid}: cannot resolve member {member!r}")
            if iso3 not in seen:
                seen.add(iso3)
                rows.append(_apri_row(gid, name, iso3, bloc, note))
    curated = pd.read_csv(CURATED_DIR / "groups_curated.csv", dtype=str).fillna("")
    df = pd.concat([pd.DataFrame(rows), curated], ignore_index=True)
    df = df.drop_duplicates(subset=["group_id", "country"], keep="first")
    return _conform(df.sort_values(["group_id", "country"], ignore_index=True), TABLES["groups"])


def _apri_row(gid: str, name: str, iso3: str, bloc: dict[str, Any], note: str) -> dict[str, str]:
    return {
        "group_id": gid,
        "name": name,
        "country": iso3,
        "citation": f"{name}, official page (as linked by the APRI partnerships tracker, 2026-03)",
        "url": str(bloc.get("link", "")),
        "as_of": str(bloc.get("date", "")),
        "note": note,
    }


def product_class(stage: str, hs6: str) -> str:
    """Elasticity class: mine stage -> ore; product stage -> product; HS chapter 28 -> chemical;
    everything else -> metal."""
    if stage == "mine":
        return "ore"
    if stage == "product":
        return "product"
    return "chemical" if hs6.startswith("28") else "metal"


def build_products() -> pd.DataFrame:
    df = pd.read_csv(CURATED_DIR / "products.csv", dtype={"hs6": str}).fillna(
        {c: "" for c in ("content_basis", "usgs_mineral", "usgs_stage", "eu_material", "caveat")}
    )
    df["hs6"] = df["hs6"].str.zfill(6)
    df["product_class"] = [product_class(s, h) for s, h in zip(df["stage"], df["hs6"], strict=True)]
    if df["product_id"].duplicated().any() or df["hs6"].duplicated().any():
        raise CritminError("products.csv: product ids and HS6 codes must be unique")
    return _conform(df, TABLES["products"])


def build_elasticities() -> pd.DataFrame:
    return _conform(pd.read_csv(CURATED_DIR / "elasticities.csv"), TABLES["elasticities"])


# --------------------------------------------------------------------------- writing


def _conform(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Select and order the schema's columns, with their dtypes."""
    missing = [c for c in schema.column_names if c not in df.columns]
    if missing:
        raise CritminError(f"table {schema.name}: the build produced no column(s) {missing}")
    out = df[schema.column_names].copy()
    for col in schema.columns:
        if col.dtype == "str":
            out[col.name] = out[col.name].astype("string")
        elif col.dtype == "int":
            out[col.name] = out[col.name].astype("int64")
        elif col.dtype == "float":
            out[col.name] = pd.to_numeric(out[col.name], errors="raise").astype("float64")
        elif col.dtype == "bool":
            out[col.name] = out[col.name].astype(bool)
    return out.reset_index(drop=True)


TRANSFORMS: dict[str, list[str]] = {
    "supply": [
        "read every MCS2023 and MCS2024 per-commodity world file, the MCS2025 long world file and "
        "the World sections of the MCS2026 commodities file",
        "country names stripped of spaces and footnote digits, mapped to ISO3 (WLD, OTH aggregates)",
        "units converted once to metric tonnes (kg x 0.001, thousand t x 1000)",
        "unit labels that contradict the source's own notes and other editions (MCS2023 "
        "chromium production, MCS2025 titanium mineral concentrates and industrial sand: "
        "thousand t labelled t) read in the unit of curated/usgs_unit_corrections.csv, a "
        "reason per row; unit_source keeps the published label, note says so",
        "W / NA / -- kept as NaN with missing_reason; bands ('>2000000') kept as NaN with reason",
        "years 2021-2025 kept; every edition kept, is_latest marks the newest edition per figure",
    ],
    "flows": [
        "BACI 2024 parquet: value_kusd x 1000 -> value_usd, qty_t -> quantity_t",
        "BACI 2022 value-only CSV: value (USD) kept, quantity absent (NaN)",
        "HS6 codes mapped to critmin product ids through the concordance",
        "basis 'observed', method 'baci' for every BACI row",
        "catalog products with no other flows (nickel matte 750110, nickel intermediates "
        "750120, natural flake graphite 250410) from CEPII BACI HS07's ASEAN extract: ASEAN "
        "pairs only, basis 'observed', method 'baci_asean_extract'",
        "intermediates without observed trade (curated/flow_estimates.csv) estimated by "
        "critmin.data.estimate: USGS output by country at each stage, own output first, "
        "proportional (RAS from a uniform seed) allocation of export supply to import need, "
        "valued with reporters' (UN Comtrade) import values from the world or USGS prices; "
        "basis 'estimate', method 'mass_balance'; no Comtrade row is copied",
    ],
    "estimate_balance": [
        "per product, year and country: the supply, demand, own use, exports and imports "
        "(tonnes of content) of the estimate; exports and imports are the sums of its flows",
    ],
    "wgi": ["2023 rows only; '..' -> NaN; legacy WB codes (ZAR, ROM, ADO, TMP, WBG, KSV) -> ISO3"],
    "eu_supply_shares": [
        "cp1252 decoded; '12.3%' -> 0.123; '<0.1%' -> 0.0005 (share_text keeps the original)",
        "EU country names mapped to ISO3; 'Other' -> OTH",
    ],
    "eu_sr_ei": ["'-' (not assessed) -> NaN"],
    "us_salient": [
        "per-commodity salient CSVs of MCS2023-2025 and the salient section of MCS2026",
        "files that do not hold salient data (MCS2024 cobalt/gypsum/kyanite) skipped",
        "bands like '>25' stored as the lower bound with missing_reason 'band'",
        "every series of a statistic kept (one row per published cell), told apart by detail: "
        "the MCS2026 Statistics_detail, or the middle words of a CSV header (e.g. "
        "Consump_Apparent_t -> 'apparent')",
    ],
    "groups": [
        "worldcountrygroups 0.5.0 JSON memberships (ISO3 as published)",
        "reviewed corrections from curated/groups_corrections.csv, with a reason each",
        "MSP, IPEF, SCMA, CMMI members from the APRI tracker, names mapped to ISO3; the EU as a "
        "partner expands to the EU27 with a note",
        "US FTA partners, US critical-minerals agreement, February 2026 ministerial frameworks "
        "and FORGE from curated/groups_curated.csv (each row cites its page)",
    ],
    "products": ["curated concordance; product_class derived from stage and HS chapter"],
    "elasticities": ["curated defaults and ranges, one citation per row"],
}

PUBLICATIONS: dict[str, list[prov.Publication]] = {
    "supply": list(prov.USGS_MCS.values()),
    "us_salient": [prov.USGS_MCS[e] for e in ("MCS2023", "MCS2024", "MCS2025", "MCS2026")],
    "flows": [
        prov.BACI,
        prov.BACI_ASEAN,
        # the estimates of a trade year use the newest edition publishing its output:
        # MCS2024 for 2022, MCS2026 for 2024 (and USGS prices)
        prov.USGS_MCS["MCS2024"],
        prov.USGS_MCS["MCS2026"],
        prov.EU_CRM,
        prov.COMTRADE_AGGREGATES,
    ],
    "estimate_balance": [
        prov.USGS_MCS["MCS2024"],
        prov.USGS_MCS["MCS2026"],
        prov.EU_CRM,
        prov.CRITMIN_CURATED,
    ],
    "wgi": [prov.WGI],
    "eu_supply_shares": [prov.EU_CRM],
    "eu_sr_ei": [prov.EU_CRM],
    "groups": [prov.GROUP_SOURCES],
    "products": [prov.CRITMIN_CURATED],
    "elasticities": [prov.CRITMIN_CURATED],
}


def source_hashes(source: Path, patterns: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pattern in patterns:
        if pattern.startswith("src/") or " " in pattern:
            continue
        for p in sorted(source.glob(pattern)):
            out[str(p.relative_to(source))] = file_sha256(p)
    return out


def write_reference(
    tables: dict[str, pd.DataFrame],
    quality: list[dict[str, Any]],
    source: Path,
    out_dir: Path = REFERENCE_DIR,
) -> dict[str, Any]:
    """Write Parquet tables, manifest.json and quality.json as one
    (:func:`critmin.util.write_bytes_together`): every file is made first, then all are
    renamed into place, so that Ctrl-C or a failure midway leaves the folder's earlier dataset
    as it was, not new tables beside an old manifest, and no temporary file."""
    from critmin.util import write_bytes_together

    manifest: dict[str, Any] = {
        "built": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "critmin_schema": 1,
        "tables": {},
    }
    blobs: dict[Path, bytes] = {}
    for name, df in tables.items():
        schema = TABLES[name]
        path = out_dir / f"{name}.parquet"
        buffer = io.BytesIO()
        df.to_parquet(buffer, index=False, compression="zstd")
        blobs[path] = buffer.getvalue()
        pubs = PUBLICATIONS[name]
        files = [f for p in pubs for f in p.files]
        manifest["tables"][name] = {
            "file": path.name,
            "sha256": hashlib.sha256(blobs[path]).hexdigest(),
            "rows": len(df),
            "row": schema.row,
            "columns": [
                {"name": c.name, "dtype": c.dtype, "unit": c.unit, "description": c.description}
                for c in schema.columns
            ],
            "provenance": [p.to_dict() for p in pubs],
            "source_sha256": source_hashes(source, files),
            "transformations": TRANSFORMS[name],
        }
    for name in tables:  # a table its readers would refuse must not replace the earlier one
        path = out_dir / f"{name}.parquet"
        try:
            parse_table(name, path, blobs[path])
        except DataIntegrityError as err:
            raise DataIntegrityError(
                f"the build made a table that cannot be used, so nothing was written and "
                f"{out_dir} is as it was: {err}".replace("; rebuild it", "")
                + " (a source file holds values out of range?)"
            ) from None
    blobs[out_dir / "manifest.json"] = _json_bytes(manifest)
    blobs[out_dir / "quality.json"] = _json_bytes({"issues": quality})
    write_bytes_together(blobs)
    return manifest


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n").encode("utf-8")


KNOWN_GAPS = [
    "No all-reporter trade for spodumene (253090), lithium hydroxide (282520), cobalt hydroxide "
    "(810520), rare-earth compounds (2846), battery graphite (250410/380110): the ores and "
    "intermediates of curated/flow_estimates.csv are estimated (basis 'estimate'); lithium "
    "hydroxide, rare-earth compounds and metals and battery graphite have no flows until a full "
    "BACI release is ingested (critmin data build --baci); nickel matte, MHP and natural flake "
    "graphite have the ASEAN pairs of BACI's ASEAN extract only.",
    "DRC->China cobalt is booked by China under 810520; BACI 282200 misses it (810520 is "
    "estimated).",
    "HS 811292 mixes gallium, germanium, hafnium and other metals.",
    "National refined output is not published for most minerals: where the model needs it, it "
    "is estimated from world mine output x EU 2023 processing shares and marked as an estimate.",
]


def build(
    source: Path = DEFAULT_SOURCE, out_dir: Path = REFERENCE_DIR, log: Progress = print
) -> dict[str, Any]:
    """Compile every table and write the bundled reference dataset; returns the manifest."""
    source = Path(source)
    if not source.exists():
        from critmin.util import why_missing

        raise CritminError(f"source folder {source} {why_missing(source)}: expected ../shared/data")
    if not source.is_dir():
        raise CritminError(f"source folder {source} is a file: give the folder of the releases")
    quality: list[dict[str, Any]] = [
        {"table": "*", "kind": "known_gap", "text": t} for t in KNOWN_GAPS
    ]
    products = build_products()
    supply, supply_issues = build_supply(source, log)
    quality += supply_issues
    flows = build_flows(source, products, log)
    nan_q = flows[(flows["year"] == 2024) & flows["quantity_t"].isna()]
    quality.append(
        {
            "table": "flows",
            "kind": "missing_quantity_2024",
            "rows": len(nan_q),
            "value_usd": float(nan_q["value_usd"].sum()),
        }
    )
    eu_shares, sr_ei = build_eu(source, log)
    tables = {
        "supply": supply,
        "flows": flows,
        "wgi": build_wgi(source, log),
        "eu_supply_shares": eu_shares,
        "eu_sr_ei": sr_ei,
        "us_salient": build_salient(source, log),
        "groups": build_groups(source, log),
        "products": products,
        "elasticities": build_elasticities(),
    }
    estimated, balance = build_estimates(source, flows, tables, log)
    covered = set(flows["product_id"]) | set(estimated["product_id"])
    regional = build_regional_flows(source, products, covered, flows, log)
    tables["flows"] = pd.concat([flows, estimated, regional], ignore_index=True)
    tables["estimate_balance"] = balance
    log(f"writing {len(tables)} tables to {out_dir}")
    return write_reference(tables, quality, source, out_dir)


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("_", text.lower()).strip("_")
