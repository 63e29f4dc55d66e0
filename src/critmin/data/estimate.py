"""Estimated bilateral flows of the intermediate goods that the bundled trade data lacks.

For each product of ``curated/flow_estimates.csv`` and each trade year the estimate is a mass
balance in tonnes of element content (``t`` below), country by country:

1. supply ``S_i``: the producers' output, a USGS MCS series (latest edition) times
   ``supply_to_content``; ``curated/estimate_routes.csv`` removes producers whose output does not
   take this form (brine lithium) and ``closed`` countries (an export ban: output used at home).
   Where USGS has no output by country for the stage, shares (``eu_p:``, EU CRM 2023 processing)
   x a USGS world total (``supply_total``) x ``supply_to_content``;
2. demand ``D_j``: the next stage's input, either a USGS series (refined output x input
   coefficient x ``demand_to_content``) or the world supply shared out by shares, routes
   applied, renormalised: the EU CRM 2023 processing (P) shares (``eu_p:``) or each country's
   share of the bundled BACI exports (``baci_x:HS6``, the makers of a downstream good) or
   imports (``baci_m:HS6``, the users of a sibling good) of the trade year;
3. own output first: ``own_i = min(S_i, D_i)``; export supply ``X_i = S_i - own_i``; import
   need ``M_j = D_j - own_j``; both scaled to the traded total ``T = min(sum X, sum M)`` (surplus
   ore is stocked or unrecorded; an unmet need is fed by scrap or other forms);
4. allocation: ``t_ij = X_i M_j / T`` (i != j). With own output first no country both exports
   and imports, so this is the RAS (biproportional) solution from a uniform seed, i.e. a
   gravity allocation without distance terms; pairs that a sanction or export ban closes
   (``ban`` rows of ``estimate_routes.csv``) are zero in the seed and the RAS fit is iterated.
   Where the curated row names ``margins`` (``X:CHN M:USA``), those reporters' own world totals
   of HS ``margin_code`` (UN Comtrade, partner = world: aggregates, never a bilateral row)
   replace their ``X_i`` / ``M_j``, the other entries are scaled to the traded total and the
   matrix is the RAS fit to these margins (:func:`mass_balance`);
5. tonnes: ``quantity_t = t_ij / content_factor``; value: ``t_ij`` x a price per tonne of
   content, either the reporters' own import value from the world divided by the content the
   estimate sends them (``reporters:HS``), the reporters' own unit values of the margins
   (``margins``: an importer's for flows into it, else an exporter's, else pooled), or a USGS
   price x ``price_to_content`` x ``payable_share`` (the curated row says which).

Every row is ``basis = "estimate"`` with ``method = "mass_balance"``; the per-country balance
(supply, demand, own use, exports, imports) is kept in the ``estimate_balance`` table that
``critmin data check`` verifies. Reporters' bilateral rows (Australia's exports to China, the
DRC's to China, the USA's imports of rare earths and graphite from China) are not used: they
are the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.errors import CritminError

CURATED_DIR = Path(__file__).parent / "curated"
AGGREGATES = frozenset({"WLD", "OTH"})
METHOD = "mass_balance"
BALANCE_COLUMNS = [
    "product_id",
    "year",
    "country",
    "supply_t",
    "demand_t",
    "own_use_t",
    "exports_t",
    "imports_t",
]


@dataclass(frozen=True)
class EstimateInputs:
    """The compiled tables the estimate reads (latest-edition supply, salient prices, EU
    processing shares) and the reporters' world totals (``read_comtrade_api`` rows)."""

    supply: pd.DataFrame
    us_salient: pd.DataFrame
    eu_supply_shares: pd.DataFrame
    reporters: pd.DataFrame
    products: pd.DataFrame
    observed: pd.DataFrame | None = None
    """Observed (BACI) flows of the downstream goods whose traders reveal the users
    (``baci_x:`` / ``baci_m:`` series); ``None`` where no spec needs them."""


def read_specs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The curated estimate recipes and route overrides, checked for a source per row."""
    specs = pd.read_csv(CURATED_DIR / "flow_estimates.csv", dtype=str).fillna("")
    routes = pd.read_csv(CURATED_DIR / "estimate_routes.csv", dtype={"share": float})
    for name, df in (("flow_estimates.csv", specs), ("estimate_routes.csv", routes)):
        blank = df["source"].isna() | (df["source"].astype(str).str.strip() == "")
        if blank.any():
            raise CritminError(f"{name}: row {int(blank.to_numpy().argmax()) + 2} has no source")
    bad = ~routes["side"].isin(["supply", "demand", "closed", "ban"])
    if bad.any():
        raise CritminError(
            f"estimate_routes.csv: side {routes.loc[bad, 'side'].iloc[0]!r} is not "
            "supply, demand, closed or ban"
        )
    pairs = routes.loc[routes["side"] == "ban", "country"].astype(str)
    if not pairs.str.fullmatch(r"[A-Z]{3}>[A-Z]{3}").all():
        raise CritminError("estimate_routes.csv: a ban names its pair as EXPORTER>IMPORTER")
    return specs, routes


def _usgs_rows(supply: pd.DataFrame, mineral: str, stage: str, year: int) -> pd.DataFrame:
    """The latest edition's production rows of a mineral, stage and year (aggregates kept)."""
    return supply[
        (supply["mineral"] == mineral)
        & (supply["stage"] == stage)
        & (supply["measure"] == "production")
        & (supply["year"] == year)
        & supply["is_latest"]
    ]


def _usgs(supply: pd.DataFrame, mineral: str, stage: str, year: int) -> pd.Series:
    """Country -> tonnes of the latest edition's production figure (aggregates dropped)."""
    rows = _usgs_rows(supply, mineral, stage, year)
    rows = rows[~rows["country"].isin(AGGREGATES)]
    if rows.empty:
        raise CritminError(f"flow estimate: no USGS {mineral} {stage} production for {year}")
    return rows.groupby("country")["value_t"].sum(min_count=1).dropna().astype(float)


def _eu_shares(shares: pd.DataFrame, material: str) -> pd.Series:
    rows = shares[
        (shares["material"] == material)
        & (shares["stage"] == "P")
        & (shares["scope"] == "global")
        & ~shares["country"].isin(AGGREGATES)
    ]
    if rows.empty:
        raise CritminError(f"flow estimate: no EU CRM 2023 processing shares for {material!r}")
    return rows.groupby("country")["share"].sum().astype(float)


def _baci_shares(inputs: EstimateInputs, kind: str, hs6: str, year: int) -> pd.Series:
    """Country -> share of the world's observed exports (``baci_x``) or imports (``baci_m``)
    of a bundled HS6 good in a year (the nearest observed year where that one is missing):
    its makers or users reveal who uses the upstream good."""
    flows = inputs.observed
    if flows is None:
        raise CritminError(f"flow estimate: {kind}:{hs6} needs the observed flows")
    rows = flows[(flows["hs6"] == hs6) & (flows["basis"] == "observed")]
    if rows.empty:
        raise CritminError(f"flow estimate: no observed flows of HS {hs6}")
    years = np.sort(rows["year"].unique())
    nearest = int(years[np.argmin(np.abs(years - year))])  # ties: the earlier year
    rows = rows[rows["year"] == nearest]
    side = "exporter" if kind == "baci_x" else "importer"
    total = rows.groupby(side)["value_usd"].sum()
    return (total / total.sum()).astype(float)


def _series(spec: str, inputs: EstimateInputs, year: int) -> pd.Series:
    kind, _, rest = spec.partition(":")
    if kind == "usgs":
        mineral, _, stage = rest.partition(":")
        return _usgs(inputs.supply, mineral, stage, year)
    if kind == "eu_p":
        return _eu_shares(inputs.eu_supply_shares, rest)
    if kind in ("baci_x", "baci_m"):
        return _baci_shares(inputs, kind, rest, year)
    raise CritminError(
        f"flow_estimates.csv: unknown series {spec!r} (usgs:..., eu_p:..., baci_x:... or baci_m:...)"
    )


def _is_shares(spec: str) -> bool:
    return spec.split(":", 1)[0] in ("eu_p", "baci_x", "baci_m")


def _world_total(spec: str, inputs: EstimateInputs, year: int) -> float:
    """The world total of a USGS series (``usgs:mineral:stage``): its WLD row, else the sum."""
    kind, _, rest = spec.partition(":")
    mineral, _, stage = rest.partition(":")
    if kind != "usgs" or not stage:
        raise CritminError(f"flow_estimates.csv: supply_total {spec!r} must be usgs:mineral:stage")
    rows = _usgs_rows(inputs.supply, mineral, stage, year)
    world = rows.loc[rows["country"] == "WLD", "value_t"].dropna()
    if not world.empty:
        return float(world.iloc[0])
    return float(_usgs(inputs.supply, mineral, stage, year).sum())


def _apply_routes(values: pd.Series, routes: pd.DataFrame, side: str) -> pd.Series:
    out = values.copy()
    for r_side, country, share in zip(
        routes["side"], routes["country"], routes["share"], strict=True
    ):
        if r_side == side and country in out.index:
            out[country] *= float(share)
        if r_side == "closed":
            out = out.drop(country, errors="ignore")
    return out[out > 0]


RAS_TOL = 1e-10
RAS_MAX_ITER = 2000


def ras(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Biproportional fitting (RAS, iterative proportional fitting) of ``seed`` to row and
    column totals: ``T = diag(r) seed diag(c)`` with ``T.sum(1) = rows``, ``T.sum(0) = cols``
    (Bacharach 1970, Biproportional Matrices and Input-Output Change). Rows or columns whose
    seed is all zero get nothing; the iteration stops at a relative margin error of 1e-10.
    Where the zeros leave no exact fit, the result is trimmed to ``T.sum(1) <= rows`` and
    ``T.sum(0) <= cols`` (the shortfall is trade the closed pairs would have carried)."""
    t = seed.astype(float).copy()
    scale = max(float(rows.sum()), 1e-300)
    for _ in range(RAS_MAX_ITER):
        r = t.sum(axis=1)
        t *= np.divide(rows, r, out=np.zeros_like(r), where=r > 0)[:, None]
        c = t.sum(axis=0)
        t *= np.divide(cols, c, out=np.zeros_like(c), where=c > 0)[None, :]
        if np.abs(t.sum(axis=1) - rows).max() <= RAS_TOL * scale:
            return t
    # no exact fit (the zero cells make the margins infeasible): trim rows, then columns, so
    # that no exporter ships more than it has nor any importer takes more than it needs
    r = t.sum(axis=1)
    t *= np.minimum(1.0, np.divide(rows, r, out=np.ones_like(r), where=r > 0))[:, None]
    c = t.sum(axis=0)
    t *= np.minimum(1.0, np.divide(cols, c, out=np.ones_like(c), where=c > 0))[None, :]
    return t


def _fix_margins(
    x: np.ndarray, m: np.ndarray, fixed_x: np.ndarray, fixed_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Export supply ``x`` and import need ``m`` scaled to one traded total ``T``, with the
    reporters' own world totals (``fixed_x``, ``fixed_m``; NaN where none) kept as published.

    A reporter's figure applies on the side the balance gives it (an exporter's reported
    exports, an importer's reported imports). ``T = min(Xf + sum x_free, Mf + sum m_free)`` and
    at least the larger fixed sum; the free entries are scaled to fill ``T``. Without fixed
    entries this is ``T = min(sum x, sum m)`` (surplus ore stocked, unmet need fed otherwise).
    """
    fx = np.isfinite(fixed_x) & (x > 0)
    fm = np.isfinite(fixed_m) & (m > 0)
    x = np.where(fx, np.nan_to_num(fixed_x), x)
    m = np.where(fm, np.nan_to_num(fixed_m), m)
    xf, mf = x[fx].sum(), m[fm].sum()
    x_free, m_free = x[~fx].sum(), m[~fm].sum()
    total = min(xf + x_free, mf + m_free)
    for vec, fixed, fixed_sum, free_sum in ((x, fx, xf, x_free), (m, fm, mf, m_free)):
        if free_sum > 0:
            vec[~fixed] *= max(total - fixed_sum, 0.0) / free_sum
        if fixed_sum > total > 0:  # the reporters alone exceed the trade: scale them too
            vec[fixed] *= total / fixed_sum
    return x, m


def mass_balance(
    supply: pd.Series,
    demand: pd.Series,
    banned: frozenset[tuple[str, str]] = frozenset(),
    reported_exports: pd.Series | None = None,
    reported_imports: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Own output first, then allocation of export supply to import need.

    Without ``banned`` pairs or reported totals the allocation is proportional,
    ``t_ij = x_i m_j / T``; otherwise it is the RAS fit of a uniform seed (banned cells and the
    diagonal at zero) to the margins, after dropping export supply that can reach no importer.
    ``reported_exports`` / ``reported_imports`` (country -> t of content, the reporters' own
    world totals) replace the balance's export supply / import need of those countries (see
    :func:`_fix_margins`); the balance then records supply (demand) as at least own use plus
    the reported exports (imports), the output the report implies. Returns (flows: exporter,
    importer, content_t) and (balance: country, supply_t, demand_t, own_use_t, exports_t,
    imports_t), all in tonnes of content.
    """
    countries = supply.index.union(demand.index)
    n = len(countries)
    s = supply.reindex(countries, fill_value=0.0).to_numpy(dtype=float)
    d = demand.reindex(countries, fill_value=0.0).to_numpy(dtype=float)
    own = np.minimum(s, d)
    x, m = s - own, d - own
    seed = np.ones((n, n)) - np.eye(n)
    pos = {c: k for k, c in enumerate(countries)}
    for exporter, importer in banned:
        if exporter in pos and importer in pos:
            seed[pos[exporter], pos[importer]] = 0.0
    x = np.where((seed * (m > 0)[None, :]).any(axis=1), x, 0.0)  # no buyer it may sell to
    nan = pd.Series(dtype=float)
    fixed_x = (reported_exports if reported_exports is not None else nan).reindex(countries)
    fixed_m = (reported_imports if reported_imports is not None else nan).reindex(countries)
    fitted = fixed_x.notna().any() or fixed_m.notna().any()
    x, m = _fix_margins(x, m, fixed_x.to_numpy(dtype=float), fixed_m.to_numpy(dtype=float))
    total = min(x.sum(), m.sum())
    if total <= 0:
        t = np.zeros((n, n))
    elif banned or fitted:
        t = ras(seed, x, m)
    else:
        t = np.outer(x, m) / total  # the RAS solution of a uniform seed, in closed form
        np.fill_diagonal(t, 0.0)  # zero already: no country has both x > 0 and m > 0
    ei, ij = np.nonzero(t > 0)
    flows = pd.DataFrame(
        {"exporter": countries[ei], "importer": countries[ij], "content_t": t[ei, ij]}
    )
    exports, imports = t.sum(axis=1), t.sum(axis=0)
    balance = pd.DataFrame(
        {
            "country": countries,
            "supply_t": np.maximum(s, own + exports),
            "demand_t": np.maximum(d, own + imports),
            "own_use_t": own,
            "exports_t": exports,
            "imports_t": imports,
        }
    )
    return flows, balance


def _price_per_content(
    spec: pd.Series, inputs: EstimateInputs, year: int, imports: pd.Series
) -> tuple[float, str]:
    kind, _, rest = str(spec["price"]).partition(":")
    if kind == "reporters":
        rep = inputs.reporters
        rows = rep[
            (rep["code"] == rest)
            & (rep["year"] == year)
            & (rep["flow"] == "M")
            & (rep["partner"] == "WLD")
            & rep["reporter"].isin(imports[imports > 0].index)
        ]
        content = float(imports.reindex(rows["reporter"]).sum())
        if rows.empty or content <= 0:
            raise CritminError(f"flow estimate: no reporter imports of {rest} in {year}")
        names = ", ".join(sorted(rows["reporter"]))
        return float(rows["value_usd"].sum()) / content, (
            f"value: reporters' ({names}) UN Comtrade imports of HS {rest} from the world per "
            "t of content allocated to them"
        )
    if kind == "usgs":
        mineral, _, detail = rest.partition(":")
        sal = inputs.us_salient
        rows = sal[
            (sal["mineral"] == mineral)
            & (sal["statistic"] == "price")
            & (sal["year"] == year)
            & sal["is_latest"]
            & sal["detail"].str.contains(detail, regex=False)
        ]
        if rows.empty or not np.isfinite(rows["value"].iloc[0]):
            raise CritminError(f"flow estimate: no USGS {mineral} price {detail!r} for {year}")
        price = float(rows["value"].iloc[0])
        factor = float(spec["price_to_content"] or 1.0) * float(spec["payable_share"] or 1.0)
        return price * factor, (
            f"value: USGS {mineral} price ({detail}) x {spec['price_to_content']} x payable "
            f"{spec['payable_share']}"
        )
    raise CritminError(f"flow_estimates.csv: unknown price {spec['price']!r}")


def reported_margins(
    spec: pd.Series, inputs: EstimateInputs, year: int, content_factor: float
) -> pd.DataFrame:
    """The reporters' own world totals named by the spec's ``margins`` (``X:CHN M:USA``: China's
    exports to and the USA's imports from the world of HS ``margin_code``): rows ``flow``,
    ``country``, ``content_t`` (net weight x content factor) and ``value_usd``. Aggregates
    only, never a bilateral row; a total without a net weight is skipped."""
    wanted = str(spec.get("margins", "") or "").split()
    rep = inputs.reporters
    code = str(spec.get("margin_code", ""))
    rows = rep[(rep["code"] == code) & (rep["year"] == year) & (rep["partner"] == "WLD")]
    out: list[dict[str, object]] = []
    for item in wanted:
        flow, _, country = item.partition(":")
        if flow not in ("X", "M") or not country:
            raise CritminError(f"flow_estimates.csv: margin {item!r} is not X:ISO3 or M:ISO3")
        hit = rows[(rows["flow"] == flow) & (rows["reporter"] == country)]
        hit = hit[hit["quantity_t"].notna() & (hit["quantity_t"] > 0)]
        if not hit.empty:
            out.append(
                {
                    "flow": flow,
                    "country": country,
                    "content_t": float(hit["quantity_t"].iloc[0]) * content_factor,
                    "value_usd": float(hit["value_usd"].iloc[0]),
                }
            )
    return pd.DataFrame(out, columns=["flow", "country", "content_t", "value_usd"])


def _margin_prices(flows: pd.DataFrame, margins: pd.DataFrame) -> tuple[pd.Series, str]:
    """USD per t of content of each flow from the reporters' own unit values: a flow into a
    reporter is priced at that reporter's import unit value, else a flow from a reporter at its
    export unit value, else at the unit value of all the reporters' totals together."""
    if margins.empty:
        raise CritminError("flow_estimates.csv: price 'margins' needs reported margins")
    unit = (margins["value_usd"] / margins["content_t"]).to_numpy()
    by = {f: margins["country"].where(margins["flow"] == f) for f in ("X", "M")}
    by_m = {c: float(u) for c, u in zip(by["M"], unit, strict=True) if isinstance(c, str)}
    by_x = {c: float(u) for c, u in zip(by["X"], unit, strict=True) if isinstance(c, str)}
    pooled = float(margins["value_usd"].sum() / margins["content_t"].sum())
    price = flows["importer"].map(by_m).fillna(flows["exporter"].map(by_x)).fillna(pooled)
    return price.astype(float), (
        "value: the reporters' own unit values (an importer's for flows into it, else an "
        "exporter's, else all reporters' together)"
    )


def estimate_product(
    spec: pd.Series, routes: pd.DataFrame, inputs: EstimateInputs, year: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flows (``flows`` schema + basis/method) and the balance of one product and year."""
    pid = str(spec["product_id"])
    product = inputs.products.set_index("product_id").loc[pid]
    mine = routes[routes["product_id"] == pid]
    to_content = float(spec["supply_to_content"])
    supply = _apply_routes(_series(str(spec["supply"]), inputs, year), mine, "supply")
    if _is_shares(str(spec["supply"])):  # processing shares x a world total (USGS)
        world = _world_total(str(spec["supply_total"]), inputs, year)
        supply = supply / supply.sum() * world * to_content
    else:
        supply = supply * to_content
    raw_demand = _series(str(spec["demand"]), inputs, year)
    if _is_shares(str(spec["demand"])):
        shares = _apply_routes(raw_demand, mine, "demand")
        demand = shares / shares.sum() * supply.sum()
    else:
        coef = float(spec["input_coefficient"]) * float(spec["demand_to_content"])
        demand = _apply_routes(raw_demand * coef, mine, "demand")
    bans = mine[mine["side"] == "ban"]["country"].astype(str).str.split(">")
    content_factor = float(str(product["content_factor"]))
    margins = reported_margins(spec, inputs, year, content_factor)
    by_flow = {f: margins[margins["flow"] == f].set_index("country")["content_t"] for f in "XM"}
    flows, balance = mass_balance(
        supply, demand, frozenset((b[0], b[1]) for b in bans), by_flow["X"], by_flow["M"]
    )
    margin_note = (
        f"margins: reporters' UN Comtrade world totals of HS {spec['margin_code']} "
        f"({', '.join(margins['flow'] + ':' + margins['country'])}), RAS; "
        if not margins.empty
        else ""
    )
    price: pd.Series | float
    if str(spec["price"]) == "margins":
        price, price_note = _margin_prices(flows, margins)
    else:
        imports = balance.set_index("country")["imports_t"]
        price, price_note = _price_per_content(spec, inputs, year, imports)
    flows = flows.assign(
        year=year,
        hs6=str(product["hs6"]),
        product_id=pid,
        value_usd=flows["content_t"] * price,
        quantity_t=flows["content_t"] / content_factor,
        source=(
            f"critmin estimate ({spec['supply']} -> {spec['demand']}; {margin_note}{price_note})"
        ),
        basis="estimate",
        method=METHOD,
    )
    balance = balance.assign(product_id=pid, year=year)[BALANCE_COLUMNS]
    return flows.drop(columns="content_t"), balance


def estimate_flows(
    inputs: EstimateInputs, years: list[int], skip: set[str] | frozenset[str] = frozenset()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimates for every curated product (except ``skip``: those with observed flows) and
    year; returns (flows, balance)."""
    specs, routes = read_specs()
    frames: list[pd.DataFrame] = []
    balances: list[pd.DataFrame] = []
    for _, spec in specs.iterrows():
        if spec["product_id"] in skip:
            continue
        for year in years:
            f, b = estimate_product(spec, routes, inputs, year)
            frames.append(f)
            balances.append(b)
    if not frames:
        return pd.DataFrame(), pd.DataFrame(columns=BALANCE_COLUMNS)
    return pd.concat(frames, ignore_index=True), pd.concat(balances, ignore_index=True)
