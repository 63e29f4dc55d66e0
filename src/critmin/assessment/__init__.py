"""Assess supply concentration, zone dependence, net import reliance and criticality, by mineral
and stage: the views behind ``critmin assess``.

Every view returns a list of :class:`AssessRecord` (plain JSON-ready dicts: shares are fractions
0-1, missing is ``None``; each names its view, mineral, stage, year, USGS edition, sources and
notes). ``docs/assess.md`` explains every field.

* :mod:`~critmin.assessment.supply` (:func:`assess`, ``critmin.assess``): one record per
  (mineral, stage, year), most concentrated first, from USGS production, else EU CRM 2023
  shares, else BACI exports;
* :mod:`~critmin.assessment.zone`: with a zone, its self-sufficiency and the watch countries'
  share of its demand (trade basis, production proxy or share proxy);
* :mod:`~critmin.assessment.nir` (:func:`nir_view`): net import reliance, U.S. from the USGS
  salient statistics beside the published figure, any country from output plus trade;
* :mod:`~critmin.assessment.criticality` (:func:`criticality_records`): the EU 2023
  supply-risk building blocks beside the official SR and EI;
* :mod:`~critmin.assessment.common`: the record type, the zone, look-ups and checks;
* :mod:`~critmin.assessment.tables`: ``critmin data show`` (the bundled tables, filtered).

The crosswalks between critmin's minerals and the publishers' names are curated CSVs read
through :mod:`critmin.catalog.crosswalks`.
"""

from __future__ import annotations

from critmin.assessment.common import (
    AssessRecord,
    Zone,
    bundled_minerals,
    check_edition,
    check_stages,
    check_year,
    eu_material,
    nearest_trade_year,
    newest_edition,
    product_at,
    source_summary,
)
from critmin.assessment.criticality import criticality_records, criticality_view
from critmin.assessment.nir import (
    NIR_SERIES,
    nir_basis,
    nir_from_trade,
    nir_view,
    select_nir_series,
    us_nir,
)
from critmin.assessment.supply import (
    Supply,
    assess,
    assess_one,
    eu_shares,
    export_shares,
    stage_supply,
    usgs_production,
)
from critmin.catalog import STAGES
from critmin.catalog.crosswalks import NirSeries
from critmin.numbers import clean

__all__ = [
    "NIR_SERIES",
    "STAGES",
    "AssessRecord",
    "NirSeries",
    "Supply",
    "Zone",
    "assess",
    "assess_one",
    "bundled_minerals",
    "check_edition",
    "check_stages",
    "check_year",
    "clean",
    "criticality_records",
    "criticality_view",
    "eu_material",
    "eu_shares",
    "export_shares",
    "nearest_trade_year",
    "newest_edition",
    "nir_basis",
    "nir_from_trade",
    "nir_view",
    "product_at",
    "select_nir_series",
    "source_summary",
    "stage_supply",
    "us_nir",
    "usgs_production",
]
