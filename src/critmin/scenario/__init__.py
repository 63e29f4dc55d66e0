"""Scenarios: the file schema (:mod:`critmin.scenario.spec`) and its resolution into markets
ready to solve (:mod:`critmin.scenario.resolution`).

``load_scenario(path | dict)`` validates a scenario; ``resolve(scenario, world)`` turns it into
:class:`ResolvedProduct` markets. Resolution is imported on first use, so validating a file does
not load the data or the solver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from critmin.scenario.spec import (
    Defaults,
    Disruption,
    ExportBanPolicy,
    ExportLicensingPolicy,
    ExportQuotaPolicy,
    Policy,
    PriceFloorPolicy,
    ProductSpec,
    Scenario,
    Selector,
    TariffPolicy,
    UncertaintySettings,
    Zone,
    load_scenario,
)

if TYPE_CHECKING:
    from critmin.scenario.resolution import (
        Elasticities,
        ResolvedProduct,
        build_policy,
        resolve,
        resolve_elasticities,
        select_countries,
        zone_codes,
    )

__all__ = [
    "Defaults",
    "Disruption",
    "Elasticities",
    "ExportBanPolicy",
    "ExportLicensingPolicy",
    "ExportQuotaPolicy",
    "Policy",
    "PriceFloorPolicy",
    "ProductSpec",
    "ResolvedProduct",
    "Scenario",
    "Selector",
    "TariffPolicy",
    "UncertaintySettings",
    "Zone",
    "build_policy",
    "load_scenario",
    "resolve",
    "resolve_elasticities",
    "select_countries",
    "zone_codes",
]

_RESOLUTION = frozenset(
    {
        "Elasticities",
        "ResolvedProduct",
        "build_policy",
        "resolve",
        "resolve_elasticities",
        "select_countries",
        "zone_codes",
    }
)


def __getattr__(name: str) -> Any:
    """Import the resolution names on first use (they load pandas, the data and the solver)."""
    if name in _RESOLUTION:
        from critmin.scenario import resolution

        return getattr(resolution, name)
    raise AttributeError(f"module 'critmin.scenario' has no attribute {name!r}")
