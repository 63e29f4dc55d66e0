"""Mirror gaps: exporter-reported against importer-reported flows, flagged where the gap
suggests indirect routing (``critmin assess --view routing``, docs/controls.md).

For a pair ``exporter -> importer`` and an HS6 code, the exporter reports its exports ``X``
(FOB, by last known destination) and the importer its imports ``M`` (CIF, by country of
origin). A CIF/FOB margin makes ``M`` a few percent above ``X`` on a direct route. Far larger
gaps have known causes (Javorcik & Narciso 2008 on misreporting; UN Comtrade's "Bilateral
asymmetries" notes): goods of this origin that left it for a third country and reached the
importer from there (``M >> X``: the importer records the origin, the exporter the
intermediary), or goods that the destination re-exports (``X >> M``). The view flags pairs
whose ratio exceeds ``min_ratio`` either way and whose gap exceeds ``min_gap_usd``, with both
figures. It reads a UN Comtrade file at run time (``reporter,partner,cmd,flow,value``: M49
codes, flow ``M`` or ``X``, USD) and ships nothing of it: UN Comtrade's terms forbid
redistributing its rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from critmin.countries import m49_to_iso3
from critmin.errors import CritminError

__all__ = ["ROUTING_COLUMNS", "mirror_gaps", "read_comtrade"]

ROUTING_COLUMNS = (
    "hs6",
    "exporter",
    "importer",
    "exporter_reported_usd",
    "importer_reported_usd",
    "ratio",
    "flag",
)
NEEDED = ("reporter", "partner", "cmd", "flow", "value")


def read_comtrade(path: Path) -> pd.DataFrame:
    """A Comtrade file (CSV, optionally gzipped) with the columns ``NEEDED``; one message
    naming the file for a missing file or column."""
    try:  # exists() raises for a name longer than the file system allows
        exists, is_file = path.exists(), path.is_file()
    except OSError as err:
        raise CritminError(f"--comtrade {path}: {err.strerror or err}") from None
    if not exists:
        from critmin.util import why_missing

        raise CritminError(f"--comtrade: {path} {why_missing(path)}: a UN Comtrade CSV is needed")
    if not is_file:
        raise CritminError(f"--comtrade {path} is a folder: give a UN Comtrade CSV file")
    try:
        frame = pd.read_csv(path, dtype={"cmd": str})
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise CritminError(
            f"--comtrade {path}: cannot read it as CSV ({str(err).strip()})"
        ) from None
    missing = [c for c in NEEDED if c not in frame.columns]
    if missing:
        raise CritminError(
            f"--comtrade {path}: missing column(s) {', '.join(missing)} (expected "
            f"{','.join(NEEDED)}: M49 codes, flow M or X, value in USD)"
        )
    if frame.empty:
        raise CritminError(f"--comtrade {path}: the file has a header but no rows")
    value = pd.to_numeric(frame["value"], errors="coerce")
    bad = ~(np.isfinite(value) & (value >= 0))
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise CritminError(
            f"--comtrade {path}, line {k + 2}: value {str(frame['value'].iloc[k])!r} must be a "
            "finite amount of USD, at least 0"
        )
    for col in ("reporter", "partner"):
        codes = pd.to_numeric(frame[col], errors="coerce")
        bad = ~(np.isfinite(codes) & (codes == np.round(codes)))
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise CritminError(
                f"--comtrade {path}, line {k + 2}: {col} {str(frame[col].iloc[k])!r} must be a "
                "numeric M49 country code (842 = USA)"
            )
    return frame.assign(value=value)


def unknown_m49(frame: pd.DataFrame) -> list[int]:
    """The reporter and partner codes of a Comtrade file that are no M49 country critmin
    knows (their rows are left out of the comparison), sorted."""
    codes = pd.unique(frame[["reporter", "partner"]].values.ravel())
    return sorted(int(c) for c in codes if m49_to_iso3(int(c)) is None)


def _side(df: pd.DataFrame, flow: str, exporter: str, importer: str, name: str) -> pd.Series:
    """One side's reported values per (hs6, exporter, importer)."""
    out = df[df["flow"] == flow].groupby(["cmd", exporter, importer])["value"].sum().rename(name)
    out.index.names = ["hs6", "exporter", "importer"]
    return out


def mirror_gaps(
    frame: pd.DataFrame,
    hs6: list[str] | None = None,
    *,
    min_ratio: float = 2.0,
    min_gap_usd: float = 1e6,
) -> list[dict[str, object]]:
    """Pairs whose importer- and exporter-reported values differ by ``min_ratio`` or more
    (and by ``min_gap_usd``), largest gap first."""
    df = frame[list(NEEDED)].copy()
    df["cmd"] = df["cmd"].astype(str).str.zfill(6)
    if hs6:
        df = df[df["cmd"].isin([h.strip() for h in hs6])]
    df = df.drop_duplicates()
    codes = {c: m49_to_iso3(int(c)) for c in pd.unique(df[["reporter", "partner"]].values.ravel())}
    df["reporter"] = df["reporter"].map(codes)
    df["partner"] = df["partner"].map(codes)
    df = df.dropna(subset=["reporter", "partner"])
    df = df[(df["partner"] != "WLD") & (df["reporter"] != df["partner"])]
    exports = _side(df, "X", "reporter", "partner", "exporter_reported_usd")
    imports = _side(df, "M", "partner", "reporter", "importer_reported_usd")
    both = pd.concat([exports, imports], axis=1, join="inner").reset_index()
    both = both[(both["exporter_reported_usd"] > 0) & (both["importer_reported_usd"] > 0)]
    both["ratio"] = both["importer_reported_usd"] / both["exporter_reported_usd"]
    gap = (both["importer_reported_usd"] - both["exporter_reported_usd"]).abs()
    hit = ((both["ratio"] >= min_ratio) | (both["ratio"] <= 1.0 / min_ratio)) & (gap >= min_gap_usd)
    both = both[hit].assign(gap=gap[hit]).sort_values("gap", ascending=False)
    both["flag"] = [
        "importer reports far more: goods of this origin may arrive via third countries"
        if r >= min_ratio
        else "exporter reports far more: the destination may re-export (onward routing)"
        for r in both["ratio"]
    ]
    return [
        {str(k): (float(v) if isinstance(v, float) else v) for k, v in row.items()}
        for row in both[list(ROUTING_COLUMNS)].to_dict("records")
    ]
