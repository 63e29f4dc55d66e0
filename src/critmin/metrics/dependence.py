"""Dependence: USGS net import reliance and zone metrics over bilateral trade.

Net import reliance (NIR) follows the USGS Mineral Commodity Summaries. Zone metrics measure a
group of *members* (a preferential trade zone) against its own demand, using a bilateral flow
table (``exporter, importer, value``) and each member's domestic supply to its home market.

Units: flows and domestic supply must be in the same unit (tonnes of the same basis, or USD);
nothing here converts. Missing numbers (NaN) are never read as zero without saying so in
``notes``, and each zone result reports ``coverage``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import pandas as pd

from critmin.metrics.concentration import (
    AGGREGATES,
    OTHER,
    WORLD,
    ConcentrationSummary,
    MetricInputError,
    _jsonable,
    as_series,
    summarize,
)

# --------------------------------------------------------------------------------------------
# net import reliance (USGS)
# --------------------------------------------------------------------------------------------

NIR_BANDS = (95, 75, 50, 25)
"""Lower bounds (percent) of the bands USGS prints when it withholds the exact NIR."""


@dataclass(frozen=True)
class NetImportReliance:
    """Net import reliance with its parts.

    Attributes:
        value: NIR as a fraction 0-1; 0 for a net exporter; None when it cannot be computed.
        net_imports: ``imports - exports - stock_change`` (None if imports/exports unknown).
        consumption: the denominator used (None if unknown).
        consumption_basis: ``"given"`` (reported consumption passed in), ``"apparent"``
            (production + imports - exports - stock change) or ``"unknown"``.
        net_exporter: exports (plus stock build-up) exceed imports: USGS prints ``E``.
        reason: why ``value`` is None, or what was adjusted (net exporter, capped at 100 %).
    """

    value: float | None
    net_imports: float | None
    consumption: float | None
    consumption_basis: str
    net_exporter: bool = False
    reason: str | None = None

    @property
    def text(self) -> str | None:
        """As USGS prints it: ``"E"`` for a net exporter, else whole percent (``"57"``)."""
        if self.net_exporter:
            return "E"
        if self.value is None:
            return None
        return str(_round_half_up(self.value * 100))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with ``text`` added."""
        d = _jsonable(asdict(self))
        d["text"] = self.text
        return d


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _amount(x: float | None, what: str) -> float | None:
    """None/NaN -> None; a negative or infinite amount is an input error."""
    if x is None:
        return None
    v = float(x)
    if math.isnan(v):
        return None
    if math.isinf(v) or v < 0:
        raise MetricInputError(f"{what} must be a finite amount >= 0, got {x!r}")
    return v


def net_import_reliance_detail(
    imports: float | None,
    exports: float | None,
    production: float | None = None,
    stock_change: float | None = 0.0,
    consumption: float | None = None,
) -> NetImportReliance:
    """USGS net import reliance with the reason when it cannot be computed.

    ``NIR = (imports - exports - stock_change) / consumption`` where, unless ``consumption``
    (reported consumption) is given, consumption is apparent consumption
    ``production + imports - exports - stock_change``.

    Args:
        imports, exports: amounts in one unit for the year. None or NaN = unknown.
        production: domestic production; None or NaN = withheld/unknown (USGS ``W``).
        stock_change: closing minus opening government and industry stocks (positive =
            stocks were built up, which absorbs supply; releases such as stockpile shipments
            are negative). None/NaN is taken as 0 and said in ``reason``.
        consumption: reported consumption, used instead of apparent consumption when given.

    Rules: a negative numerator means a net exporter (USGS prints ``E``): value 0, flagged.
    Without production and consumption the value is None with the reason. Values above 1
    (net imports larger than consumption) are capped at 1 and said in ``reason``.

    Source: U.S. Geological Survey, Mineral Commodity Summaries (e.g. MCS 2024,
    doi:10.3133/mcs2024), "net import reliance ... defined as imports - exports + adjustments
    for Government and industry stock changes", as a percent of apparent consumption.
    """
    imp = _amount(imports, "imports")
    exp = _amount(exports, "exports")
    prod = _amount(production, "production")
    cons = _amount(consumption, "consumption")
    reasons: list[str] = []
    if stock_change is None or math.isnan(float(stock_change)):
        ds = 0.0
        reasons.append("stock change unknown: taken as 0")
    else:
        ds = float(stock_change)
        if math.isinf(ds):
            raise MetricInputError(f"stock_change must be finite, got {stock_change!r}")
    if imp is None or exp is None:
        which = " and ".join(n for n, v in (("imports", imp), ("exports", exp)) if v is None)
        return NetImportReliance(None, None, cons, "unknown", False, f"{which} unknown")
    net = imp - exp - ds
    if cons is not None:
        c: float | None = cons
        basis = "given"
    elif prod is not None:
        c = prod + net
        basis = "apparent"
    else:
        c, basis = None, "unknown"
    if net < 0:
        reasons.insert(0, "net exporter (exports exceed imports): USGS prints 'E'; reported as 0")
        return NetImportReliance(0.0, net, c, basis, True, "; ".join(reasons))
    if c is None:
        reasons.insert(
            0,
            "production withheld or unknown (USGS 'W') and no consumption given: "
            "apparent consumption cannot be computed",
        )
        return NetImportReliance(None, net, None, basis, False, "; ".join(reasons))
    if c <= 0:
        reasons.insert(0, "consumption is zero or negative: reliance undefined")
        return NetImportReliance(None, net, c, basis, False, "; ".join(reasons))
    v = net / c
    if v > 1.0:
        reasons.insert(0, f"net imports exceed consumption ({v:.0%}): capped at 100%")
        v = 1.0
    return NetImportReliance(v, net, c, basis, False, "; ".join(reasons) or None)


def net_import_reliance_from_consumption(
    consumption: float | None, production: float | None
) -> NetImportReliance:
    """USGS net import reliance from apparent consumption and the production counted in it.

    USGS defines apparent consumption as ``production + imports - exports - stock_change``, so
    the NIR numerator (net imports with the stock adjustments) is ``consumption - production``:

    ``NIR = (consumption - production) / consumption``

    Use it where USGS publishes its apparent consumption and the domestic production that
    enters it (e.g. primary and old-scrap output) but not every trade or stock series it
    added up (an unpublished stock change, exports of one form published only together with
    another). ``production`` is then the sum of the series USGS counts, not every output
    statistic (mine output that is refined at home or shipped as concentrate is not added).

    Args:
        consumption: USGS apparent consumption (> 0); None or NaN = unknown.
        production: domestic production in the same unit; None or NaN = withheld/unknown.

    A production above consumption means a net exporter (USGS prints ``E``): value 0, flagged.

    Source: U.S. Geological Survey, Mineral Commodity Summaries (e.g. MCS 2024,
    doi:10.3133/mcs2024), appendix: apparent consumption "production + imports - exports +
    adjustments for Government and industry stock changes"; net import reliance "imports -
    exports + adjustments for Government and industry stock changes", as a percent of apparent
    consumption.
    """
    cons = _amount(consumption, "consumption")
    prod = _amount(production, "production")
    if cons is None or prod is None:
        which = " and ".join(
            n for n, v in (("apparent consumption", cons), ("production", prod)) if v is None
        )
        return NetImportReliance(None, None, cons, "unknown", False, f"{which} unknown")
    if cons <= 0:
        return NetImportReliance(
            None, None, cons, "given", False, "consumption is zero or negative: reliance undefined"
        )
    net = cons - prod
    if net < 0:
        return NetImportReliance(
            0.0,
            net,
            cons,
            "given",
            True,
            "net exporter (production exceeds apparent consumption): USGS prints 'E'; "
            "reported as 0",
        )
    return NetImportReliance(net / cons, net, cons, "given", False, None)


def net_import_reliance(
    imports: float | None,
    exports: float | None,
    production: float | None = None,
    stock_change: float | None = 0.0,
    consumption: float | None = None,
) -> float | None:
    """USGS net import reliance as a fraction 0-1 (0 for a net exporter; None if unknown).

    ``NIR = (imports - exports - stock_change) / (production + imports - exports -
    stock_change)``, or over ``consumption`` when given. See
    :func:`net_import_reliance_detail` for the reason when None and the net-exporter flag.

    Source: USGS Mineral Commodity Summaries (e.g. MCS 2024, doi:10.3133/mcs2024).

    Example: production 100, imports 60, exports 10 -> 50 / 150 = 0.333.
    """
    return net_import_reliance_detail(imports, exports, production, stock_change, consumption).value


def nir_band(value: float) -> str:
    """The USGS band text for an NIR fraction: ``">95"``, ``">75"``, ``">50"``, ``">25"``,
    else ``"<25"``.

    USGS prints such a band instead of the number when the exact figure would disclose
    company data. A value exactly on a boundary (e.g. 0.50) goes to the band below (``">25"``),
    because the bands are strict inequalities.
    """
    v = float(value)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise MetricInputError(f"NIR must be a fraction between 0 and 1, got {value!r}")
    pct = v * 100.0
    for b in NIR_BANDS:
        if pct > b:
            return f">{b}"
    return f"<{NIR_BANDS[-1]}"


_NUM = re.compile(r"^\s*([<>])?\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def matches_usgs(
    computed: float | NetImportReliance | None,
    published_text: str,
    rounding: float = 1.0,
) -> bool:
    """Whether a computed NIR agrees with a published USGS value or band.

    ``published_text`` is what USGS prints: a whole percent (``"57"``), a band (``">25"``,
    ``"<50"``, ``">95"``) or ``"E"`` (net exporter). ``rounding`` is the tolerance in
    percentage points: USGS rounds NIR to a whole percent (±0.5) and its components to three
    significant figures (about ±0.5 point more), hence the default 1.0.

    * number N: ``|100 * computed - N| <= rounding``
    * ``">N"``: ``100 * computed > N - rounding``; ``"<N"``: ``100 * computed < N + rounding``
    * ``"E"``: the computed result is flagged net exporter (a plain float must be 0).

    A computed None never matches. Text that is not a number, band or ``E`` (``"W"``,
    ``"NA"``) raises :class:`MetricInputError`: there is nothing to compare.
    """
    text = str(published_text).strip()
    if isinstance(computed, NetImportReliance):
        is_exporter = computed.net_exporter
        value = computed.value
    else:
        value = None if computed is None or math.isnan(float(computed)) else float(computed)
        is_exporter = value == 0.0
    if text.upper() == "E":
        return is_exporter
    m = _NUM.match(text)
    if m is None:
        raise MetricInputError(
            f"published NIR {published_text!r} is not a percent, a band like '>25' or 'E'"
        )
    if value is None:
        return False
    pct = value * 100.0
    op, n = m.group(1), float(m.group(2))
    if op == ">":
        return pct > n - rounding
    if op == "<":
        return pct < n + rounding
    return abs(pct - n) <= rounding


# --------------------------------------------------------------------------------------------
# zone metrics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneShare:
    """A share of member demand, with its parts.

    Attributes:
        value: ``numerator / denominator`` (NaN when member demand is zero).
        numerator: the supply counted (same unit as the inputs).
        denominator: member demand: domestic supply + imports from everyone.
        coverage: fraction of member demand belonging to members whose inputs are complete
            (domestic supply known and no flow into them missing); 1 when nothing is missing.
        notes: what was assumed (e.g. "domestic supply unknown for JPN: counted as 0").
    """

    value: float
    numerator: float
    denominator: float
    coverage: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""
        return _jsonable(asdict(self))


def _country_set(codes: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(codes, str):
        codes = [codes]
    out = frozenset(str(c) for c in codes)
    if not out:
        raise MetricInputError(f"{what}: give at least one country")
    agg = sorted(out & AGGREGATES)
    if agg:
        raise MetricInputError(
            f"{what}: {', '.join(agg)} are aggregates (world / other countries), not countries"
        )
    return out


@dataclass(frozen=True)
class _Flows:
    table: pd.DataFrame  # exporter, importer, value (NaN kept)
    unit: str
    notes: tuple[str, ...]


def _prepare_flows(flows: pd.DataFrame, value_col: str | None) -> _Flows:
    if not isinstance(flows, pd.DataFrame):
        raise MetricInputError("flows: expected a DataFrame with exporter, importer, value")
    missing_cols = [c for c in ("exporter", "importer") if c not in flows.columns]
    if missing_cols:
        raise MetricInputError(f"flows: missing column(s) {', '.join(missing_cols)}")
    if value_col is None:
        value_col = next((c for c in ("value", "value_usd") if c in flows.columns), None)
        if value_col is None:
            raise MetricInputError(
                "flows: no 'value' or 'value_usd' column; name the column with value_col "
                f"(columns: {', '.join(map(str, flows.columns))})"
            )
    elif value_col not in flows.columns:
        raise MetricInputError(f"flows: no column {value_col!r}")
    if "year" in flows.columns and flows["year"].nunique() > 1:
        raise MetricInputError(
            "flows: several years in one table "
            f"({', '.join(map(str, sorted(flows['year'].unique())))}); pass one year"
        )
    try:
        vals = pd.to_numeric(flows[value_col], errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise MetricInputError(f"flows: column {value_col!r} must be numeric ({exc})") from None
    if (vals < 0).any() or vals.isin([math.inf, -math.inf]).any():
        raise MetricInputError(f"flows: column {value_col!r} has negative or infinite values")
    t = pd.DataFrame(
        {
            "exporter": flows["exporter"].astype(str).to_numpy(),
            "importer": flows["importer"].astype(str).to_numpy(),
            "value": vals.to_numpy(),
        }
    )
    notes: list[str] = []
    self_flow = t["exporter"] == t["importer"]
    if self_flow.any():
        notes.append(
            f"{int(self_flow.sum())} flow(s) from a country to itself ignored: domestic supply "
            "is taken from the domestic argument"
        )
    world = (t["exporter"] == WORLD) | (t["importer"] == WORLD)
    if world.any():
        notes.append(f"{int(world.sum())} flow(s) with a world aggregate (WLD) ignored")
    t = t[~self_flow & ~world].reset_index(drop=True)
    return _Flows(t, value_col, tuple(notes))


@dataclass(frozen=True)
class _Demand:
    flows: pd.DataFrame  # flows into members
    domestic_total: float
    demand: float
    coverage: float
    notes: tuple[str, ...]


def _member_demand(
    f: _Flows,
    domestic: pd.Series | Mapping[str, float] | None,
    members: frozenset[str],
) -> _Demand:
    notes = list(f.notes)
    into = f.table[f.table["importer"].isin(members)]
    dom = (
        as_series(domestic, "domestic").drop(list(AGGREGATES), errors="ignore")
        if domestic is not None
        else pd.Series(dtype=float)
    )
    nan_into = into[into["value"].isna()]
    if len(nan_into):
        notes.append(f"{len(nan_into)} flow(s) into members have no value: left out of the sums")
    imports_by = into.groupby("importer")["value"].sum()
    unknown_dom: list[str] = []
    dom_total = 0.0
    demand_complete = 0.0
    demand_total = 0.0
    incomplete_importers = set(nan_into["importer"])
    for m in sorted(members):
        d = float(dom[m]) if m in dom.index else math.nan
        known = not math.isnan(d)
        if not known:
            unknown_dom.append(m)
            d = 0.0
        dm = d + float(imports_by.get(m, 0.0))
        dom_total += d
        demand_total += dm
        if known and m not in incomplete_importers:
            demand_complete += dm
    if unknown_dom:
        notes.append("domestic supply unknown for " + ", ".join(unknown_dom) + ": counted as 0")
    if demand_total > 0:
        coverage = demand_complete / demand_total
    else:
        coverage = 0.0 if (unknown_dom or incomplete_importers) else 1.0
        notes.append("member demand is zero: the share is undefined")
    return _Demand(into, dom_total, demand_total, min(1.0, max(0.0, coverage)), tuple(notes))


def _zone_share(num: float, dem: _Demand, extra: Iterable[str] = ()) -> ZoneShare:
    value = num / dem.demand if dem.demand > 0 else math.nan
    return ZoneShare(value, num, dem.demand, dem.coverage, (*dem.notes, *extra))


def zone_self_sufficiency(
    flows: pd.DataFrame,
    domestic: pd.Series | Mapping[str, float] | None,
    members: Iterable[str],
    *,
    value_col: str | None = None,
) -> ZoneShare:
    """Share of member demand met by member supply.

    ``SS = (sum_m D_m + sum_{i,m in M, i != m} X_im) / (sum_m D_m + sum_{m in M, all i} X_im)``
    where ``D_m`` is member m's domestic supply to its own market (production minus exports,
    **not** production, or intra-zone exports would be counted twice) and ``X_im`` the flow
    from i to m. ``OTH`` exporters count as outside supply. Re-exports are counted where the
    trade data put them.

    Args:
        flows: ``exporter, importer`` and a value column (``value`` or ``value_usd`` by
            default; ``value_col="quantity_t"`` for tonnes). One year; rows are summed.
        domestic: domestic supply by member; a member without a value counts as 0 (noted).
        members: ISO3 codes of the zone.

    Source: the self-sufficiency ratio of commodity balance sheets (own supply over
    apparent consumption; e.g. FAO food balance sheets, and the complement of the USGS / EU
    import reliance), applied to a group of countries with intra-group imports counted as
    the group's own supply.
    """
    m = _country_set(members, "members")
    dem = _member_demand(_prepare_flows(flows, value_col), domestic, m)
    intra = dem.flows[dem.flows["exporter"].isin(m)]["value"].sum()
    return _zone_share(dem.domestic_total + float(intra), dem)


def watch_share(
    flows: pd.DataFrame,
    domestic: pd.Series | Mapping[str, float] | None,
    members: Iterable[str],
    watch: Iterable[str],
    *,
    value_col: str | None = None,
) -> ZoneShare:
    """Share of member demand supplied by the watch countries (e.g. one adversarial supplier).

    ``W = sum_{w in watch, m in M} X_wm / member demand`` with member demand as in
    :func:`zone_self_sufficiency`, so that self-sufficiency + watch share + the rest (other
    outside suppliers) = 1. Watch countries must not be members.
    """
    m = _country_set(members, "members")
    w = _country_set(watch, "watch")
    both = sorted(m & w)
    if both:
        raise MetricInputError(f"watch: {', '.join(both)} also in members")
    dem = _member_demand(_prepare_flows(flows, value_col), domestic, m)
    num = float(dem.flows[dem.flows["exporter"].isin(w)]["value"].sum())
    return _zone_share(num, dem)


def _outside_imports(f: _Flows, members: frozenset[str]) -> pd.Series:
    t = f.table
    out = t[t["importer"].isin(members) & ~t["exporter"].isin(members)]
    s = out.groupby("exporter")["value"].sum(min_count=1)
    s.index = pd.Index([str(c) for c in s.index])
    return s.astype(float)


def top_outside_suppliers(
    flows: pd.DataFrame,
    members: Iterable[str],
    k: int = 5,
    *,
    value_col: str | None = None,
) -> pd.Series:
    """The ``k`` largest non-member suppliers of the zone, by their exports to all members.

    Returns a Series indexed by exporter (ISO3), largest first, in the unit of the value
    column. ``OTH`` (unknown partner) is not a supplier that can be named and is not listed;
    exporters whose every flow is missing are not listed.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise MetricInputError(f"k must be a whole number >= 0, got {k!r}")
    f = _prepare_flows(flows, value_col)
    s = _outside_imports(f, _country_set(members, "members"))
    s = s.drop(OTHER, errors="ignore").dropna().sort_values(ascending=False, kind="mergesort")
    s = s.iloc[:k]
    s.name = f.unit
    s.index.name = "exporter"
    return s


def import_concentration(
    flows: pd.DataFrame,
    members: Iterable[str],
    *,
    value_col: str | None = None,
) -> ConcentrationSummary:
    """Concentration of the zone's imports from outside, by exporter.

    The member imports from each non-member are summed over members and passed to
    :func:`critmin.metrics.concentration.summarize`; ``OTH`` (unknown partner) counts in the
    total but is not a nameable supplier. Flows inside the zone are excluded.
    """
    f = _prepare_flows(flows, value_col)
    s = _outside_imports(f, _country_set(members, "members"))
    summary = summarize(s, reasons={str(c): "flow value missing" for c in s.index[s.isna()]})
    return replace(summary, notes=(*f.notes, *summary.notes))
