"""Readers for the public source files critmin is built from.

Each reader takes a path and returns a tidy :class:`pandas.DataFrame` with the schema of
docs/architecture.md (extra columns at the end), or raises
:class:`critmin.errors.SourceFormatError` naming the file and the problem.
"""

from __future__ import annotations

from critmin.sources.baci import FLOWS_COLUMNS, read_baci
from critmin.sources.comtrade import COMTRADE_COLUMNS, read_comtrade_bulk
from critmin.sources.eu_crm import (
    EU_SR_EI_COLUMNS,
    EU_SUPPLY_SHARES_COLUMNS,
    read_eu_supply_shares,
    read_global_supply_shares,
    read_sr_ei,
)
from critmin.sources.usgs_mcs import (
    MINERAL_SUPPLY_COLUMNS,
    mineral_id,
    read_mcs2025_world,
    read_mcs2026,
    read_mcs_world_dir,
    read_mcs_world_per_commodity,
)
from critmin.sources.usgs_salient import (
    US_SALIENT_COLUMNS,
    read_mcs2026_salient,
    read_salient_csv,
)
from critmin.sources.wgi import WGI_COLUMNS, read_wgi

__all__ = [
    "COMTRADE_COLUMNS",
    "EU_SR_EI_COLUMNS",
    "EU_SUPPLY_SHARES_COLUMNS",
    "FLOWS_COLUMNS",
    "MINERAL_SUPPLY_COLUMNS",
    "US_SALIENT_COLUMNS",
    "WGI_COLUMNS",
    "mineral_id",
    "read_baci",
    "read_comtrade_bulk",
    "read_eu_supply_shares",
    "read_global_supply_shares",
    "read_mcs2025_world",
    "read_mcs2026",
    "read_mcs2026_salient",
    "read_mcs_world_dir",
    "read_mcs_world_per_commodity",
    "read_salient_csv",
    "read_sr_ei",
    "read_wgi",
]
