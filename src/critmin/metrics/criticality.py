"""Criticality building blocks: the EU supply-risk term HHI_WGI,t and the GeoPolRisk indicator.

Both combine how concentrated supply is with how risky the supplying countries' governance is,
measured by the World Bank Worldwide Governance Indicators (WGI). Shares are fractions (0-1) of
the relevant total, indexed by ISO3 code, and are used **as given** (not renormalised): a list
of shares that sums to less than 1 (the EU sourcing table keeps only shares of 1 % and above)
reports the shortfall as lower ``coverage``. ``OTH`` ("other countries") counts toward the total
but has no governance score, so its term is left out and ``coverage`` drops by its share.

Missing governance data: by default a country without a WGI score gets the **worst** score (10
on the EU 0-10 scale, 1 on the GeoPolRisk 0-1 scale) and is listed in the result, so that gaps in
the data never make supply look safer. ``missing_wgi="exclude"`` instead drops the country's term
and lowers ``coverage`` by its share.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from critmin.metrics.concentration import (
    AGGREGATES,
    OTHER,
    WORLD,
    MetricInputError,
    Values,
    _jsonable,
    as_series,
    hhi,
)

MissingPolicy = Literal["worst", "exclude"]

WGI_INDICATORS = ("cc", "ge", "pv", "rl", "rq", "va")
"""The six WGI dimensions: control of corruption, government effectiveness, political stability
and absence of violence/terrorism, rule of law, regulatory quality, voice and accountability."""

EU_WGI_WORST = 10.0
GEOPOLRISK_WORST = 1.0
_SHARE_SUM_TOL = 0.05


# --------------------------------------------------------------------------------------------
# governance scales
# --------------------------------------------------------------------------------------------


def wgi_average(wgi: pd.DataFrame, year: int, *, min_indicators: int = 6) -> pd.Series:
    """Average of the six WGI estimates per country for one year (the EU's governance input).

    ``wgi`` has the ``critmin.sources`` WGI schema (``country, year, indicator, estimate``).
    A country needs at least ``min_indicators`` non-missing estimates (default all six),
    otherwise it is left out (and later treated as a country with a missing WGI).

    Source: Blengini et al. (2017), *Methodology for establishing the EU list of critical raw
    materials: guidelines*, JRC/European Commission, doi:10.2873/769526 -- the EU uses the
    average of the six WGI dimensions.
    """
    need = {"country", "year", "indicator", "estimate"}
    if not need <= set(wgi.columns):
        raise MetricInputError(
            f"wgi table: expected columns {sorted(need)}, got {sorted(map(str, wgi.columns))}"
        )
    sub = wgi[(wgi["year"] == year) & wgi["indicator"].isin(WGI_INDICATORS)]
    grouped = sub.groupby("country")["estimate"]
    mean = grouped.mean()
    count = grouped.count()
    out = mean[count >= min_indicators].astype(float)
    out.name = "wgi_mean"
    return out


def scale_wgi_eu(wgi_mean_estimate: Values) -> pd.Series:
    """Rescale WGI estimates (about -2.5 good ... +2.5) to the EU 0-10 scale, higher = worse.

    ``WGI_scaled = (2.5 - x) / 5 * 10``, clipped to ``[0, 10]``: a country at +2.5 (best
    governance) scores 0, one at -2.5 scores 10. ``x`` should be the average of the six WGI
    dimensions (see :func:`wgi_average`), as in the EU methodology. NaN stays NaN.

    Source: Blengini et al. (2017), EU CRM methodology guidelines (WGI rescaled to 0-10 with
    higher values for poorer governance), used in the 2017, 2020 and 2023 EU CRM assessments.
    """
    x = _estimates(wgi_mean_estimate, "wgi estimates")
    out = ((2.5 - x) / 5.0 * 10.0).clip(lower=0.0, upper=10.0)
    out.name = "wgi_scaled"
    return out


def governance_risk_from_pv(pv_estimate: Values) -> pd.Series:
    """GeoPolRisk governance risk from the WGI Political Stability (pv) estimate, 0-1.

    ``g = (2.5 - pv) / 5``, clipped to ``[0, 1]``: higher = riskier (pv = +2.5 -> 0,
    pv = -2.5 -> 1). This is a linear rescaling of the WGI *estimate*. Published GeoPolRisk
    work has also used other normalisations of the same indicator (e.g. its percentile rank),
    which order countries the same way but space them differently: compare values only under
    the same normalisation.

    Source: Gemechu et al. (2016), J. Ind. Ecol. 20(1):154-165, doi:10.1111/jiec.12279 (WGI
    political stability as the governance measure); Santillán-Saldivar et al. (2021);
    the geopolrisk-py package.
    """
    x = _estimates(pv_estimate, "pv estimates")
    out = ((2.5 - x) / 5.0).clip(lower=0.0, upper=1.0)
    out.name = "governance_risk"
    return out


# --------------------------------------------------------------------------------------------
# shared checks
# --------------------------------------------------------------------------------------------


def _share_series(shares: Values, what: str) -> pd.Series:
    s = as_series(shares, what).drop(WORLD, errors="ignore")
    if (s > 1 + 1e-9).any():
        raise MetricInputError(
            f"{what}: shares must be fractions between 0 and 1 (got a value above 1): pass "
            "shares, not tonnes (see critmin.metrics.shares)"
        )
    total = float(s.sum(skipna=True))
    if total > 1 + _SHARE_SUM_TOL:
        raise MetricInputError(
            f"{what}: shares sum to {total:.3f}, more than 1: pass fractions of one total"
        )
    return s


def _scores(scores: Values, lo: float, hi: float, what: str, hint: str) -> pd.Series:
    s = _estimates(scores, what)
    bad = s[(s < lo - 1e-12) | (s > hi + 1e-12)]
    if len(bad):
        raise MetricInputError(
            f"{what}: values must lie in [{lo:g}, {hi:g}] ({hint}); got "
            + ", ".join(f"{c}={v:g}" for c, v in bad.items())
        )
    return s


def _estimates(values: Values, what: str) -> pd.Series:
    """A float Series with string labels; negatives allowed (governance estimates)."""
    return as_series(values, what, allow_negative=True)


def _weights(t: Values | float, what: str) -> tuple[pd.Series | None, float]:
    """Per-country multiplier (Series) or one value for all; must be > 0."""
    if isinstance(t, bool):
        raise MetricInputError(f"{what} must be a positive number or a Series, got {t!r}")
    if isinstance(t, int | float | np.floating | np.integer):
        v = float(t)
        if not (math.isfinite(v) and v > 0):
            raise MetricInputError(f"{what} must be a positive number, got {t!r}")
        return None, v
    s = _estimates(t, what)
    bad = s[s <= 0]
    if len(bad):
        raise MetricInputError(
            f"{what}: values must be positive, got "
            + ", ".join(f"{c}={v:g}" for c, v in bad.items())
        )
    return s, 1.0


def _clip01(x: float) -> float:
    """Clip to [0, 1], snapping float noise just below 1 (sums of shares) to 1."""
    return 1.0 if x > 1.0 - 1e-9 else max(0.0, x)


def _check_policy(policy: str) -> None:
    if policy not in ("worst", "exclude"):
        raise MetricInputError(f"missing_wgi must be 'worst' or 'exclude', got {policy!r}")


@dataclass
class _WeightedSum:
    """What :func:`_weighted_sum` added up and which countries it could not fully see."""

    value: float = 0.0
    covered: float = 0.0
    score_defaulted: list[str] = field(default_factory=list)
    score_excluded: list[str] = field(default_factory=list)
    weight_defaulted: list[str] = field(default_factory=list)
    share_missing: list[str] = field(default_factory=list)


def _weighted_sum(
    shares: pd.Series,
    scores: pd.Series,
    weights: tuple[pd.Series | None, float],
    *,
    worst: float,
    missing: MissingPolicy,
    square: bool,
) -> _WeightedSum:
    """Sum ``share_c * score_c * weight_c`` (``share_c**2`` if ``square``) over the countries.

    Aggregates (``WLD``, ``OTH``) and NaN shares are skipped (the latter listed in
    ``share_missing``). A country without a score gets ``worst`` (``missing="worst"``) or is
    left out (``"exclude"``). ``weights`` is what :func:`_weights` returns: a per-country Series
    (a country without a value gets 1 and is listed) or, when the Series is None, one value for
    all. ``covered`` is the sum of the shares whose term was added.
    """
    w_series, w_const = weights
    out = _WeightedSum()
    for c, sc in shares.items():
        code = str(c)
        if code in AGGREGATES:
            continue
        if math.isnan(sc):
            out.share_missing.append(code)
            continue
        gc = float(scores[code]) if code in scores.index else math.nan
        if math.isnan(gc):
            if missing == "exclude":
                out.score_excluded.append(code)
                continue
            gc = worst
            out.score_defaulted.append(code)
        if w_series is None:
            wc = w_const
        elif code in w_series.index and not math.isnan(float(w_series[code])):
            wc = float(w_series[code])
        else:
            wc = 1.0
            out.weight_defaulted.append(code)
        share = float(sc) ** 2 if square else float(sc)
        out.value += share * gc * wc
        out.covered += float(sc)
    return out


# --------------------------------------------------------------------------------------------
# EU supply risk
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HhiWgiT:
    """The EU supply-risk building block HHI_WGI,t with what it could and could not see.

    Attributes:
        value: ``sum_c s_c**2 * WGI_c * t_c`` (shares as fractions, WGI on 0-10).
        coverage: sum of the shares whose term was computed (0-1).
        wgi_defaulted: countries without a WGI score that got the worst score (10).
        wgi_excluded: countries without a WGI score left out (``missing_wgi="exclude"``).
        t_defaulted: countries without a ``t`` value that got 1 (neutral).
        notes: plain-language caveats.
    """

    value: float
    coverage: float
    wgi_defaulted: tuple[str, ...] = ()
    wgi_excluded: tuple[str, ...] = ()
    t_defaulted: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""
        return _jsonable(asdict(self))


def hhi_wgi_t_detail(
    shares: Values,
    wgi_scaled: Values,
    t: Values | float = 1.0,
    *,
    missing_wgi: MissingPolicy = "worst",
) -> HhiWgiT:
    """EU supply-risk building block with coverage and defaults; see :func:`hhi_wgi_t`."""
    _check_policy(missing_wgi)
    s = _share_series(shares, "shares")
    w = _scores(wgi_scaled, 0.0, 10.0, "wgi_scaled", "rescale with scale_wgi_eu first")
    total = _weighted_sum(
        s, w, _weights(t, "t"), worst=EU_WGI_WORST, missing=missing_wgi, square=True
    )
    defaulted, excluded = total.score_defaulted, total.score_excluded
    t_def, unknown_share = total.weight_defaulted, total.share_missing
    notes: list[str] = []
    oth = float(s[OTHER]) if OTHER in s.index else math.nan
    if not math.isnan(oth) and oth > 0:
        notes.append(
            f"'other countries' (OTH, share {oth:.1%}) have no governance score: left out "
            "(treated as many small suppliers)"
        )
    if defaulted:
        notes.append(
            "no WGI score for " + ", ".join(defaulted) + f": given the worst score {EU_WGI_WORST:g}"
        )
    if excluded:
        notes.append("no WGI score for " + ", ".join(excluded) + ": left out of the sum")
    if t_def:
        notes.append("no t value for " + ", ".join(t_def) + ": taken as 1 (no trade measure)")
    if unknown_share:
        notes.append("share missing for " + ", ".join(unknown_share) + ": left out")
    return HhiWgiT(
        value=total.value,
        coverage=_clip01(total.covered),
        wgi_defaulted=tuple(defaulted),
        wgi_excluded=tuple(excluded),
        t_defaulted=tuple(t_def),
        notes=tuple(notes),
    )


def hhi_wgi_t(
    shares: Values,
    wgi_scaled: Values,
    t: Values | float = 1.0,
    *,
    missing_wgi: MissingPolicy = "worst",
) -> float:
    """EU supply-risk building block ``HHI_WGI,t = sum_c s_c**2 * WGI_c * t_c``.

    Args:
        shares: supply shares by country as fractions (global supply or EU sourcing), as given.
        wgi_scaled: governance on the EU 0-10 scale, higher = worse (:func:`scale_wgi_eu`).
        t: the EU trade-related variable per country (or one value for all): 1 = no trade
            measure, 0.8 = trade agreement with the EU, above 1 = export restrictions.
            Countries without a value get 1.
        missing_wgi: ``"worst"`` (default: WGI 10) or ``"exclude"`` for countries without WGI.

    ``OTH`` is left out (see the module docstring). Shares in fractions put the result on the
    scale of the published EU supply-risk figures (roughly 0-10).

    Source: Blengini et al. (2017), *Methodology for establishing the EU list of critical raw
    materials: guidelines*, European Commission, doi:10.2873/769526, section on supply risk;
    used unchanged in the 2020 and 2023 EU CRM studies.

    Example (by hand): shares CHN 0.6, AUS 0.3, CHL 0.1; WGI 6, 2, 3; t 1.1, 0.8, 0.8 gives
    0.36*6*1.1 + 0.09*2*0.8 + 0.01*3*0.8 = 2.544.
    """
    return hhi_wgi_t_detail(shares, wgi_scaled, t, missing_wgi=missing_wgi).value


@dataclass(frozen=True)
class SupplyRisk:
    """The EU supply-risk formula with its parts (a building block, not the official SR)."""

    value: float
    hhi_wgi_t_global: float
    hhi_wgi_t_eu: float
    import_reliance: float
    substitution_index: float
    eol_rr: float
    coverage_global: float
    coverage_eu: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""
        return _jsonable(asdict(self))


def _fraction(x: float, what: str) -> float:
    v = float(x)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise MetricInputError(f"{what} must be a fraction between 0 and 1, got {x!r}")
    return v


def eu_supply_risk_detail(
    shares_global: Values,
    shares_eu_sourcing: Values | None,
    wgi_scaled: Values,
    t: Values | float,
    import_reliance: float,
    substitution_index: float = 1.0,
    eol_rr: float = 0.0,
    *,
    missing_wgi: MissingPolicy = "worst",
) -> SupplyRisk:
    """EU supply risk with its parts and coverage; see :func:`eu_supply_risk`."""
    ir = _fraction(import_reliance, "import_reliance")
    si = _fraction(substitution_index, "substitution_index")
    eol = _fraction(eol_rr, "eol_rr")
    gs = hhi_wgi_t_detail(shares_global, wgi_scaled, t, missing_wgi=missing_wgi)
    notes = [f"global supply: {n}" for n in gs.notes]
    if shares_eu_sourcing is None:
        eu = gs
        notes.append("no EU sourcing shares given: global supply shares used for both terms")
    else:
        eu = hhi_wgi_t_detail(shares_eu_sourcing, wgi_scaled, t, missing_wgi=missing_wgi)
        notes.extend(f"EU sourcing: {n}" for n in eu.notes)
    value = (gs.value * ir / 2.0 + eu.value * (1.0 - ir / 2.0)) * si * (1.0 - eol)
    notes.append(
        "recomputed from building blocks: the EU publishes SR at the bottleneck stage "
        "(extraction or processing, whichever is higher) with its own substitution and "
        "recycling inputs, so this is not the official figure"
    )
    return SupplyRisk(
        value=value,
        hhi_wgi_t_global=gs.value,
        hhi_wgi_t_eu=eu.value,
        import_reliance=ir,
        substitution_index=si,
        eol_rr=eol,
        coverage_global=gs.coverage,
        coverage_eu=eu.coverage,
        notes=tuple(notes),
    )


def eu_supply_risk(
    shares_global: Values,
    shares_eu_sourcing: Values | None,
    wgi_scaled: Values,
    t: Values | float,
    import_reliance: float,
    substitution_index: float = 1.0,
    eol_rr: float = 0.0,
    *,
    missing_wgi: MissingPolicy = "worst",
) -> float:
    """EU supply risk (SR) from its building blocks.

    ``SR = [(HHI_WGI,t)_GS * IR/2 + (HHI_WGI,t)_EUsourcing * (1 - IR/2)] * SI_SR * (1 - EoL_RIR)``

    Args:
        shares_global: global supply shares (fractions) at one stage.
        shares_eu_sourcing: EU sourcing shares (EU production + imports); None = use global.
        wgi_scaled: EU 0-10 governance scale (:func:`scale_wgi_eu`).
        t: EU trade-related variable per country, or one value.
        import_reliance: EU import reliance IR, 0-1 (net imports / apparent consumption,
            0 for a net exporter).
        substitution_index: SI_SR, 0-1 (1 = no substitute; default: substitution ignored).
        eol_rr: end-of-life recycling input rate EoL_RIR, 0-1 (default 0: recycling ignored).

    **Not the official SR.** The EU computes SR at both extraction and processing and publishes
    the higher ("bottleneck") stage, with substitution and recycling inputs from its own
    material profiles that critmin's bundled data lack. Figures recomputed here are building
    blocks for comparison and scenarios.

    Source: Blengini et al. (2017), EU CRM methodology guidelines, doi:10.2873/769526;
    European Commission (2023), *Study on the Critical Raw Materials for the EU 2023*,
    doi:10.2873/725585.
    """
    return eu_supply_risk_detail(
        shares_global,
        shares_eu_sourcing,
        wgi_scaled,
        t,
        import_reliance,
        substitution_index,
        eol_rr,
        missing_wgi=missing_wgi,
    ).value


# --------------------------------------------------------------------------------------------
# GeoPolRisk
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeoPolRisk:
    """GeoPolRisk of an importing economy for one raw material, with its two factors.

    Attributes:
        value: ``hhi_production * import_risk``.
        hhi_production: HHI of global production on 0-1 (``OTH`` treated as fragmented).
        import_risk: ``sum_c import_share_c * governance_risk_c * trade_weight_c``.
        coverage_production: fraction of world production the production HHI could see.
        coverage_imports: fraction of the import shares whose term was computed.
        governance_defaulted: partners without a governance score given the worst (1).
        governance_excluded: partners without a score left out (``missing_governance``).
        notes: plain-language caveats.
    """

    value: float
    hhi_production: float
    import_risk: float
    coverage_production: float
    coverage_imports: float
    governance_defaulted: tuple[str, ...] = ()
    governance_excluded: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""
        return _jsonable(asdict(self))


def geopolrisk_import_shares(imports: Values, domestic_production: float = 0.0) -> pd.Series:
    """Import shares for :func:`geopolrisk`: ``f_c / (domestic_production + sum_c f_c)``.

    With ``domestic_production = 0`` these are shares of total imports (Gemechu et al. 2016);
    passing the importer's own production gives the later variant (Santillán-Saldivar et al.
    2021) in which domestic supply counts as riskless and dilutes the import risk.
    ``OTH`` (unknown partners) keeps its share; NaN stays NaN.
    """
    f = as_series(imports, "imports").drop(WORLD, errors="ignore")
    dp = float(domestic_production)
    if not (math.isfinite(dp) and dp >= 0):
        raise MetricInputError(
            f"domestic_production must be a finite amount >= 0, got {domestic_production!r}"
        )
    denom = dp + float(f.sum(skipna=True))
    if denom <= 0:
        return pd.Series(math.nan, index=f.index, name="import_share")
    out = f / denom
    out.name = "import_share"
    return out


def geopolrisk(
    production_shares: Values,
    import_shares: Values,
    governance_risk: Values,
    trade_weight: Values | float = 1.0,
    *,
    missing_governance: MissingPolicy = "worst",
) -> GeoPolRisk:
    """GeoPolRisk: ``HHI_prod * sum_c (import_share_c * governance_risk_c * trade_weight_c)``.

    Args:
        production_shares: global production by country (amounts or shares; the HHI is
            computed with :func:`critmin.metrics.concentration.hhi` on 0-1, ``OTH`` fragmented).
        import_shares: the importer's imports by partner as fractions, used as given; see
            :func:`geopolrisk_import_shares` for the two published denominators. ``OTH``
            (unknown partner) is left out of the sum and lowers ``coverage_imports``.
        governance_risk: 0-1, higher = riskier; :func:`governance_risk_from_pv` gives
            ``(2.5 - pv) / 5`` from the WGI Political Stability estimate.
        trade_weight: optional per-partner multiplier (e.g. below 1 for partners with a trade
            agreement); 1.0 (default) is the published method. Missing partners get 1.
        missing_governance: ``"worst"`` (default: risk 1) or ``"exclude"``.

    The HHI here is on 0-1; implementations using the 0-10,000 HHI give values 10,000 times
    larger. The result is zero when all imports come from zero-risk partners and scales
    linearly with the production HHI.

    Source: Gemechu, Helbig, Sonnemann, Thorenz, Tuma (2016), "Import-based indicator for the
    geopolitical supply risk of raw materials in life cycle sustainability assessments",
    J. Ind. Ecol. 20(1):154-165, doi:10.1111/jiec.12279; Santillán-Saldivar et al. (2021),
    J. Ind. Ecol. (endpoint / midpoint GeoPolRisk updates); the geopolrisk-py package.
    """
    _check_policy(missing_governance)
    prod_summary_hhi = hhi(production_shares)
    prod = as_series(production_shares, "production_shares")
    named = prod.drop([c for c in AGGREGATES if c in prod.index])
    wld = float(prod[WORLD]) if WORLD in prod.index else math.nan
    known = float(prod.drop(WORLD, errors="ignore").sum(skipna=True))
    ref = wld if math.isfinite(wld) else known
    cov_prod = min(1.0, known / ref) if ref > 0 else 0.0
    notes: list[str] = []
    if named.isna().any():
        notes.append(
            "production missing for "
            + ", ".join(map(str, named.index[named.isna()]))
            + ": left out of the production HHI"
        )

    f = _share_series(import_shares, "import_shares")
    g = _scores(
        governance_risk, 0.0, 1.0, "governance_risk", "rescale with governance_risk_from_pv first"
    )
    total_f = float(f.sum(skipna=True))
    total = _weighted_sum(
        f,
        g,
        _weights(trade_weight, "trade_weight"),
        worst=GEOPOLRISK_WORST,
        missing=missing_governance,
        square=False,
    )
    risk = total.value
    defaulted, excluded = total.score_defaulted, total.score_excluded
    cov_imp = _clip01(total.covered / total_f) if total_f > 0 else 0.0
    if OTHER in f.index and not math.isnan(float(f[OTHER])) and float(f[OTHER]) > 0:
        notes.append(
            f"imports from unknown partners (OTH, share {float(f[OTHER]):.1%}) have no "
            "governance score: left out of the import risk"
        )
    if f.isna().any():
        notes.append(
            "import share missing for " + ", ".join(map(str, f.index[f.isna()])) + ": left out"
        )
    if defaulted:
        notes.append("no governance score for " + ", ".join(defaulted) + ": given the worst (1)")
    if excluded:
        notes.append("no governance score for " + ", ".join(excluded) + ": left out")
    value = prod_summary_hhi * risk if math.isfinite(prod_summary_hhi) else math.nan
    return GeoPolRisk(
        value=value,
        hhi_production=prod_summary_hhi,
        import_risk=risk,
        coverage_production=cov_prod,
        coverage_imports=cov_imp,
        governance_defaulted=tuple(defaulted),
        governance_excluded=tuple(excluded),
        notes=tuple(notes),
    )
