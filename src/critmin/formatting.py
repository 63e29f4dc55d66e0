"""Number formatting shared by the terminal summary, the report and the dashboard."""

from __future__ import annotations

import math


def usd(v: float | None, signed: bool = False) -> str:
    """Compact US dollars: ``1.23 bn``, ``45.6 m``, ``789 k``; ``-`` for a missing value."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    sign = "+" if signed and v > 0 else ""
    a = abs(v)
    if a >= 1e9:
        return f"{sign}{v / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"{sign}{v / 1e6:,.1f} m"
    if a >= 1e3:
        return f"{sign}{v / 1e3:,.0f} k"
    return f"{sign}{v:,.0f}"


def pct(v: float | None, digits: int = 2) -> str:
    """A signed percentage change: ``+8.54%``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:+.{digits}f}%"


def share(v: float | None, digits: int = 1) -> str:
    """A fraction shown as a percentage: ``0.31 -> 31.0%``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{100 * v:.{digits}f}%"
