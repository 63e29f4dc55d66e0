"""Metrics: pure functions over supply and trade amounts (no I/O, no data loading).

* :mod:`~critmin.metrics.concentration`: shares, HHI, top-k share, suppliers for 90 %.
* :mod:`~critmin.metrics.criticality`: EU supply-risk building block HHI_WGI,t, GeoPolRisk.
* :mod:`~critmin.metrics.dependence`: USGS net import reliance, zone self-sufficiency,
  watch-country share, zone import concentration.

Conventions (missing values, ``WLD`` / ``OTH``, coverage) are in the concentration module
docstring and in ``docs/metrics.md``.
"""

from __future__ import annotations

from critmin.metrics.concentration import (
    AGGREGATES,
    OTHER,
    WORLD,
    ConcentrationSummary,
    MetricInputError,
    Missing,
    hhi,
    n_suppliers_for,
    shares,
    summarize,
    top_k_share,
)
from critmin.metrics.criticality import (
    GeoPolRisk,
    HhiWgiT,
    SupplyRisk,
    eu_supply_risk,
    eu_supply_risk_detail,
    geopolrisk,
    geopolrisk_import_shares,
    governance_risk_from_pv,
    hhi_wgi_t,
    hhi_wgi_t_detail,
    scale_wgi_eu,
    wgi_average,
)
from critmin.metrics.dependence import (
    NetImportReliance,
    ZoneShare,
    import_concentration,
    matches_usgs,
    net_import_reliance,
    net_import_reliance_detail,
    net_import_reliance_from_consumption,
    nir_band,
    top_outside_suppliers,
    watch_share,
    zone_self_sufficiency,
)

__all__ = [
    "AGGREGATES",
    "OTHER",
    "WORLD",
    "ConcentrationSummary",
    "GeoPolRisk",
    "HhiWgiT",
    "MetricInputError",
    "Missing",
    "NetImportReliance",
    "SupplyRisk",
    "ZoneShare",
    "eu_supply_risk",
    "eu_supply_risk_detail",
    "geopolrisk",
    "geopolrisk_import_shares",
    "governance_risk_from_pv",
    "hhi",
    "hhi_wgi_t",
    "hhi_wgi_t_detail",
    "import_concentration",
    "matches_usgs",
    "n_suppliers_for",
    "net_import_reliance",
    "net_import_reliance_detail",
    "net_import_reliance_from_consumption",
    "nir_band",
    "scale_wgi_eu",
    "shares",
    "summarize",
    "top_k_share",
    "top_outside_suppliers",
    "watch_share",
    "wgi_average",
    "zone_self_sufficiency",
]
