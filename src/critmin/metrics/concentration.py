"""Supply concentration: shares, HHI, top-k share, number of suppliers for 90 %.

Every function takes the amounts supplied by each country (tonnes, USD, or shares already) as a
``pandas.Series`` indexed by ISO3 code, a ``{code: amount}`` mapping, or a plain array (then the
suppliers are labelled ``"0"``, ``"1"``, ...). The conventions below hold throughout
``critmin.metrics`` and are spelled out for analysts in ``docs/metrics.md``.

Conventions
-----------
* **NaN means missing** (USGS ``W`` withheld, ``NA``): it is never read as zero. A missing
  country has no share, is listed in ``missing`` and lowers ``coverage`` (when the reference total
  is known independently of it).
* **Reference total.** Shares are fractions of a reference total ``T``: the ``total`` argument if
  given; else a ``WLD`` (world total) entry of the input if present and known; else the sum of all
  known amounts, ``OTH`` included. ``WLD`` itself is never a supplier.
* **``OTH`` ("other countries")** counts toward ``T`` and therefore toward ``coverage``, and has a
  share, but it is not a supplier anyone can name: it is never ``top_supplier``, never counted in
  ``top_k_share`` or ``n_suppliers_for``, and the HHI leaves its square out (as if "other countries"
  were many small suppliers). :func:`summarize` also reports ``hhi_upper``, the HHI if all supply
  not attributed to a named country (``OTH``, withheld countries, any gap to the world total) were
  in a single hand. The true HHI lies in ``[hhi, hhi_upper]`` when ``T`` is a real world total.
* **coverage** = (sum of known amounts, ``OTH`` included) / ``T``, capped to ``[0, 1]``. With no
  world total it is 1 by construction and the withheld countries are only visible in ``missing``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from critmin.errors import CritminError

WORLD = "WLD"
"""Code of a world-total row: a reference total, never a supplier."""
OTHER = "OTH"
"""Code of an "other countries" row: part of the total, never a nameable supplier."""
AGGREGATES = frozenset({WORLD, OTHER})

Values: TypeAlias = pd.Series | np.ndarray | Sequence[float] | Mapping[str, float]
"""Amounts per supplier: a Series indexed by ISO3 code, a mapping, or a plain array."""

_SUM_TOL = 1e-9


class MetricInputError(CritminError, ValueError):
    """Input a metric cannot use: negative amounts, duplicate countries, shares above 1, ..."""


@dataclass(frozen=True)
class Missing:
    """A country (or ``OTH``) whose amount is missing, with the source's reason if known."""

    country: str
    reason: str | None = None


@dataclass(frozen=True)
class ConcentrationSummary:
    """Concentration of supply across countries (see the module docstring for conventions).

    Attributes:
        hhi: Herfindahl-Hirschman index on 0-1, sum of squared shares of named countries, shares
            over the reference total (``OTH`` and unseen supply treated as fragmented).
        hhi_10000: the same on the US DOJ/FTC 0-10,000 scale (shares in percent).
        hhi_upper: HHI if all supply not attributed to a named country were one supplier.
        top_supplier: ISO3 code of the largest named supplier (None if none is known).
        top_supplier_share: its share of the reference total.
        top3_share: combined share of the three largest named suppliers.
        n_for_90: fewest named suppliers that together reach 90 % of the total (None if all
            named suppliers together do not reach it).
        n_suppliers: named countries with a known amount above zero.
        coverage: fraction of the reference total that known amounts account for (0-1).
        missing: countries (and ``OTH``) whose amount is NaN, with the reason when given.
        other_share: share of ``OTH`` in the total (0 if absent, NaN if itself missing).
        unnamed_share: share of the total not attributed to a named country (OTH, withheld
            countries, gap to the world total).
        total: the reference total used.
        total_basis: ``"given"``, ``"WLD"`` or ``"sum of known values"``.
        notes: plain-language caveats.
    """

    hhi: float
    hhi_10000: float
    hhi_upper: float
    top_supplier: str | None
    top_supplier_share: float
    top3_share: float
    n_for_90: int | None
    n_suppliers: int
    coverage: float
    missing: tuple[Missing, ...]
    other_share: float
    unnamed_share: float
    total: float
    total_basis: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None, tuples become lists)."""
        return _jsonable(asdict(self))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def as_series(values: Values, what: str = "values", *, allow_negative: bool = False) -> pd.Series:
    """Return ``values`` as a float Series with string labels, checking it is usable.

    ``allow_negative=True`` is for scores such as WGI estimates, which can be below zero.

    Raises:
        MetricInputError: non-numeric, infinite or (unless allowed) negative amounts, or a
            country listed twice.
    """
    if isinstance(values, pd.Series):
        s = values.copy()  # the caller's Series untouched; converted below unless float64
    elif isinstance(values, Mapping):
        s = pd.Series(dict(values), dtype=float)
    else:
        arr = np.asarray(values, dtype=object)
        if arr.ndim != 1:
            raise MetricInputError(f"{what}: expected a one-dimensional list of amounts")
        s = pd.Series(list(arr), index=[str(i) for i in range(len(arr))])
    if s.dtype != np.float64:
        try:
            s = pd.to_numeric(s, errors="raise").astype(float)
        except (TypeError, ValueError) as exc:
            raise MetricInputError(
                f"{what}: every amount must be a number or NaN ({exc})"
            ) from None
    labels = s.index.tolist()
    if not all(type(c) is str for c in labels):
        s.index = pd.Index([str(c) for c in labels])
    dup = s.index[s.index.duplicated()].unique().tolist()
    if dup:
        raise MetricInputError(f"{what}: countries listed more than once: {', '.join(dup)}")
    arr_f = s.to_numpy(dtype=float)
    if np.isinf(arr_f).any():
        raise MetricInputError(f"{what}: infinite amounts are not allowed")
    neg = s[s < 0]
    if len(neg) and not allow_negative:
        raise MetricInputError(
            f"{what}: amounts must be zero or positive, got "
            + ", ".join(f"{c}={v:g}" for c, v in neg.items())
        )
    return s


@dataclass(frozen=True)
class _Parts:
    named: pd.Series  # named countries (no WLD / OTH), NaN kept
    oth: float  # OTH amount; NaN if absent or missing
    has_oth: bool
    wld: float  # WLD amount; NaN if absent or missing
    total: float
    basis: str
    known_sum: float  # named known + OTH known


def _parts(values: Values, total: float | None, what: str = "values") -> _Parts:
    s = as_series(values, what)
    named = s.drop([c for c in AGGREGATES if c in s.index])
    has_oth = OTHER in s.index
    oth = float(s[OTHER]) if has_oth else math.nan
    wld = float(s[WORLD]) if WORLD in s.index else math.nan
    known_sum = float(named.sum(skipna=True)) + (0.0 if math.isnan(oth) else oth)
    if total is not None:
        t = float(total)
        if not math.isfinite(t) or t < 0:
            raise MetricInputError(f"total must be a finite amount >= 0, got {total!r}")
        basis = "given"
    elif math.isfinite(wld):
        t, basis = wld, "WLD"
    else:
        t, basis = known_sum, "sum of known values"
    return _Parts(named, oth, has_oth, wld, t, basis, known_sum)


def shares(values: Values, total: float | None = None) -> pd.Series:
    """Share of each country in the reference total: ``s_c = v_c / T``.

    ``T`` is ``total`` if given, else the ``WLD`` entry, else the sum of known amounts (``OTH``
    included), so that with neither the known shares sum to 1. ``OTH`` keeps its share; ``WLD`` is
    dropped; a missing amount (NaN) stays NaN. If ``T`` is 0 every share is NaN.

    Source: the ordinary market-share definition, as in the U.S. DOJ & FTC Merger Guidelines
    (2023) and the USGS / EU supply-share tables.

    Example:
        >>> shares({"CHN": 50, "AUS": 30, "CHL": 20}).to_dict()
        {'CHN': 0.5, 'AUS': 0.3, 'CHL': 0.2}
    """
    p = _parts(values, total)
    s = as_series(values).drop(WORLD, errors="ignore")
    if p.total <= 0:
        return pd.Series(math.nan, index=s.index, name="share")
    out = s / p.total
    out.name = "share"
    return out


def _named_shares(p: _Parts) -> pd.Series:
    """Known shares of named countries, largest first (empty if T == 0)."""
    if p.total <= 0:
        return pd.Series(dtype=float)
    s = (p.named.dropna() / p.total).sort_values(ascending=False, kind="mergesort")
    return s


def hhi(
    values_or_shares: Values,
    scale: Literal["unit", "10000"] = "unit",
    *,
    total: float | None = None,
) -> float:
    """Herfindahl-Hirschman index: ``HHI = sum_c s_c**2`` over named countries.

    Shares ``s_c`` are taken over the reference total (see :func:`shares`), so amounts and
    shares give the same result and the index does not change when every amount is scaled.
    ``OTH`` counts in the total but its square is left out (treated as many small suppliers);
    see :func:`summarize` for the upper bound. Missing (NaN) countries are left out.

    ``scale="unit"`` gives 0-1 (1 = a single supplier, 1/n = n equal suppliers);
    ``scale="10000"`` gives the US DOJ/FTC scale with shares in percent (0-10,000; the 2023
    Merger Guidelines call markets above 1,800 highly concentrated). NaN if the total is 0.

    Source: Hirschman (1945), Herfindahl (1950); U.S. DOJ & FTC, Merger Guidelines (2023).

    Example:
        >>> hhi({"A": 50, "B": 30, "C": 20}), hhi({"A": 50, "B": 30, "C": 20}, "10000")
        (0.38, 3800.0)
    """
    if scale not in ("unit", "10000"):
        raise MetricInputError(f"scale must be 'unit' or '10000', got {scale!r}")
    p = _parts(values_or_shares, total)
    if p.total <= 0:
        return math.nan
    s = _named_shares(p).to_numpy(dtype=float)
    h = float(np.sum(s * s))
    return h * 10_000.0 if scale == "10000" else h


def top_k_share(values: Values, k: int, *, total: float | None = None) -> float:
    """Combined share of the ``k`` largest named suppliers: ``sum of the k largest s_c``.

    ``OTH`` and missing countries are never among the top k. Over inputs without ``OTH``,
    ``WLD`` or NaN, the value reaches 1 once ``k`` >= the number of suppliers. NaN if the total
    is 0.

    Source: the concentration ratio CR_k of industrial economics (e.g. CR4; OECD Glossary of
    Industrial Organisation Economics and Competition Law, 1993).
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise MetricInputError(f"k must be a whole number >= 0, got {k!r}")
    p = _parts(values, total)
    if p.total <= 0:
        return math.nan
    return float(_named_shares(p).iloc[: int(k)].sum())


def n_suppliers_for(
    values: Values, threshold: float = 0.9, *, total: float | None = None
) -> int | None:
    """Fewest named suppliers whose combined share reaches ``threshold`` of the total.

    Suppliers are taken largest first. Returns None when all named suppliers together fall
    short (because ``OTH`` or withheld supply is too large to tell), or when the total is 0.

    Source: no single canonical reference; a plain supply-diversity count, the inverse of
    the concentration ratio :func:`top_k_share` (smallest k with CR_k >= threshold).
    """
    if not (0.0 < float(threshold) <= 1.0):
        raise MetricInputError(f"threshold must be in (0, 1], got {threshold!r}")
    p = _parts(values, total)
    if p.total <= 0:
        return None
    cum = np.cumsum(_named_shares(p).to_numpy(dtype=float))
    hit = np.nonzero(cum >= float(threshold) - _SUM_TOL)[0]
    return int(hit[0]) + 1 if len(hit) else None


def summarize(
    values: Values,
    total: float | None = None,
    *,
    reasons: Mapping[str, str | None] | pd.Series | None = None,
) -> ConcentrationSummary:
    """Concentration of supply in one object (HHI with bounds, top supplier, top 3, n for 90 %).

    Args:
        values: amount per country (ISO3); may contain ``WLD`` and ``OTH`` rows and NaN.
        total: reference total; default the ``WLD`` entry, else the sum of known amounts.
        reasons: why a value is missing, by country (e.g. the reader's ``missing_reason``:
            ``"W"`` withheld, ``"NA"``); reported in ``missing``.

    Formulas: ``s_c = v_c / T``; ``hhi = sum_named s_c**2``; ``hhi_upper = hhi + u**2`` where
    ``u = max(0, 1 - sum_named s_c)`` is the unnamed share; ``coverage = known / T``.
    Sources: as for :func:`hhi`, :func:`top_k_share` and :func:`n_suppliers_for`.
    """
    p = _parts(values, total)
    reason_map: dict[str, str | None] = {}
    if reasons is not None:
        reason_map = {str(k): (None if _isna(v) else str(v)) for k, v in dict(reasons).items()}
    missing_codes = [str(c) for c in p.named.index[p.named.isna()]]
    if p.has_oth and math.isnan(p.oth):
        missing_codes.append(OTHER)
    missing = tuple(Missing(c, reason_map.get(c)) for c in missing_codes)
    notes: list[str] = []

    if p.total > 0:
        named = _named_shares(p)
        h = float(np.sum(named.to_numpy(dtype=float) ** 2))
        named_sum = float(named.sum())
        unnamed = max(0.0, 1.0 - named_sum)
        coverage = min(1.0, max(0.0, p.known_sum / p.total))
        other_share = (p.oth / p.total) if p.has_oth else 0.0
        top = str(named.index[0]) if len(named) else None
        top_share = float(named.iloc[0]) if len(named) else 0.0
        top3 = float(named.iloc[:3].sum())
        cum = np.cumsum(named.to_numpy(dtype=float))
        hit = np.nonzero(cum >= 0.9 - _SUM_TOL)[0]
        n90 = int(hit[0]) + 1 if len(hit) else None
        n_sup = int((named > 0).sum())
        if p.known_sum > p.total * (1 + 1e-6):
            notes.append(
                f"known amounts exceed the reference total by "
                f"{(p.known_sum / p.total - 1) * 100:.2g}% (a rounded world total?): shares sum "
                "above 1 and coverage is capped at 1"
            )
    else:
        h = unnamed = top_share = top3 = other_share = math.nan
        coverage = 0.0 if missing else 1.0
        top, n90, n_sup = None, None, 0
        notes.append("the reference total is zero: shares and HHI are undefined")

    h_upper = h + unnamed**2 if math.isfinite(h) else math.nan
    if p.basis == "sum of known values" and missing:
        notes.append(
            "no world total was given, so coverage is measured against the sum of known "
            f"values and cannot see the {len(missing)} missing amount(s) ("
            + ", ".join(m.country + (f" {m.reason}" if m.reason else "") for m in missing)
            + "); shares are shares of the known total"
        )
    if p.has_oth and not math.isnan(p.oth) and p.total > 0:
        notes.append(
            f"'other countries' (OTH, {other_share:.1%} of the total) count in the total but "
            "are not a nameable supplier: hhi treats them as many small suppliers, hhi_upper "
            "as one"
        )
    return ConcentrationSummary(
        hhi=h,
        hhi_10000=h * 10_000.0 if math.isfinite(h) else math.nan,
        hhi_upper=h_upper,
        top_supplier=top,
        top_supplier_share=top_share,
        top3_share=top3,
        n_for_90=n90,
        n_suppliers=n_sup,
        coverage=coverage,
        missing=missing,
        other_share=other_share,
        unnamed_share=unnamed,
        total=p.total,
        total_basis=p.basis,
        notes=tuple(notes),
    )


def _isna(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
