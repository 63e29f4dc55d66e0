"""Safe JSON embedding and country labels for HTML (the report and the dashboard); number
formatting itself lives in :mod:`critmin.numbers` and is re-exported here for templates."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from critmin.numbers import clean, num, pct, sci, share, usd

__all__ = ["clean", "num", "pct", "sci", "share", "usd"]


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
