"""The NIR view: net import reliance of a country by mineral (``critmin assess --view nir``).

For the United States, from the USGS salient statistics (the edition asked for, else the newest
that publishes the year), beside the published figure and whether they agree
(:func:`us_nir`); for any country, from USGS production plus BACI trade in tonnes (via the
product's content factor) where output and the traded product are at the same stage and in the
same unit, with the reason where not (:func:`nir_from_trade`).

NIR = (imports - exports - stock change) / apparent consumption (USGS, Mineral Commodity
Summaries, Appendix: net import reliance), computed by :mod:`critmin.metrics.dependence`.
Which published series USGS's NIR of a mineral uses is a reviewed crosswalk
(``data/curated/nir_series.csv``, :data:`NIR_SERIES`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, cast

import pandas as pd

from critmin.assessment.common import (
    AssessRecord,
    bundled_minerals,
    check_edition,
    check_stages,
    check_year,
    compatible_units,
    product_at,
    trade,
)
from critmin.assessment.supply import usgs_production
from critmin.catalog import crosswalks
from critmin.catalog.crosswalks import NirSeries
from critmin.errors import UnknownCountryError
from critmin.metrics import dependence
from critmin.metrics.concentration import MetricInputError
from critmin.numbers import clean, finite_or_none
from critmin.world import World

NIR_SERIES: dict[str, NirSeries] = crosswalks.nir_series()
"""Reviewed choice of salient series per critmin mineral, where the default picks the wrong
one (``data/curated/nir_series.csv``). Checked against USGS's identity (production + imports -
exports +/- stock changes = apparent consumption) on the MCS2026 rows for 2021-2025, not tuned
to the published NIR."""

_BASIS_PATTERNS: dict[str, str] = crosswalks.nir_consumption_kinds()


def _salient_amount(row: pd.Series | None) -> tuple[float | None, str | None]:
    """A salient value: the number, 0 for USGS '—' (none), None for W / NA; and its text."""
    if row is None:
        return None, None
    text = None if pd.isna(row["value_text"]) else str(row["value_text"])
    v = finite_or_none(row["value"])
    reason = None if pd.isna(row["missing_reason"]) else str(row["missing_reason"])
    if v is not None and reason != "band":
        return v, text
    if reason == "--":
        return 0.0, text
    if reason == "band" and text is not None and text.casefold().startswith("less than ½"):
        return 0.0, text  # USGS: less than half the unit, i.e. 0 at the published rounding
    return None, text


def _salient_sum(rows: pd.DataFrame) -> tuple[float | None, str | None]:
    """The sum of the selected series (None if none is selected or one is W / NA), and the
    published texts joined with ' + '."""
    if rows.empty:
        return None, None
    parts = [_salient_amount(r) for _, r in rows.iterrows()]
    texts = [t for _, t in parts if t is not None]
    text = " + ".join(texts) if texts else None
    if any(v is None for v, _ in parts):
        return None, text
    return float(sum(v for v, _ in parts if v is not None)), text


_ANY_BASIS = "|".join(f"(?:{p})" for p in _BASIS_PATTERNS.values())
_QUALIFIER_STOP = frozenset(
    {"net", "import", "reliance", "as", "a", "percentage", "of", "the", "and", "all", "form"}
    | {"total", "content"}
)
"""Words of an NIR's detail (plurals folded) that name no form of the commodity."""


def _words(text: str) -> set[str]:
    """Lower-case words of a detail, plurals folded (``Compounds`` -> ``compound``)."""
    out = set()
    for w in re.findall(r"[a-z0-9]+", text.casefold()):
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def nir_basis(nir_detail: str) -> tuple[str | None, frozenset[str]]:
    """The consumption a published NIR is a percentage of, and the form it names.

    ``"Net import reliance as a percentage of apparent consumption: Compounds and metals"``
    -> ``("apparent", {"compound", "metal"})``; the CSV header words ``compounds_metals`` ->
    ``(None, {"compound", "metal"})`` (the kind of consumption is not named).
    """
    text = str(nir_detail)
    basis = next(
        (b for b, pat in _BASIS_PATTERNS.items() if re.search(pat, text, re.IGNORECASE)),
        None,
    )
    m = re.search(r"consumption(.*)$", text, re.IGNORECASE)
    tail = m.group(1) if m else text
    tail = re.sub(_ANY_BASIS, " ", tail, flags=re.IGNORECASE)
    return basis, frozenset(_words(tail) - _QUALIFIER_STOP)


def _default_series(rows: pd.DataFrame, qualifier: frozenset[str]) -> pd.DataFrame:
    """One series among several: the one naming the NIR's form, else a total, else the first
    USGS lists."""
    if len(rows) <= 1:
        return rows
    words = [_words(d) for d in rows["detail"]]
    if qualifier:
        named = [i for i, w in enumerate(words) if qualifier <= w]
        if named:
            return rows.iloc[named[:1]]
    totals = [i for i, w in enumerate(words) if "total" in w]
    if totals:
        return rows.iloc[totals[:1]]
    return rows.iloc[:1]


def _matching(rows: pd.DataFrame, pattern: str) -> pd.DataFrame:
    hit = rows["detail"].str.contains(pattern, case=False, regex=True, na=False)
    return rows[hit.to_numpy(dtype=bool)]


def select_nir_series(
    rows: pd.DataFrame, statistic: str, nir_detail: str, spec: NirSeries | None = None
) -> pd.DataFrame:
    """The salient rows (one mineral, edition and year) that USGS's NIR uses for a statistic.

    With a reviewed pattern for the mineral (:data:`NIR_SERIES`), every row whose ``detail``
    matches it. Otherwise:

    * ``consumption``: the consumption the published NIR is a percentage of (``apparent``,
      USGS's definition, unless it says ``reported`` or ``estimated``); else a series that
      names no kind; where the NIR does not name its kind (the CSV headers), any series.
      Among several, the one naming the NIR's form, else a ``total``, else the first. A
      reported consumption never stands in for a withheld apparent one;
    * other statistics: the series naming the NIR's form (``Ores and concentrates`` for the
      zinc ore NIR), else a ``total``, else the first USGS lists (usually the main one).
    """
    sub = rows[rows["statistic"] == statistic]
    if "detail" in sub.columns:
        sub = sub.assign(detail=sub["detail"].fillna("").astype(str))
    else:
        sub = sub.assign(detail="")
    pattern = getattr(spec, statistic, None) if spec is not None else None
    if pattern is not None:
        return _matching(sub, pattern)
    basis, qualifier = nir_basis(nir_detail)
    if statistic == "consumption":
        same = _matching(sub, _BASIS_PATTERNS[basis or "apparent"])
        if same.empty:
            kinds = sub["detail"].str.contains(_ANY_BASIS, case=False, regex=True, na=False)
            same = sub[~kinds.to_numpy(dtype=bool)]
        if same.empty and basis is None:
            same = sub
        sub = same
    return _default_series(sub, qualifier)


def us_nir(world: World, mineral: str, year: int, edition: str | None = None) -> dict[str, Any]:
    """U.S. net import reliance from the USGS salient statistics, beside the published value.

    The components (production, imports, exports, consumption, year-end stocks) and the
    published ``nir_pct`` come from one edition: ``edition`` if given, else the newest that
    publishes the year. Where a statistic has several series (mine and secondary production,
    ore and refined imports, reported and apparent consumption), the one USGS's NIR uses is
    taken (:func:`select_nir_series`, :data:`NIR_SERIES`); ``series`` in the record lists
    the rows used.

    NIR = (imports - exports - stock change) / consumption, over the consumption the published
    NIR names (USGS's apparent consumption, which includes secondary production), else
    apparent consumption computed from production and net trade; where U.S. production is nil
    (USGS "—"), apparent consumption is net imports by USGS's definition, so NIR is 100 % for a
    net importer. For the minerals whose :data:`NIR_SERIES` entry says so, NIR = (apparent
    consumption - production) / apparent consumption (the same by USGS's identity) or imports
    / consumption. Computed by :mod:`critmin.metrics.dependence` and compared with
    :func:`critmin.metrics.dependence.matches_usgs` (``None`` when there is nothing to
    compare: the computed or the published value is missing).
    """
    ids = (mineral, *crosswalks.salient_ids().get(mineral, ()))
    u = world.us_salient
    sub = u[u["mineral"].isin(ids) & (u["year"] == year)]
    rec: dict[str, Any] = {
        "view": "nir",
        "country": "USA",
        "mineral": mineral,
        "stage": None,
        "year": year,
        "edition": edition,
        "notes": [],
        "method": "usgs_salient",
        "nir": None,
        "published_nir": None,
        "matches_usgs": None,
        "coverage": 0.0,
    }
    with_nir = sub[sub["statistic"] == "nir_pct"]
    if edition is not None:
        with_nir = with_nir[with_nir["edition"] == edition]
    if with_nir.empty:
        return rec | {
            "reason": f"no USGS salient statistics for {mineral} in {year}"
            + (f" in {edition}" if edition else ""),
            "sources": [],
        }
    edition = str(max(map(str, with_nir["edition"])))
    ed = u[u["mineral"].isin(ids) & (u["edition"] == edition)]
    this_year = ed[ed["year"] == year]
    spec = NIR_SERIES.get(mineral)
    nir_rows = this_year[this_year["statistic"] == "nir_pct"]
    if spec is not None and spec.nir is not None:
        named = _matching(nir_rows.assign(detail=nir_rows["detail"].fillna("")), spec.nir)
        nir_rows = named if len(named) else nir_rows
    published_row = nir_rows.iloc[0]
    nir_detail = str(published_row["detail"]) if pd.notna(published_row["detail"]) else ""
    published = str(published_row["value_text"]).strip()
    series: dict[str, list[str]] = {"nir_pct": [nir_detail]}

    def pick(stat: str) -> pd.DataFrame:
        chosen = select_nir_series(this_year, stat, nir_detail, spec)
        if len(chosen):
            series[stat] = [str(d) for d in chosen["detail"]]
        return chosen

    prod_rows = pick("production")
    prod, prod_t = _salient_sum(prod_rows)
    imp_rows = pick("imports")
    exp_rows = pick("exports")
    imp, imp_t = _salient_sum(imp_rows)
    exp, exp_t = _salient_sum(exp_rows)
    cons_rows = pick("consumption")
    cons, cons_t = _salient_sum(cons_rows)
    change, _ = _salient_sum(pick("stock_change"))
    notes: list[str] = []
    if cons is None:
        if len(cons_rows):
            notes.append(
                f"USGS consumption ({'; '.join(series['consumption'])}) is {cons_t}: "
                "not replaced by another consumption series"
            )
        elif (this_year["statistic"] == "consumption").any():
            notes.append(
                "USGS publishes no consumption of the kind its NIR divides by: the other "
                "consumption series are not used"
            )
    if change is None:
        stocks = pick("stocks")
        s1, _ = _salient_sum(stocks)
        last = ed[(ed["year"] == year - 1) & (ed["statistic"] == "stocks")]
        last = last[last["detail"].fillna("").isin(stocks["detail"])]
        s0, _ = _salient_sum(last) if len(last) == len(stocks) else (None, None)
        if s1 is not None and s0 is not None:
            change = s1 - s0
            notes.append(f"stock change = year-end stocks {year} - {year - 1}")
    unit_row = next((r.iloc[0] for r in (imp_rows, exp_rows, prod_rows) if len(r)), None)
    unit = None if unit_row is None else str(unit_row["unit"])
    numerator = spec.numerator if spec is not None else "net_imports"
    if numerator == "consumption_less_production":
        det = dependence.net_import_reliance_from_consumption(cons, prod)
        if det.net_imports == 0 and imp is not None and exp is not None and imp < exp:
            # consumption = production at USGS's rounding: the published trade gives the sign
            det = replace(
                det,
                net_exporter=True,
                reason="apparent consumption equals production and exports exceed imports: "
                "USGS prints 'E'; reported as 0",
            )
        notes.insert(
            0,
            "NIR = (USGS apparent consumption - the production counted in it) / apparent "
            "consumption (= net imports with stock adjustments, by USGS's identity)",
        )
        needed = [cons, prod]
    elif numerator == "imports":
        det = dependence.net_import_reliance_detail(imp, 0.0, prod, 0.0, cons)
        notes.insert(0, "NIR = imports / consumption, as USGS defines it for this mineral")
        needed = [imp, cons]
    else:
        # no U.S. production: apparent consumption is net imports, NIR 100 % for a net importer
        det = dependence.net_import_reliance_detail(
            imp, exp, prod, change, None if prod == 0 else cons
        )
        if det.consumption_basis == "given":
            notes.insert(0, "denominator: USGS published consumption")
        elif det.consumption_basis == "apparent":
            notes.insert(
                0,
                "denominator: apparent consumption = production + imports - exports - stock "
                "change"
                + (
                    " (no U.S. production: apparent consumption is net imports)"
                    if prod == 0
                    else ""
                ),
            )
        needed = [imp, exp, cons if cons is not None else prod, change]
    if spec is not None and spec.why:
        notes.append(f"series: {spec.why}")
    matches: bool | None
    try:
        comparable = det.value is not None or det.net_exporter
        matches = dependence.matches_usgs(det, published) if published and comparable else None
    except MetricInputError:
        matches = None
        notes.append(f"published NIR {published!r} is not a number or band: nothing to compare")
    if matches is False:
        notes.append(
            "does not reproduce the published figure from the series used (see 'series'): "
            "USGS may have used components it does not publish (stock changes, secondary "
            "production) or other forms"
        )
    coverage = sum(v is not None for v in needed) / len(needed) if det.value is not None else 0.0
    src = str(ed["source_file"].iloc[0]) if len(ed) else ""
    return rec | {
        "edition": edition,
        "unit": unit,
        "production": prod,
        "production_text": prod_t,
        "imports": imp,
        "imports_text": imp_t,
        "exports": exp,
        "exports_text": exp_t,
        "stock_change": change,
        "consumption": cons,
        "consumption_text": cons_t,
        "consumption_basis": det.consumption_basis,
        "nir": det.value,
        "nir_text": det.text,
        "nir_band": dependence.nir_band(det.value) if det.value is not None else None,
        "net_exporter": det.net_exporter,
        "published_nir": published,
        "matches_usgs": matches,
        "coverage": coverage,
        "reason": det.reason,
        "series": series,
        "notes": notes,
        "sources": [f"USGS {edition} U.S. salient statistics ({src})"],
    }


def _unit_value(f: pd.DataFrame, has_q: pd.Series) -> float | None:
    """World unit value (USD/t) of the flows with a quantity, None without any."""
    if not bool(has_q.any()):
        return None
    return float(f.loc[has_q, "value_usd"].sum() / f.loc[has_q, "quantity_t"].sum())


_REASON_WORDS = {
    "W": "withheld",
    "NA": "not available",
    "blank": "not published",
    "XX": "not applicable",
}


def nir_from_trade(
    world: World, country: str, mineral: str, stage: str, year: int, edition: str | None = None
) -> dict[str, Any]:
    """Net import reliance of any country from USGS production (of ``edition``, else the
    newest publishing the year) plus BACI trade in tonnes."""
    rec: dict[str, Any] = {
        "view": "nir",
        "country": country,
        "mineral": mineral,
        "stage": stage,
        "year": year,
        "edition": None,
        "notes": [],
        "method": "production_plus_trade",
        "nir": None,
        "published_nir": None,
        "matches_usgs": None,
        "coverage": 0.0,
        "sources": [],
    }
    prod = product_at(world, mineral, stage)
    supply = usgs_production(world, mineral, stage, year, edition)
    if prod is None:
        others = world.products[world.products["mineral"] == mineral]
        where = (
            f"the bundled traded product ({others['product_id'].iloc[0]}, HS "
            f"{others['hs6'].iloc[0]}) is at the {others['stage'].iloc[0]} stage"
            if len(others)
            else "no traded product is bundled"
        )
        return rec | {"reason": f"no bundled traded product at the {stage} stage: {where}"}
    pid = str(prod["product_id"])
    rec["product_id"] = pid
    if supply is None:
        return rec | {
            "reason": f"no USGS {stage} production of {mineral} for {year}: national output "
            "unknown (EU shares are not tonnes of the year)"
        }
    why = compatible_units(supply.content_basis, prod)
    cf = finite_or_none(prod["content_factor"])
    if why or cf is None or cf <= 0:
        return rec | {"reason": why or f"{pid} has no content factor"}
    f = trade(world, pid)
    has_q = f["quantity_t"].notna() & (f["quantity_t"] > 0)
    uv = _unit_value(f, has_q)
    uv_note = None
    if uv is None and world.year != 2024:
        from critmin.world import load_world

        f24 = trade(load_world(2024), pid)
        uv = _unit_value(f24, f24["quantity_t"].notna() & (f24["quantity_t"] > 0))
        uv_note = (
            f"BACI {world.year} has no quantities: tonnes = values / the 2024 world unit value"
        )
    if uv is None:
        return rec | {"reason": f"BACI {world.year} has no quantities for {pid}: tonnes unknown"}
    q = f["quantity_t"].where(has_q, f["value_usd"] / uv)
    into, outof = f["importer"] == country, f["exporter"] == country
    imports = float(q[into].sum()) * cf
    exports = float(q[outof].sum()) * cf
    traded = float(f.loc[into | outof, "value_usd"].sum())
    # measured: observed trade with quantities; critmin's estimated flows are not measured
    estimate = f["basis"].eq("estimate") if "basis" in f else pd.Series(False, index=f.index)
    est_value = float(f.loc[(into | outof) & estimate, "value_usd"].sum())
    measured = float(f.loc[(into | outof) & has_q & ~estimate, "value_usd"].sum())
    trade_cov = measured / traded if traded > 0 else 1.0
    trade_source = f"CEPII BACI HS17 V202601 {world.year} ({pid}, tonnes)"
    if est_value > 0:
        est_sources = sorted(set(map(str, f.loc[(into | outof) & estimate, "method"])))
        trade_source = (
            f"critmin estimate ({', '.join(est_sources)}) of the flows of {pid} (HS "
            f"{prod['hs6']}), {world.year}: not observed trade (docs/data.md)"
            + (f"; CEPII BACI HS17 V202601 {world.year}" if est_value < traded else "")
        )
    notes = [
        f"imports and exports of {pid} (HS {prod['hs6']}) in "
        + ("BACI" if est_value <= 0 else "critmin's estimated flows")
        + f" {world.year} x content factor {cf:g}",
    ]
    if est_value > 0:
        notes.append(
            f"ESTIMATE: {est_value / traded:.0%} of {country}'s trade value in {pid} rests on "
            "critmin's estimated flows (mass balance, not observed trade): coverage counts it "
            "as not measured"
        )
    if uv_note:
        notes.append(uv_note)
    elif traded > 0 and (no_q := 1 - trade_cov - est_value / traded) > 1e-9:
        notes.append(
            f"{no_q:.0%} of the trade value has no quantity: tonnes estimated at the world "
            "unit value"
        )
    if world.year != year:
        notes.append(f"production of {year} against trade of {world.year}")
    if prod.get("caveat"):
        notes.append(f"product caveat: {prod['caveat']}")
    values = supply.values
    reason: str | None = None
    if country in values.index:
        production = finite_or_none(values[country])
        if production is None:
            code = supply.reasons.get(country, "missing")
            reason = (
                f"USGS {stage} production of {country} is {code} ({_REASON_WORDS.get(code, 'missing')}): "
                "apparent consumption cannot be computed"
            )
    else:
        production = 0.0
        notes.append("not listed by USGS as a producer: production taken as 0")
    det = dependence.net_import_reliance_detail(imports, exports, production, None)
    published, matches = None, None
    if country == "USA":
        pub = us_nir(world, mineral, year, edition)
        published = pub.get("published_nir")
        if published is not None and det.value is not None:
            try:
                matches = dependence.matches_usgs(det, published)
            except MetricInputError:
                matches = None
        if published is not None:
            notes.append(
                "published: the USGS salient NIR of the mineral, which may refer to another "
                "form or stage than this product; a cross-check, not a test"
            )
    return rec | {
        "edition": supply.edition,
        "published_nir": published,
        "matches_usgs": matches,
        "unit": f"t ({supply.content_basis})",
        "production": production,
        "imports": imports,
        "exports": exports,
        "stock_change": None,
        "consumption": det.consumption,
        "consumption_basis": det.consumption_basis,
        "nir": det.value,
        "nir_text": det.text,
        "nir_band": dependence.nir_band(det.value) if det.value is not None else None,
        "net_exporter": det.net_exporter,
        "coverage": trade_cov if det.value is not None else 0.0,
        "reason": reason or det.reason,
        "notes": notes,
        "sources": [supply.source, trade_source],
    }


def nir_view(
    world: World,
    country: str = "USA",
    minerals: list[str] | None = None,
    stages: list[str] | None = None,
    year: int = 2024,
    *,
    edition: str | None = None,
) -> list[AssessRecord]:
    """Net import reliance of ``country`` by mineral (and stage, for the trade-based method).

    For the USA the first record of each mineral is the USGS salient-statistics figure; every
    country gets the production-plus-trade figure for each stage that has production
    statistics or a traded product (``reason`` says why it is missing where it is).
    ``edition`` takes every USGS figure from that edition (it must publish ``year``).
    """
    codes = world.resolve_countries(country)
    if len(codes) != 1:
        raise UnknownCountryError(
            f"--country takes one country, got {country!r} ({len(codes)} countries)"
        )
    code = codes[0]
    stage_list = [s for s in check_stages(stages) if s != "product"]
    names = (  # each mineral once: 'lithium,LITHIUM' printed its rows twice
        list(dict.fromkeys(world.check_mineral(m) for m in minerals))
        if minerals
        else bundled_minerals(world)
    )
    check_year(world, year)
    ed = check_edition(world, edition, year)
    out: list[dict[str, Any]] = []
    for mineral in names:
        if code == "USA":
            out.append(us_nir(world, mineral, year, ed))
        for stage in stage_list:
            has_prod = usgs_production(world, mineral, stage, year, ed) is not None
            if has_prod or product_at(world, mineral, stage) is not None:
                out.append(nir_from_trade(world, code, mineral, stage, year, ed))
    return [cast(AssessRecord, clean(r)) for r in out]
