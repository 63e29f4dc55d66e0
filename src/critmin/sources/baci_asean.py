"""The ASEAN critical-minerals extract of CEPII BACI (HS07 V202601), ``flows`` schema.

``trade/baci_asean_minerals/baci-asean-minerals-bilateral-2010-2024.csv`` (from
ccmdesign/bfna-indopacific) holds BACI flows between the ten ASEAN states and sixteen partners
(USA, CHN, JPN, KOR, nine EU states, GBR, CAN, AUS, IND), both directions, for 13 HS6 codes
(253090, 250410, 260300, 260400, 750110, 750120, ...): columns ``t, hs6, i, j`` (CEPII
numeric codes), ``trade_usd_thousands``, ``qty_tons``, ``i_iso3``, ``j_iso3``, ``mineral``.
It is not a global network (Australia -> China is absent), so critmin uses it only for goods
without any other observed or estimated flows, and says so in ``method``. Singapore figures
include re-exports. Licence: Etalab Open Licence 2.0, attribution to CEPII.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from critmin.errors import SourceFormatError
from critmin.sources._parse import parse_csv_bytes, read_bytes, require_columns
from critmin.sources.baci import FLOWS_COLUMNS, hs6_codes, iso3_codes
from critmin.units import USD_PER_KUSD

__all__ = ["read_baci_asean"]


def read_baci_asean(path: str | Path) -> pd.DataFrame:
    """Read the ASEAN extract as ``flows`` rows (``source`` names the extract)."""
    p = Path(path)
    frame = parse_csv_bytes(read_bytes(p), p, {"hs6": str, "i_iso3": str, "j_iso3": str})
    require_columns(frame, ["t", "hs6", "trade_usd_thousands", "qty_tons", "i_iso3", "j_iso3"], p)
    if frame.empty:
        raise SourceFormatError(p, "the table holds no data rows")
    value = pd.to_numeric(frame["trade_usd_thousands"], errors="coerce")
    if value.isna().any():
        raise SourceFormatError(p, "column 'trade_usd_thousands' holds a non-number")
    out = pd.DataFrame(
        {
            "year": pd.to_numeric(frame["t"], errors="raise").astype("int64"),
            "hs6": hs6_codes(frame["hs6"], p),
            "exporter": iso3_codes(frame["i_iso3"], p, "exporter"),
            "importer": iso3_codes(frame["j_iso3"], p, "importer"),
            "value_usd": value.astype(float) * USD_PER_KUSD,
            "quantity_t": pd.to_numeric(frame["qty_tons"], errors="coerce").astype(float),
            "source": "CEPII BACI HS07 V202601, ASEAN extract (ASEAN pairs only)",
        }
    )
    return out[FLOWS_COLUMNS].reset_index(drop=True)
