"""Calibration: from the bundled data (or a user's flows CSV) to one market's baseline arrays.

For a product k and trade year, the countries are every exporter, importer and producer.

- ``V_ij`` (i != j): BACI value of i's exports to j (USD, FOB-reconciled).
- ``V_ii`` domestic sales = max(output_i - exports_i, 0) x unit value_i, where output_i is the
  national output of the traded product in tonnes:
    * USGS production at the product's stage (e.g. refined copper), in element tonnes, divided
      by the product's content factor (Li in Li2CO3 = 0.1879);
    * where USGS publishes only mine output for a refined product, output_i is *estimated* as
      world mine output x the EU 2023 processing-stage (P) share of i (DESIGN.md, Calibration);
    * with nothing to support an estimate, V_ii = 0 and a warning travels with the result.
- ``p0_ij`` baseline unit value (USD/t): BACI value / quantity for the pair where both exist,
  else the product's world unit value; the scenario's ``baseline_price_usd_per_t`` always wins.
- ``t0`` = 0 (the bundled data has no tariff schedule; a user's flows CSV may give one).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.errors import CritminError, DataIntegrityError, ScenarioError, did_you_mean
from critmin.world import AGGREGATES, World

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class ProductBaseline:
    """One market's calibrated baseline."""

    product_id: str
    name: str
    countries: list[str]
    V: np.ndarray
    t0: np.ndarray
    p0: np.ndarray
    product_class: str = "metal"
    stage: str = "refine"
    mineral: str = ""
    hs6: str = ""
    warnings: list[str] = field(default_factory=list)
    estimated_domestic: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.countries)

    def index(self, codes: set[str] | list[str]) -> np.ndarray:
        """Boolean mask over countries."""
        s = set(codes)
        return np.array([c in s for c in self.countries], dtype=bool)


def _nearest_year(years: list[int], year: int) -> int | None:
    if not years:
        return None
    return min(years, key=lambda y: (abs(y - year), -y))


def _nansum(values: np.ndarray) -> float:
    """The sum of ``values`` with NaN counted as 0: pandas' ``Series.sum()`` (NaN filled with
    0, then numpy's pairwise sum over the whole array), so that the bits are the same."""
    return float(np.where(np.isnan(values), 0.0, values).sum())


def _group_sums(keys: np.ndarray, values: np.ndarray) -> dict[str, tuple[float, int]]:
    """Per key (sorted; ``None`` keys left out): the sum of ``values`` over its rows, NaN
    skipped, and how many values were not NaN. The arithmetic of pandas' (3.x)
    ``groupby(key)[column].sum()``, so that the bits are the same: where the rows come grouped
    by key in sorted order and no value is NaN, numpy's ``add.reduceat`` over each key's run
    of rows; otherwise a compensated (Kahan) sum in row order, step for step as pandas'
    Cython ``group_sum``."""
    present = [k for k in keys.tolist() if k is not None]
    order = sorted(set(present))
    if not order:
        return {}
    code = {k: i for i, k in enumerate(order)}
    ids = np.array([-1 if k is None else code[k] for k in keys.tolist()], dtype=np.intp)
    counts = np.bincount(ids[ids >= 0], weights=~np.isnan(values[ids >= 0]), minlength=len(order))
    if (np.diff(ids) >= 0).all() and not np.isnan(values).any():
        first = int((ids < 0).sum())
        starts = np.flatnonzero(np.r_[True, ids[first + 1 :] != ids[first:-1]])
        sums = np.add.reduceat(values[first:], starts).tolist()
        return {k: (s, int(n)) for k, s, n in zip(order, sums, counts.tolist(), strict=True)}
    acc = [[0.0, 0.0] for _ in order]  # sum, compensation
    for i, value in zip(ids.tolist(), values.tolist(), strict=True):
        if i < 0 or value != value:  # no key, or NaN
            continue
        a = acc[i]
        y = value - a[1]
        t = a[0] + y
        c = t - a[0] - y
        a[1] = 0.0 if c != c else c
        a[0] = t
    return {k: (a[0], int(n)) for k, a, n in zip(order, acc, counts.tolist(), strict=True)}


def _usgs_output(
    world: World, minerals: list[str], stage: str, year: int
) -> tuple[dict[str, float], int | None]:
    """Country production (element t) summed over minerals, for the year or the nearest year
    (NaN for a country whose figures are all missing); countries in sorted order."""
    cols = world.supply_columns(minerals, stage, "production")
    keep = np.array([c not in AGGREGATES for c in cols["country"].tolist()], dtype=bool)
    chosen = _nearest_year(sorted({int(y) for y in cols["year"][keep].tolist()}), year)
    if chosen is None:
        return {}, None
    rows = keep & (cols["year"] == chosen)
    sums = _group_sums(cols["country"][rows], cols["value_t"][rows])
    return {c: (s if n >= 1 else float("nan")) for c, (s, n) in sums.items()}, chosen


def _world_total(world: World, minerals: list[str], stage: str, year: int) -> float | None:
    cols = world.supply_columns(minerals, stage, "production")
    wld = cols["country"] == "WLD"
    chosen = _nearest_year(sorted({int(y) for y in cols["year"][wld].tolist()}), year)
    if chosen is None:
        return None
    values = cols["value_t"][wld & (cols["year"] == chosen)]
    if not (~np.isnan(values)).any():
        return None
    v = _nansum(values)
    return v if np.isfinite(v) else None


def domestic_output_tonnes(
    world: World, product: Mapping[str, Any], year: int
) -> tuple[dict[str, float], bool, str]:
    """National output of the product (a products-table row) in product tonnes by country
    (sorted), whether it is an estimate, and a note."""
    minerals = [m for m in str(product["usgs_mineral"]).split(";") if m]
    cf = float(product["content_factor"]) if product["content_factor"] is not None else np.nan
    if not minerals or not np.isfinite(cf) or cf <= 0:
        return {}, False, "no national output data for this product"
    usgs_stage = str(product["usgs_stage"])
    prod_stage = "mine" if product["stage"] == "mine" else "refine"
    if usgs_stage == prod_stage:
        out, used_year = _usgs_output(world, minerals, usgs_stage, year)
        note = f"USGS {usgs_stage} production {used_year}"
        return _per_cf(out, cf), False, note
    # refined product, only mine output published: world mine output x EU processing shares
    world_mine = _world_total(world, minerals, usgs_stage, year)
    materials = {m.lower() for m in str(product["eu_material"]).split(";") if m}
    shares = world.processing_shares
    rows = np.array([m in materials for m in shares["material"].tolist()], dtype=bool)
    if world_mine is None or not rows.any():
        out, used_year = _usgs_output(world, minerals, usgs_stage, year)
        return (
            _per_cf(out, cf),
            True,
            (f"estimate: USGS {usgs_stage} output {used_year} used as a proxy for refined output"),
        )
    sums = _group_sums(shares["country"][rows], shares["share"][rows])
    est = {c: s * world_mine / cf for c, (s, _) in sums.items()}
    return est, True, "estimate: USGS world mine output x EU 2023 processing (P) shares"


def _per_cf(out: dict[str, float], cf: float) -> dict[str, float]:
    """Element tonnes to product tonnes; countries without a figure left out."""
    return {c: v / cf for c, v in out.items() if not np.isnan(v / cf)}


class NoTradeError(CritminError):
    """A bundled product without trade flows in the world's year (a catalog entry whose HS
    code the trade data lack): a scenario naming it is told so, naming the product."""


def _check_flow_values(pid: str, world: World, value: np.ndarray, quantity: np.ndarray) -> None:
    """A dataset's flows are amounts: a value that is not a finite number at least 0 (a
    damaged or hand-edited table of a user's dataset) is refused, not calibrated on (a
    quantity may be missing: NaN)."""
    bad_value = ~(np.isfinite(value) & (value >= 0))
    bad_q = ~np.isnan(quantity) & ~(np.isfinite(quantity) & (quantity >= 0))
    if bad_value.any() or bad_q.any():
        col, arr, bad = (
            ("value_usd", value, bad_value) if bad_value.any() else ("quantity_t", quantity, bad_q)
        )
        raise DataIntegrityError(
            f"the dataset's flows of {pid} ({world.year}) hold {int(bad.sum())} {col} value(s) "
            f"that are not finite amounts at least 0 (e.g. {float(arr[bad][0])!r}): the dataset is "
            "damaged; check it with 'critmin data check' or rebuild it"
        )


def bundled_baseline(
    world: World, product_id: str, price_usd_per_t: float | None = None
) -> ProductBaseline:
    """Calibrate a bundled product for the world's trade year (numpy on the world's indexed
    columns; the sums are those of the earlier pandas code, bit for bit)."""
    product = world.product_record(product_id)
    pid = str(product["product_id"])
    cols = world.flow_columns(pid)
    exporter, importer = cols["exporter"], cols["importer"]
    _check_flow_values(pid, world, cols["value_usd"], cols["quantity_t"])
    keep = (exporter != importer) & (cols["value_usd"] > 0)
    if not keep.any():
        raise NoTradeError(
            f"product {pid!r} has no trade flows in {world.year} in the dataset: it cannot be "
            "simulated that year (the catalog lists it; its HS code is absent from the trade data)"
        )
    exporter, importer = exporter[keep], importer[keep]
    value, q = cols["value_usd"][keep], cols["quantity_t"][keep]
    warnings: list[str] = []

    # unit values (USD/t): pair, exporter, world
    has_q = ~np.isnan(q) & (q > 0)
    world_uv = float(value[has_q].sum() / q[has_q].sum()) if has_q.any() else None
    if world_uv is None and world.year != 2024:
        from critmin.world import load_world

        f24 = load_world(2024).flow_columns(pid)
        ok = ~np.isnan(f24["quantity_t"]) & (f24["quantity_t"] > 0)
        if ok.any():
            world_uv = _nansum(f24["value_usd"][ok]) / _nansum(f24["quantity_t"][ok])
            warnings.append(f"{world.year} has no quantities: unit values from 2024 BACI")
    if price_usd_per_t is not None:
        world_uv = float(price_usd_per_t)
    if world_uv is None:
        raise ScenarioError(
            f"product[{pid}].baseline_price_usd_per_t",
            "this product has no quantities to derive a unit value: give baseline_price_usd_per_t",
        )
    # pair unit values far from the world's are misreported or misclassified goods (e.g. 957 t
    # "lithium carbonate" PRT->ESP at USD 284/t): they fall back to the world unit value
    pair_uv = value / np.where(has_q, q, np.nan)
    ratio = pair_uv / world_uv
    plausible = has_q & (ratio >= 1 / UNIT_VALUE_BAND) & (ratio <= UNIT_VALUE_BAND)
    odd = has_q & ~plausible
    if odd.any():
        warnings.append(
            f"{int(odd.sum())} of {int(has_q.sum())} pair unit values lie outside "
            f"{1 / UNIT_VALUE_BAND:g}-{UNIT_VALUE_BAND:g}x the world unit value "
            f"(USD {world_uv:,.0f}/t) and were replaced by it "
            f"({100 * value[odd].sum() / value.sum():.1f}% of trade value)"
        )
    exp_value = _group_sums(exporter[plausible], value[plausible])
    exp_tonnes = _group_sums(exporter[plausible], q[plausible])
    exp_uv = {c: s / exp_tonnes[c][0] for c, (s, _) in exp_value.items()}

    output_t, estimated, note = domestic_output_tonnes(world, product, world.year)
    codes = sorted(
        (
            set(exporter.tolist())
            | set(importer.tolist())
            | {c for c, t in output_t.items() if t > 0}
        )
        - AGGREGATES
    )
    pos = {c: k for k, c in enumerate(codes)}
    n = len(codes)
    V = np.zeros((n, n))
    p0 = np.full((n, n), world_uv)
    ei = np.array([pos[c] for c in exporter.tolist()], dtype=np.intp)
    ij = np.array([pos[c] for c in importer.tolist()], dtype=np.intp)
    np.add.at(V, (ei, ij), value)
    if price_usd_per_t is None:
        p0[ei[plausible], ij[plausible]] = pair_uv[plausible]

    # domestic sales
    exports_value = V.sum(axis=1) - np.diag(V)
    estimated_domestic: list[str] = []
    if not output_t:
        warnings.append(f"domestic sales set to 0 for every country: {note}")
    else:
        for c, out_t in output_t.items():
            if c not in pos or not np.isfinite(out_t) or out_t <= 0:
                continue
            uv = float(exp_uv.get(c, world_uv)) if price_usd_per_t is None else world_uv
            uv = uv if np.isfinite(uv) and uv > 0 else world_uv
            k = pos[c]
            exports_t = float(exports_value[k]) / uv
            dom_t = max(float(out_t) - exports_t, 0.0)
            V[k, k] = dom_t * uv
            p0[k, k] = uv
            if estimated and dom_t > 0:
                estimated_domestic.append(c)
        no_data = [c for c in codes if c not in output_t]
        warnings.append(
            f"domestic sales from {note}; countries without published output have 0 domestic "
            f"sales ({len(no_data)} of {n})"
        )
    sources = _flow_sources(cols["basis"][keep], cols["method"][keep], value, world.year)
    return ProductBaseline(
        product_id=pid,
        name=str(product["name"]),
        countries=codes,
        V=V,
        t0=np.zeros((n, n)),
        p0=p0,
        product_class=str(product["product_class"]),
        stage=str(product["stage"]),
        mineral=str(product["mineral"]),
        hs6=str(product["hs6"]),
        warnings=[
            *warnings,
            *[x for x in sources if x.startswith("critmin estimate")],
            *([f"caveat: {product['caveat']}"] if product["caveat"] else []),
        ],
        estimated_domestic=estimated_domestic,
        sources=[*sources, note],
    )


def _flow_sources(basis: np.ndarray, method: np.ndarray, value: np.ndarray, year: int) -> list[str]:
    """Where the product's flows come from; estimated flows are named as such."""
    out = [f"CEPII BACI HS17 V202601 {year}"] if (basis == "observed").any() else []
    est = basis == "estimate"
    if est.any():
        share = value[est].sum() / value.sum()
        out.append(
            f"critmin estimate ({', '.join(sorted(set(method[est].tolist())))}): "
            f"{100 * share:.0f}% of trade value rests on estimated flows, not observed trade "
            "(docs/data.md, 'Estimated flows of the intermediates')"
        )
    return out


UNIT_VALUE_BAND = 4.0
"""Pair unit values outside [1/4, 4] x the product's world unit value are treated as misreported."""

USER_FLOW_COLUMNS = ("exporter", "importer", "value_usd")
USER_FLOW_NUMBERS = {"value_usd": 1e15, "quantity_t": 1e12, "tariff": 10.0}
"""Numeric columns of a user's flows file and their upper bound: USD 10^15 a row (ten times world
GDP), 10^12 t (a hundred times the world's coal output), a tariff of 10 (1000%, as a scenario's
tariff policy allows); every value must be finite and >= 0."""

MAX_FLOWS_BYTES = 64 * 2**20
"""The largest flows file read (64 MiB): every pair of 1,000 countries on its own row is about
30 MB; a file that never ends (``/dev/zero``) is refused after this many bytes, not read into
memory without bound."""

MAX_USER_COUNTRIES = 1_000
"""The most countries (or regions) one user's market may name: four times the world's, while
the model's arrays grow with their square (17,576 three-letter codes would need tens of GiB)."""


def read_user_flows(path: Path, field_name: str) -> pd.DataFrame:
    """A user's flows CSV, checked cell by cell: exporter and importer are 3-letter codes;
    value_usd is a finite number >= 0 on every row; quantity_t and tariff may be blank (not
    given) but otherwise finite and >= 0. Every problem names the file, line and column."""
    import pandas as pd

    if not path.exists():
        from critmin.util import why_missing

        raise ScenarioError(field_name, f"flows file {path} {why_missing(path)}")
    if path.is_dir():
        raise ScenarioError(field_name, f"flows file {path} is a folder: give a .csv file")
    try:
        with path.open("rb") as f:  # at most one byte past the limit: /dev/zero never ends
            data = f.read(MAX_FLOWS_BYTES + 1)
    except OSError as err:
        raise ScenarioError(field_name, f"cannot read {path}: {err.strerror or err}") from None
    if len(data) > MAX_FLOWS_BYTES:
        raise ScenarioError(
            field_name,
            f"flows file {path} is larger than {MAX_FLOWS_BYTES // 2**20} MiB (a row for each "
            "pair of 1,000 countries takes about 30 MB): is it the right file?",
        )
    try:
        raw = pd.read_csv(
            io.BytesIO(data),
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
            skip_blank_lines=False,  # the index stays the line number - 2
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ScenarioError(field_name, f"{path} is not a readable CSV ({err})") from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in USER_FLOW_COLUMNS if c not in raw.columns]
    if missing:
        raise ScenarioError(
            field_name,
            f"{path} lacks column(s) {', '.join(missing)}; "
            "expected exporter,importer,value_usd[,quantity_t][,tariff]",
        )
    known = {*USER_FLOW_COLUMNS, *USER_FLOW_NUMBERS}
    unknown = [c for c in raw.columns if c not in known]
    if unknown:  # a misspelt column ('tarif') would otherwise be left out in silence
        hint = did_you_mean(unknown[0], sorted(known))
        raise ScenarioError(
            field_name,
            f"{path} has column(s) critmin does not read: {', '.join(unknown)}{hint}; "
            "expected exporter,importer,value_usd[,quantity_t][,tariff]",
        )
    raw = raw[~(raw.apply(lambda c: c.str.strip()) == "").all(axis=1)]
    if raw.empty:
        raise ScenarioError(field_name, f"{path} has a header but no rows of flows")

    def bad(row: int, col: str, value: str, allowed: str) -> ScenarioError:
        shown = repr(value) if value.strip() else "an empty cell"
        line = int(raw.index[row]) + 2
        return ScenarioError(
            field_name, f"{path} line {line}, column {col}: {allowed}, got {shown}"
        )

    df = pd.DataFrame(index=raw.index)  # line numbers kept for the messages
    for col in ("exporter", "importer"):
        codes = raw[col].str.strip().str.upper()
        ok = codes.str.fullmatch(r"[A-Z]{3}")
        if not ok.all():
            row = int(np.flatnonzero(~ok.to_numpy())[0])
            raise bad(row, col, raw[col].iloc[row], "expected a 3-letter country code")
        df[col] = codes
    named = len(set(df["exporter"]) | set(df["importer"]))
    if named > MAX_USER_COUNTRIES:
        raise ScenarioError(
            field_name,
            f"{path} names {named:,} countries or regions, more than the {MAX_USER_COUNTRIES:,} "
            "a market can have (the model's arrays grow with their square): aggregate the "
            "smallest into regions",
        )
    for col, upper in USER_FLOW_NUMBERS.items():
        if col not in raw.columns:
            continue
        text = raw[col].str.strip()
        blank = text == ""
        vals = pd.to_numeric(text.where(~blank), errors="coerce")
        allowed = f"expected a finite number >= 0 and <= {upper:g}"
        wrong = (vals.isna() & ~blank) | ~np.isfinite(vals.fillna(0.0)) | (vals < 0)
        wrong |= vals > upper
        if col == "value_usd":
            wrong |= blank
        if wrong.any():
            row = int(np.flatnonzero(wrong.to_numpy())[0])
            raise bad(row, col, raw[col].iloc[row], allowed)
        df[col] = vals.astype(float)
    if not (df["value_usd"] > 0).any():
        raise ScenarioError(field_name, f"{path}: every value_usd is 0, so there is no market")
    if "tariff" in df.columns:
        _one_tariff_a_pair(df, path, field_name)
    return df


def _one_tariff_a_pair(df: pd.DataFrame, path: Path, field_name: str) -> None:
    """A pair on several rows of a user's flows file has its values added up and one baseline
    tariff: rows of one pair with different tariffs (a blank one is 0) are refused, naming
    the lines, instead of the last row's tariff applying to the sum in silence."""
    tariff = df["tariff"].fillna(0.0)
    pair = [df["exporter"], df["importer"]]
    mixed = tariff.groupby(pair).transform("nunique").to_numpy() > 1
    if not mixed.any():
        return
    k = int(np.flatnonzero(mixed)[0])
    exporter, importer = df["exporter"].iloc[k], df["importer"].iloc[k]
    rows = (df["exporter"] == exporter) & (df["importer"] == importer)
    lines = [int(i) + 2 for i in df.index[rows]]
    rates = ", ".join(f"{t:g}" for t in tariff[rows])
    raise ScenarioError(
        field_name,
        f"{path} lines {', '.join(map(str, lines))}: {exporter} -> {importer} has the tariffs "
        f"{rates}; a pair's rows are added up and take one tariff: give the same one (or one row)",
    )


def user_baseline(
    product_id: str, path: Path, price_usd_per_t: float | None, field_name: str
) -> ProductBaseline:
    """A user's own market from a CSV: exporter,importer,value_usd[,quantity_t][,tariff].

    Rows with exporter == importer are domestic sales. Codes must be ISO3 (any 3-letter code is
    accepted for a user's own market, so that fictional or aggregated regions work).
    """
    df = read_user_flows(path, field_name)
    codes = sorted(set(df["exporter"]) | set(df["importer"]))
    pos = {c: k for k, c in enumerate(codes)}
    n = len(codes)
    V = np.zeros((n, n))
    t0 = np.zeros((n, n))
    ei = df["exporter"].map(pos).to_numpy()
    ij = df["importer"].map(pos).to_numpy()
    np.add.at(V, (ei, ij), df["value_usd"].to_numpy(dtype=float))
    if "tariff" in df.columns:
        t0[ei, ij] = df["tariff"].fillna(0.0).to_numpy()
    uv: float | None = price_usd_per_t
    if uv is None and "quantity_t" in df.columns and (df["quantity_t"] > 0).any():
        ok = df["quantity_t"] > 0
        uv = float(df.loc[ok, "value_usd"].sum() / df.loc[ok, "quantity_t"].sum())
    p0 = np.full((n, n), uv if uv is not None else np.nan)
    return ProductBaseline(
        product_id=product_id,
        name=product_id,
        countries=codes,
        V=V,
        t0=t0,
        p0=p0,
        product_class="metal",
        warnings=[] if uv is not None else ["no baseline price: price floors cannot apply"],
        sources=[f"user flows {path.name}"],
    )
