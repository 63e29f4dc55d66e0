"""Estimated bilateral flows of the intermediate goods that the bundled trade data lacks.

For each product of ``curated/flow_estimates.csv`` and each trade year the estimate is a mass
balance in tonnes of element content (``t`` below), country by country:

1. supply ``S_i``: the producers' output, a USGS MCS series (latest edition) times
   ``supply_to_content``; ``curated/estimate_routes.csv`` removes producers whose output does not
   take this form (brine lithium) and ``closed`` countries (an export ban: output used at home);
2. demand ``D_j``: the next stage's input, either a USGS series (refined output x input
   coefficient x ``demand_to_content``) or the world supply shared out by the EU CRM 2023
   processing (P) shares, routes applied, renormalised;
3. own output first: ``own_i = min(S_i, D_i)``; export supply ``X_i = S_i - own_i``; import
   need ``M_j = D_j - own_j``; both scaled to the traded total ``T = min(sum X, sum M)`` (surplus
   ore is stocked or unrecorded; an unmet need is fed by scrap or other forms);
4. allocation: ``t_ij = X_i M_j / T`` (i != j). With own output first no country both exports
   and imports, so this is the RAS (biproportional) solution from a uniform seed, i.e. a
   gravity allocation without distance terms; pairs that a sanction or export ban closes
   (``ban`` rows of ``estimate_routes.csv``) are zero in the seed and the RAS fit is iterated;
5. tonnes: ``quantity_t = t_ij / content_factor``; value: ``t_ij`` x a price per tonne of
   content, either the reporters' own import value from the world divided by the content the
   estimate sends them (UN Comtrade world totals of the reporters in
   ``comtrade_cmm_gold_qa``: an aggregate used as a value constraint, never a bilateral row),
   or a USGS price x ``price_to_content`` x ``payable_share`` (the curated row says which).

Every row is ``basis = "estimate"`` with ``method = "mass_balance"``; the per-country balance
(supply, demand, own use, exports, imports) is kept in the ``estimate_balance`` table that
``critmin data check`` verifies. Reporters' bilateral rows (Australia's exports to China, the
DRC's to China) are not used: they are the tests.
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


def _usgs(supply: pd.DataFrame, mineral: str, stage: str, year: int) -> pd.Series:
    """Country -> tonnes of the latest edition's production figure (aggregates dropped)."""
    rows = supply[
        (supply["mineral"] == mineral)
        & (supply["stage"] == stage)
        & (supply["measure"] == "production")
        & (supply["year"] == year)
        & supply["is_latest"]
        & ~supply["country"].isin(AGGREGATES)
    ]
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


def _series(spec: str, inputs: EstimateInputs, year: int) -> pd.Series:
    kind, _, rest = spec.partition(":")
    if kind == "usgs":
        mineral, _, stage = rest.partition(":")
        return _usgs(inputs.supply, mineral, stage, year)
    if kind == "eu_p":
        return _eu_shares(inputs.eu_supply_shares, rest)
    raise CritminError(f"flow_estimates.csv: unknown series {spec!r} (usgs:... or eu_p:...)")


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


def mass_balance(
    supply: pd.Series, demand: pd.Series, banned: frozenset[tuple[str, str]] = frozenset()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Own output first, then allocation of export supply to import need.

    Without ``banned`` pairs the allocation is proportional, ``t_ij = x_i m_j / T``; with them
    it is the RAS fit of a uniform seed with the banned cells (and the diagonal) at zero, after
    dropping export supply that can reach no importer. Returns (flows: exporter, importer,
    content_t) and (balance: country, supply_t, demand_t, own_use_t, exports_t, imports_t), all
    in tonnes of content.
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
    total = min(x.sum(), m.sum())
    x = x * (total / x.sum()) if x.sum() > 0 else x * 0.0
    m = m * (total / m.sum()) if m.sum() > 0 else m * 0.0
    if total <= 0:
        t = np.zeros((n, n))
    elif banned:
        t = ras(seed, x, m)
    else:
        t = np.outer(x, m) / total  # the RAS solution of a uniform seed, in closed form
        np.fill_diagonal(t, 0.0)  # zero already: no country has both x > 0 and m > 0
    ei, ij = np.nonzero(t > 0)
    flows = pd.DataFrame(
        {"exporter": countries[ei], "importer": countries[ij], "content_t": t[ei, ij]}
    )
    balance = pd.DataFrame(
        {
            "country": countries,
            "supply_t": s,
            "demand_t": d,
            "own_use_t": own,
            "exports_t": t.sum(axis=1),
            "imports_t": t.sum(axis=0),
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


def estimate_product(
    spec: pd.Series, routes: pd.DataFrame, inputs: EstimateInputs, year: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flows (``flows`` schema + basis/method) and the balance of one product and year."""
    pid = str(spec["product_id"])
    product = inputs.products.set_index("product_id").loc[pid]
    mine = routes[routes["product_id"] == pid]
    supply = _series(str(spec["supply"]), inputs, year) * float(spec["supply_to_content"])
    supply = _apply_routes(supply, mine, "supply")
    raw_demand = _series(str(spec["demand"]), inputs, year)
    if str(spec["demand"]).startswith("eu_p:"):
        shares = _apply_routes(raw_demand, mine, "demand")
        demand = shares / shares.sum() * supply.sum()
    else:
        coef = float(spec["input_coefficient"]) * float(spec["demand_to_content"])
        demand = _apply_routes(raw_demand * coef, mine, "demand")
    bans = mine[mine["side"] == "ban"]["country"].astype(str).str.split(">")
    flows, balance = mass_balance(supply, demand, frozenset((b[0], b[1]) for b in bans))
    imports = balance.set_index("country")["imports_t"]
    price, price_note = _price_per_content(spec, inputs, year, imports)
    content_factor = float(str(product["content_factor"]))
    flows = flows.assign(
        year=year,
        hs6=str(product["hs6"]),
        product_id=pid,
        value_usd=flows["content_t"] * price,
        quantity_t=flows["content_t"] / content_factor,
        source=f"critmin estimate ({spec['supply']} -> {spec['demand']}; {price_note})",
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
