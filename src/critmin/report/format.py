"""Number formatting and safe JSON embedding shared by the report and the dashboard."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from critmin.formatting import pct, share, usd

__all__ = ["pct", "share", "usd"]


def num(v: float | None, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits (thousands separated when large)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def sci(v: float | None) -> str:
    """Scientific notation for residuals: ``1.2e-12``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.1e}"


def clean(obj: Any) -> Any:
    """A copy of ``obj`` that is valid JSON: non-finite floats become ``None``,
    tuples become lists, numpy scalars become Python numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    item = getattr(obj, "item", None)  # numpy scalar
    if callable(item):
        return clean(item())
    return str(obj)


def script_json(obj: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` element: ``<``, ``>`` and ``&`` are
    escaped as ``\\u003c`` etc., so no string in the data can close the element."""
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


@lru_cache(maxsize=512)
def country_label(iso3: str | None) -> str:
    """Display name of a country code, or the code itself when critmin does not know it."""
    from critmin.countries import country_name
    from critmin.errors import CritminError

    if not iso3:
        return "-"
    try:
        return country_name(iso3)
    except CritminError:
        return iso3


def script_text(json_text: str) -> Markup:
    """Already-serialised JSON text made safe for a ``<script type="application/json">``."""
    return Markup(json_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
