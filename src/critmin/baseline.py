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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.errors import CritminError, ScenarioError
from critmin.world import AGGREGATES, World


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


def _usgs_output(
    world: World, minerals: list[str], stage: str, year: int
) -> tuple[pd.Series, int | None]:
    """Country production (element t) summed over minerals, for the year or the nearest year."""
    df = world.supply_rows(minerals, stage, "production")
    df = df[~df["country"].isin(list(AGGREGATES))]
    chosen = _nearest_year(sorted(int(y) for y in df["year"].unique()), year)
    if chosen is None:
        return pd.Series(dtype=float), None
    sub = df[df["year"] == chosen]
    return sub.groupby("country")["value_t"].sum(min_count=1), chosen


def _world_total(world: World, minerals: list[str], stage: str, year: int) -> float | None:
    df = world.supply_rows(minerals, stage, "production")
    df = df[df["country"] == "WLD"]
    chosen = _nearest_year(sorted(int(y) for y in df["year"].unique()), year)
    if chosen is None:
        return None
    v = df[df["year"] == chosen]["value_t"].sum(min_count=1)
    return float(v) if np.isfinite(v) else None


def domestic_output_tonnes(
    world: World, product: pd.Series, year: int
) -> tuple[pd.Series, bool, str]:
    """National output of the product in product tonnes, whether it is an estimate, and a note."""
    minerals = [m for m in str(product["usgs_mineral"]).split(";") if m]
    cf = float(product["content_factor"]) if pd.notna(product["content_factor"]) else float("nan")
    if not minerals or not np.isfinite(cf) or cf <= 0:
        return pd.Series(dtype=float), False, "no national output data for this product"
    usgs_stage = str(product["usgs_stage"])
    prod_stage = "mine" if product["stage"] == "mine" else "refine"
    if usgs_stage == prod_stage:
        out, used_year = _usgs_output(world, minerals, usgs_stage, year)
        note = f"USGS {usgs_stage} production {used_year}"
        return (out / cf).dropna(), False, note
    # refined product, only mine output published: world mine output x EU processing shares
    world_mine = _world_total(world, minerals, usgs_stage, year)
    materials = [m for m in str(product["eu_material"]).split(";") if m]
    shares = world.eu_supply_shares[
        (world.eu_supply_shares["scope"] == "global")
        & (world.eu_supply_shares["stage"] == "P")
        & (world.eu_supply_shares["material"].str.lower().isin([m.lower() for m in materials]))
        & (world.eu_supply_shares["country"] != "OTH")
    ]
    if world_mine is None or shares.empty:
        out, used_year = _usgs_output(world, minerals, usgs_stage, year)
        return (
            (out / cf).dropna(),
            True,
            (f"estimate: USGS {usgs_stage} output {used_year} used as a proxy for refined output"),
        )
    est = shares.groupby("country")["share"].sum() * world_mine
    return est / cf, True, "estimate: USGS world mine output x EU 2023 processing (P) shares"


def bundled_baseline(
    world: World, product_id: str, price_usd_per_t: float | None = None
) -> ProductBaseline:
    """Calibrate a bundled product for the world's trade year."""
    product = world.product(product_id)
    pid = str(product["product_id"])
    flows = world.product_flows(pid)
    flows = flows[(flows["exporter"] != flows["importer"]) & (flows["value_usd"] > 0)]
    warnings: list[str] = []
    if flows.empty:
        raise CritminError(f"product {pid!r} has no trade flows in {world.year}")

    # unit values (USD/t): pair, exporter, world
    q = flows["quantity_t"]
    has_q = q.notna() & (q > 0)
    world_uv = float(flows.loc[has_q, "value_usd"].sum() / q[has_q].sum()) if has_q.any() else None
    if world_uv is None and world.year != 2024:
        from critmin.world import load_world

        f24 = load_world(2024).product_flows(pid)
        ok = f24["quantity_t"].notna() & (f24["quantity_t"] > 0)
        if ok.any():
            world_uv = float(f24.loc[ok, "value_usd"].sum() / f24.loc[ok, "quantity_t"].sum())
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
    pair_uv = flows["value_usd"] / q.where(has_q)
    ratio = pair_uv / world_uv
    plausible = has_q & ratio.between(1 / UNIT_VALUE_BAND, UNIT_VALUE_BAND)
    odd = has_q & ~plausible
    if odd.any():
        warnings.append(
            f"{int(odd.sum())} of {int(has_q.sum())} pair unit values lie outside "
            f"{1 / UNIT_VALUE_BAND:g}-{UNIT_VALUE_BAND:g}x the world unit value "
            f"(USD {world_uv:,.0f}/t) and were replaced by it "
            f"({100 * flows.loc[odd, 'value_usd'].sum() / flows['value_usd'].sum():.1f}% of trade value)"
        )
    exp_uv = (
        flows[plausible].groupby("exporter")["value_usd"].sum()
        / flows[plausible].groupby("exporter")["quantity_t"].sum()
    )

    output_t, estimated, note = domestic_output_tonnes(world, product, world.year)
    codes = sorted(
        (set(flows["exporter"]) | set(flows["importer"]) | set(output_t[output_t > 0].index))
        - AGGREGATES
    )
    pos = {c: k for k, c in enumerate(codes)}
    n = len(codes)
    V = np.zeros((n, n))
    p0 = np.full((n, n), world_uv)
    ei = flows["exporter"].map(pos).to_numpy()
    ij = flows["importer"].map(pos).to_numpy()
    np.add.at(V, (ei, ij), flows["value_usd"].to_numpy(dtype=float))
    if price_usd_per_t is None:
        ok_pairs = plausible.to_numpy(dtype=bool)
        p0[ei[ok_pairs], ij[ok_pairs]] = pair_uv.to_numpy(dtype=float)[ok_pairs]

    # domestic sales
    exports_value = pd.Series(V.sum(axis=1) - np.diag(V), index=codes)
    estimated_domestic: list[str] = []
    if output_t.empty:
        warnings.append(f"domestic sales set to 0 for every country: {note}")
    else:
        for c, out_t in output_t.items():
            if c not in pos or not np.isfinite(out_t) or out_t <= 0:
                continue
            uv = float(exp_uv.get(c, world_uv)) if price_usd_per_t is None else world_uv
            uv = uv if np.isfinite(uv) and uv > 0 else world_uv
            exports_t = float(exports_value[str(c)]) / uv
            dom_t = max(float(out_t) - exports_t, 0.0)
            k = pos[str(c)]
            V[k, k] = dom_t * uv
            p0[k, k] = uv
            if estimated and dom_t > 0:
                estimated_domestic.append(str(c))
        no_data = [c for c in codes if c not in output_t.index]
        warnings.append(
            f"domestic sales from {note}; countries without published output have 0 domestic "
            f"sales ({len(no_data)} of {n})"
        )
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
            *[x for x in _flow_sources(flows, world.year) if x.startswith("critmin estimate")],
            *([f"caveat: {product['caveat']}"] if product["caveat"] else []),
        ],
        estimated_domestic=estimated_domestic,
        sources=[*_flow_sources(flows, world.year), note],
    )


def _flow_sources(flows: pd.DataFrame, year: int) -> list[str]:
    """Where the product's flows come from; estimated flows are named as such."""
    basis = flows["basis"] if "basis" in flows.columns else pd.Series("observed", flows.index)
    out = [f"CEPII BACI HS17 V202601 {year}"] if basis.eq("observed").any() else []
    est = flows[basis.eq("estimate")]
    if not est.empty:
        share = est["value_usd"].sum() / flows["value_usd"].sum()
        out.append(
            f"critmin estimate ({', '.join(sorted(set(est['method'])))}): "
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


def read_user_flows(path: Path, field_name: str) -> pd.DataFrame:
    """A user's flows CSV, checked cell by cell: exporter and importer are 3-letter codes;
    value_usd is a finite number >= 0 on every row; quantity_t and tariff may be blank (not
    given) but otherwise finite and >= 0. Every problem names the file, line and column."""
    if not path.exists():
        raise ScenarioError(field_name, f"flows file {path} does not exist")
    if path.is_dir():
        raise ScenarioError(field_name, f"flows file {path} is a folder: give a .csv file")
    try:
        raw = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
            skip_blank_lines=False,  # the index stays the line number - 2
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ScenarioError(field_name, f"{path} is not a readable CSV ({err})") from None
    except OSError as err:
        raise ScenarioError(field_name, f"cannot read {path}: {err.strerror or err}") from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in USER_FLOW_COLUMNS if c not in raw.columns]
    if missing:
        raise ScenarioError(
            field_name,
            f"{path} lacks column(s) {', '.join(missing)}; "
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
    return df


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
